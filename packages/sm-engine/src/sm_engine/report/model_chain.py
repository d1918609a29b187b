"""The run's model served through the project's own inference handlers, as the local executor serves it (the
preprocessor and model containers of the CreateModel request, staged from their archives; the project's own image by
its `serve` program): raw test rows in, the model's answers (values, labels, class probabilities) out, whatever the
framework.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UserError
from ..storage import LocalStorage

if TYPE_CHECKING:
    from ..local.containers import LoadedContainer, Pipeline
    from ..local.own_image import OwnImages, ServedProgram
    from ..workflow import ProcessingResult, TrainingResult, Workflow

CSV = "text/csv"
JSON = "application/json"


class ModelUnavailable(UserError):
    """The model cannot be served here (an image whose server cannot run on this machine); the message says why."""


@dataclass(frozen=True)
class Answers:
    """The model's answer per row: a value or label (as text), and each class's probability where it gives them."""

    values: list[str]
    probabilities: list[list[float]] | None


class ModelChain:
    """The loaded handler chain, shaped as a fitted sklearn estimator for sklearn.inspection.permutation_importance."""

    def __init__(self, pipeline: Pipeline, classes: list[str] | None) -> None:
        self.pipeline = pipeline
        self.classes = classes

    def answer(self, rows: Sequence[Sequence[str]]) -> Answers:
        """Raw feature rows (no target) through the handlers, asking for JSON."""
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        response = self.pipeline.invoke(buffer.getvalue().encode("utf-8"), CSV, JSON)
        if response.status != 200:
            raise ModelUnavailable(
                f"the model's handlers answered {response.status}: {response.body.decode('utf-8', 'replace')}"
            )
        return self._answers(json.loads(response.body))

    def fit(self, *_data: object) -> ModelChain:
        """Nothing to fit: the run's training job trained the model (sklearn's inspection tools check for `fit`)."""
        return self

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Values (a regression) or labels (a classifier) of a matrix of raw cells."""
        values = self.answer([[str(cell) for cell in row] for row in rows]).values
        return np.asarray(values, dtype=object if self.classes else float)

    def _answers(self, payload: dict[str, Any]) -> Answers:
        raw = payload["predictions"]
        scores = [value["score"] for value in raw] if raw and isinstance(raw[0], dict) else None
        probabilities = payload.get("probabilities")
        if scores is None:
            return Answers([str(value) for value in raw], probabilities)
        if not self.classes:
            return Answers([str(score) for score in scores], None)
        from ..evaluation import labels_of_scores  # the built-in algorithm's numbers as labels

        labels = labels_of_scores([str(score) for score in scores], self.classes)
        binary = len(self.classes) == 2
        return Answers(labels, [[1.0 - float(s), float(s)] for s in scores] if binary else None)


def _local_copies(workflow: Workflow, containers: list[dict[str, Any]], folder: Path) -> LocalStorage:
    """A LocalStorage holding every archive the containers name: the backend's own when it is local, else a copy of
    each archive downloaded from S3 into `folder`."""
    storage = workflow.backend.storage
    if isinstance(storage, LocalStorage):
        return storage
    local = LocalStorage(folder)
    for container in containers:
        submit = str((container.get("Environment") or {}).get("SAGEMAKER_SUBMIT_DIRECTORY", ""))
        for uri in (container.get("ModelDataUrl"), submit):
            if uri and uri.startswith("s3://"):
                storage.download_file(uri, local.path_for(uri))
    return local


def own_images(workflow: Workflow) -> OwnImages:
    """The project's own image (training.mode container) -> the project folder whose container/serve serves it, as
    the local backend maps it; empty for any other project."""
    container = workflow.config.container
    return {container.repository: str(workflow.root.resolve())} if container else {}


def _check_servable(container: dict[str, Any], images: OwnImages) -> None:
    """A container runs here when it names its program (script mode), is a built-in algorithm the local executor
    emulates, or is the project's own image (its `serve` program runs from the project folder)."""
    from ..algorithms import image_repository
    from ..local.containers import EMULATED_SERVING

    image = str(container.get("Image") or "")
    scripted = bool((container.get("Environment") or {}).get("SAGEMAKER_PROGRAM"))
    if not scripted and image_repository(image) not in {*EMULATED_SERVING, *images}:
        raise ModelUnavailable(f"the image {image} serves it with a program of its own, which cannot run here")


def _load(
    spec: dict[str, Any], storage: LocalStorage, folder: Path, name: str, images: OwnImages, started: ExitStack
) -> LoadedContainer | ServedProgram:
    """One container staged from its archives into `folder/name` and loaded in this process, or, for the project's
    own image, its `serve` program started (stopped with `started`; its log in `folder`)."""
    from ..local.containers import ContainerError, load_container, stage_container
    from ..local.own_image import ServedProgram, project_of

    staged = stage_container(spec, storage, folder / name, name)
    project = project_of(staged.image, images)
    if project is None:
        return load_container(staged)
    log_path = folder / f"{name}-serve.log"
    log = started.enter_context(log_path.open("wb"))
    try:
        served = ServedProgram.start(staged, project, log)
    except ContainerError as error:  # the log goes with the scratch folder: its last line goes with the error
        log.flush()
        last = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise ContainerError("; ".join([str(error), *last])) from error
    started.callback(served.stop)
    return served


@contextmanager
def served_model(workflow: Workflow, processing: ProcessingResult, training: TrainingResult) -> Iterator[ModelChain]:
    """The model of `training` (with the preprocessor of `processing`) loaded from its archives, for the block."""
    from ..local.containers import ContainerError, Pipeline

    request = workflow.requests.model(
        "report", model_data_url=training.model_data_url, preprocessor_data_url=processing.preprocessor_model
    )
    containers = request.get("Containers") or [request["PrimaryContainer"]]
    images = own_images(workflow)
    for container in containers:
        _check_servable(container, images)
    with tempfile.TemporaryDirectory(prefix="sm-report-") as scratch, ExitStack() as started:
        folder = Path(scratch)
        storage = _local_copies(workflow, containers, folder / "archives")
        try:
            with redirect_stderr(io.StringIO()):  # the containers' startup log lines: not the report's business
                loaded = [
                    _load(spec, storage, folder, f"container-{index}", images, started)
                    for index, spec in enumerate(containers, start=1)
                ]
        except ContainerError as error:
            raise ModelUnavailable(str(error)) from error
        yield ModelChain(Pipeline(loaded), workflow.config.data.classes)
