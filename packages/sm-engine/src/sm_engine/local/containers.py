"""Serving containers of the local executor: stage a CreateModel container and run its handler chain (contract §3, §4).

The user module is imported the way the sklearn container does it: the code folder goes first on `sys.path` and the
module named by SAGEMAKER_PROGRAM is imported (here under a unique module name); while it loads (import and model_fn),
the code folder's own top-level modules shadow same-named modules imported earlier. Limit: the containers of a pipeline
share one process, so a module imported LAZILY (after model_fn) resolves to whichever same-named module `sys.modules`
holds; containers sharing one sourcedir (the default project) are not affected.

Framework containers get the toolkits' modules (compat/: `sagemaker_containers`, `sagemaker_inference`,
`sagemaker_training`) on their path and answer a handler failure with the status the real image's serving stack gives
(`SERVING_STACKS`): the scikit-learn and XGBoost images serve user modules with sagemaker_containers' Transformer,
which wraps every exception of a handler (its defaults included) in ClientError, so any failure is a 500; a handler
that wants another status returns a `worker.Response(..., status=...)`, which passes through (the generated handlers
do so for a PayloadError through sm_runtime.handlers). The PyTorch image serves
with sagemaker_inference, which answers a BaseInferenceToolkitError with its status_code and anything else with 500.
A built-in algorithm's stand-in (emulators/) answers its ServingError statuses, as the algorithm's own server does.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import sm_runtime
from sm_runtime.errors import PayloadError

from ..algorithms import image_repository
from ..errors import EndpointError, ValidationException
from ..image_versions import version_note
from ..packaging import safe_extract
from ..storage import LocalStorage
from . import compat

logger = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
UTF8_TYPES = (JSON, CSV)
REPACKED_CODE_DIR = "/opt/ml/model/code"
HANDLER_NAMES = ("input_fn", "predict_fn", "output_fn")
RUNTIME_PACKAGE = sm_runtime.__name__


class ContainerError(EndpointError):
    """A container cannot be staged or loaded (bad archive, missing program, invalid handler set)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class StagedContainer:
    name: str
    model_dir: Path
    code_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    image: str = ""

    @property
    def program(self) -> str:
        return self.environment.get("SAGEMAKER_PROGRAM", "")

    @property
    def default_accept(self) -> str:
        return self.environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON

    @property
    def serving_stack(self) -> str:
        return SERVING_STACKS.get(image_repository(self.image), SAGEMAKER_CONTAINERS)


# image repository -> the toolkit that serves a user module in that image (aws/sagemaker-scikit-learn-container
# serving.py and aws/sagemaker-xgboost-container serving.py build a sagemaker_containers Transformer; the PyTorch
# inference image runs sagemaker_inference's Transformer).
SAGEMAKER_CONTAINERS = "sagemaker_containers"
SAGEMAKER_INFERENCE = "sagemaker_inference"
SERVING_STACKS: dict[str, str] = {
    "sagemaker-scikit-learn": SAGEMAKER_CONTAINERS,
    "sagemaker-xgboost": SAGEMAKER_CONTAINERS,
    "pytorch-inference": SAGEMAKER_INFERENCE,
    "pytorch-inference-arm64": SAGEMAKER_INFERENCE,
}


def check_model_images(request: dict, own_images: dict[str, str] | None = None) -> None:
    """ValidationException at CreateModel for a container whose image cannot serve here, with the message that
    CreateTrainingJob gives for a training image (training.runner_for)."""
    servable = {*SERVING_STACKS, *EMULATED_SERVING, *(own_images or {})}
    containers = request.get("Containers") or [request.get("PrimaryContainer") or {}]
    for container in containers:
        image = str(container.get("Image") or "")
        if image_repository(image) not in servable:
            supported = ", ".join(sorted(servable))
            raise ValidationException(
                f"image {image} is not supported locally; supported image repositories: {supported}"
            )


def media_type(value: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (value or "").split(";", 1)[0].strip().lower()


def charset_of(content_type: str) -> str:
    """The `charset` parameter of a Content-Type (`text/csv; charset="UTF-16"` -> `UTF-16`), else UTF-8."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"')
    return "UTF-8"


def error_response(status: int, message: str) -> Response:
    return Response(status, json.dumps({"error": message}).encode(), JSON)


# --- staging -----------------------------------------------------------------------------------------------------


def stage_container(container: dict, storage: LocalStorage, target: Path, name: str = "container-1") -> StagedContainer:
    """Extract ModelDataUrl to `target/model` and SAGEMAKER_SUBMIT_DIRECTORY to `target/code` (contract §3)."""
    target = Path(target)
    environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
    model_dir = target / "model"
    model_url = container.get("ModelDataUrl")
    if model_url:
        archive = storage.path_for(model_url)
        if not archive.is_file():
            raise ContainerError(f"{name}: model data {model_url} does not exist")
        safe_extract(archive, model_dir)
    else:
        model_dir.mkdir(parents=True, exist_ok=True)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", REPACKED_CODE_DIR)
    if submit.rstrip("/") == REPACKED_CODE_DIR:
        code_dir = model_dir / "code"
    elif submit.startswith("s3://"):
        archive = storage.path_for(submit)
        if not archive.is_file():
            raise ContainerError(f"{name}: SAGEMAKER_SUBMIT_DIRECTORY {submit} does not exist")
        code_dir = safe_extract(archive, target / "code")
    else:
        raise ContainerError(f"{name}: SAGEMAKER_SUBMIT_DIRECTORY must be an s3:// tar.gz or {REPACKED_CODE_DIR}")
    hostname = container.get("ContainerHostname") or name
    return StagedContainer(hostname, model_dir, code_dir, environment, str(container.get("Image") or ""))


# --- default handlers (the scikit-learn image's, sagemaker_sklearn_container/serving.py) ---------------------------


def _framework() -> ModuleType:
    return compat.toolkit_module(compat.CONTAINERS, "sagemaker_containers.beta.framework")


def default_input_fn(body: bytes | str, content_type: str) -> Any:
    """encoders.decode for the exact content type (json, csv, npy), as float32 for the text types."""
    framework = _framework()
    array = framework.encoders.decode(body, content_type)
    return array.astype("float32") if content_type in framework.content_types.UTF8_TYPES else array


def default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> Any:
    """encoders.encode for the exact accept (json, csv, npy) in a worker.Response."""
    framework = _framework()
    return framework.worker.Response(framework.encoders.encode(prediction, accept), mimetype=accept)


# --- loading ---------------------------------------------------------------------------------------------------------


@contextmanager
def _container_environment(environment: dict[str, str]) -> Iterator[None]:
    """The container's Environment in os.environ while its module is imported and model_fn runs."""
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _is_inside(module: ModuleType, folder: Path) -> bool:
    location = getattr(module, "__file__", None)
    return bool(location) and Path(location).resolve().is_relative_to(folder.resolve())


@contextmanager
def _code_dir_modules_first(code_dir: Path) -> Iterator[None]:
    """While a container loads, its own top-level modules win over same-named modules already imported from elsewhere
    (say the project's `jobs/features.py` on the test path); those are put back afterwards. The code folder's copy of
    sm_runtime is the engine's own (packaging.code_members): the engine's loaded one serves, one copy per process."""
    names = {path.stem for path in code_dir.glob("*.py")}
    names |= {path.name for path in code_dir.iterdir() if (path / "__init__.py").is_file()}
    names.discard(RUNTIME_PACKAGE)
    shadowed = {
        key: module
        for key, module in list(sys.modules.items())
        if key.split(".", 1)[0] in names and not _is_inside(module, code_dir)
    }
    for key in shadowed:
        del sys.modules[key]
    try:
        yield
    finally:
        sys.modules.update(shadowed)


def _import_program(staged: StagedContainer) -> ModuleType:
    program = staged.program
    if not program:
        raise ContainerError(f"{staged.name}: SAGEMAKER_PROGRAM is not set")
    path = staged.code_dir / program
    if not path.is_file():
        raise ContainerError(f"{staged.name}: program {program} not found in the code folder {staged.code_dir}")
    code_dir = str(staged.code_dir)
    if code_dir in sys.path:
        sys.path.remove(code_dir)
    sys.path.insert(0, code_dir)
    module_name = f"_sm_{Path(program).stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ContainerError(f"{staged.name}: cannot import {program}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise ContainerError(f"{staged.name}: importing {program} failed: {error!r}") from error
    return module


class LoadedContainer:
    """A container whose model_fn has run; `invoke` runs its handler chain and never raises."""

    def __init__(self, staged: StagedContainer, module: ModuleType, model: Any, emulated: bool = False) -> None:
        self.staged = staged
        self.name = staged.name
        self.module = module
        self.model = model
        self.emulated = emulated
        self.transform_fn: Callable | None = getattr(module, "transform_fn", None)
        self.input_fn: Callable = getattr(module, "input_fn", None) or default_input_fn
        self.predict_fn: Callable = getattr(module, "predict_fn", None) or default_predict_fn
        self.output_fn: Callable = getattr(module, "output_fn", None) or default_output_fn

    @property
    def default_accept(self) -> str:
        """SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else the toolkit's JSON (a built-in algorithm: its own default)."""
        configured = self.staged.environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")
        return configured or (self.module.DEFAULT_ACCEPT if self.emulated else JSON)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Response:
        content_type = content_type or (self.module.DEFAULT_CONTENT_TYPE if self.emulated else JSON)
        if not accept or accept.strip() == "*/*":
            accept = self.default_accept
        data: bytes | str = body
        if media_type(content_type) in UTF8_TYPES:
            charset = charset_of(content_type)
            try:
                data = body.decode(charset)
            except LookupError:
                return error_response(415, f"unsupported charset {charset!r} in Content-Type {content_type!r}")
            except UnicodeDecodeError:
                return error_response(400, f"the payload is not valid {charset} text")
        try:
            result = self._run(data, content_type, accept)
        except Exception as error:
            return self._error(error)
        return self._response(result, accept)

    def _run(self, data: bytes | str, content_type: str, accept: str) -> Any:
        if self.transform_fn is not None:
            return self.transform_fn(self.model, data, content_type, accept)
        decoded = self.input_fn(data, content_type)
        prediction = self.predict_fn(decoded, self.model)
        return self.output_fn(prediction, accept)

    def _response(self, result: Any, accept: str) -> Response:
        toolkit_response = compat.toolkit_response_type()
        if toolkit_response is not None and isinstance(result, toolkit_response):
            return Response(result.status_code, result.get_data(), result.mimetype)
        content_type = accept
        if isinstance(result, tuple) and len(result) == 2:
            result, content_type = result
        if isinstance(result, str):
            result = result.encode("utf-8")
        if not isinstance(result, bytes | bytearray):
            logger.error("%s: the handler returned %s, not bytes or str", self.name, type(result).__name__)
            return error_response(500, "the inference handler returned an invalid response")
        return Response(200, bytes(result), str(content_type))

    def _error(self, error: Exception) -> Response:
        """The status the real image answers for a handler failure (module docstring); an emulated algorithm's
        ServingError (a PayloadError) keeps its status, as the algorithm's server answers it."""
        if self.emulated and isinstance(error, PayloadError):
            return error_response(error.status, error.message)
        toolkit_error = compat.inference_toolkit_error_type()
        if self.staged.serving_stack == SAGEMAKER_INFERENCE and toolkit_error and isinstance(error, toolkit_error):
            return error_response(error.status_code, error.message)
        logger.error("%s: inference failed", self.name, exc_info=error)
        return error_response(500, "internal error while running the inference handlers (see the server log)")


# image repository -> the module standing in for a built-in algorithm's serving stack (a container without
# SAGEMAKER_PROGRAM); it defines model_fn and transform_fn.
EMULATED_SERVING: dict[str, str] = {
    "sagemaker-xgboost": "xgboost_serving",
}


def _load_emulation(staged: StagedContainer, module_name: str) -> LoadedContainer:
    module = importlib.import_module(f"{__package__}.emulators.{module_name}")
    with _container_environment(staged.environment):
        try:
            model = module.model_fn(str(staged.model_dir))
        except Exception as error:
            raise ContainerError(f"{staged.name}: the built-in algorithm cannot load its model: {error}") from error
    return LoadedContainer(staged, module, model, emulated=True)


def load_container(staged: StagedContainer) -> LoadedContainer:
    """Import SAGEMAKER_PROGRAM from the code folder and call model_fn(model_dir) once (contract §3); a built-in
    algorithm's image without a program loads its stand-in (EMULATED_SERVING) instead."""
    if note := version_note(staged.image):
        logger.warning("%s: %s", staged.name, note)
    emulation = EMULATED_SERVING.get(image_repository(staged.image))
    if emulation is not None and not staged.program:
        return _load_emulation(staged, emulation)
    compat.enable(*compat.paths_for(staged.image))
    with _container_environment(staged.environment), _code_dir_modules_first(staged.code_dir):
        module = _import_program(staged)
        overridden = [name for name in HANDLER_NAMES if hasattr(module, name)]
        if hasattr(module, "transform_fn") and overridden:
            raise ContainerError(
                f"{staged.name}: {staged.program} defines transform_fn together with {', '.join(overridden)}; "
                "define either transform_fn or input_fn/predict_fn/output_fn"
            )
        model_fn = getattr(module, "model_fn", None)
        if model_fn is None:
            raise ContainerError(f"{staged.name}: {staged.program} defines no model_fn(model_dir)")
        try:
            model = model_fn(str(staged.model_dir))
        except Exception as error:
            raise ContainerError(f"{staged.name}: model_fn failed: {error!r}") from error
    return LoadedContainer(staged, module, model)


class Pipeline:
    """A serial inference pipeline (contract §4): each response becomes the next container's request."""

    def __init__(self, containers: list[LoadedContainer]) -> None:
        if not 1 <= len(containers) <= 15:
            raise ContainerError(f"a model has 1 to 15 containers, not {len(containers)}")
        self.containers = containers

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Response:
        last = len(self.containers) - 1
        response = Response(200, body, content_type or "")
        for index, container in enumerate(self.containers):
            target_accept = accept if index == last else container.default_accept
            response = container.invoke(response.body, response.content_type, target_accept)
            if response.status != 200:
                return self._named_error(response, container, index) if last else response
        return response

    @staticmethod
    def _named_error(response: Response, container: LoadedContainer, index: int) -> Response:
        try:
            message = json.loads(response.body)["error"]
        except (ValueError, KeyError, TypeError):
            message = response.body.decode("utf-8", "replace")
        return error_response(response.status, f"container {index + 1} ({container.name}): {message}")
