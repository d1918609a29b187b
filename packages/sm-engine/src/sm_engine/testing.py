"""pytest fixtures for projects built on sm-engine (a pytest plugin, loaded by the `pytest11` entry point).

A project's tests get its root, its config and request factory, and its container scripts run once per session the
way SageMaker runs them: a fresh interpreter (a child of the local executor's warm fork server, local/warm.py, which
has the scientific stack imported already; SM_LOCAL_WARM_START=off for a cold `python script.py`), an /opt/ml-shaped
folder (SAGEMAKER_BASE_DIR), the SM_* variables and the toolkit's command line. Tests then stay short and about the
project's own code:

    def test_model_is_saved(trained_model_dir):
        assert (trained_model_dir / "model.joblib").is_file()

The project is the nearest folder holding `config/project.yaml`, from pytest's root directory up; a test suite can
override the `sm_project` fixture to point elsewhere. Nothing here runs unless a fixture is used.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .config import ProjectConfig, load_config
from .local import warm
from .local.environment import decode_hyperparameters, with_passive_openmp
from .packaging import code_members, safe_extract, write_data_schema
from .sagemaker_requests import RequestFactory

CONFIG_FILE = Path("config") / "project.yaml"
FAST = {"n_estimators": 10, "max_depth": 5, "random_state": 0, "epochs": 40, "patience": 5}
"""Smaller values, for the config's hyperparameters that have them, so that the tests train in a blink."""
CONTAINER_VARIABLES = ("SM_", "SAGEMAKER_", "PYTHON")
"""Variables of the calling process that a container would not have."""
JOB_TIMEOUT = 300
"""Seconds a container script may run."""


@dataclass
class JobRun:
    """A finished container script: its /opt/ml stand-in and the completed process."""

    base: Path
    result: subprocess.CompletedProcess


def find_project(start: Path) -> Path:
    """The nearest folder at or above `start` that holds config/project.yaml."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no {CONFIG_FILE} at or above {start}")


def hyperparameter_args(hyperparameters: dict[str, object]) -> list[str]:
    """CLI arguments as the training toolkit renders them: sorted keys, `--key str(value)` (contract §1)."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        args += [f"--{key}" if len(key) > 1 else f"-{key}", str(hyperparameters[key])]
    return args


def training_env(base: Path, channels: dict[str, Path], hyperparameters: dict[str, object]) -> dict[str, str]:
    """The SM_* variables of a training container whose /opt/ml is `base`; channel files are copied in place."""
    for name, source in channels.items():
        target = base / "input" / "data" / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target / source.name)
    env = {
        "SM_MODEL_DIR": str(base / "model"),
        "SM_OUTPUT_DIR": str(base / "output"),
        "SM_OUTPUT_DATA_DIR": str(base / "output" / "data"),
        "SM_CHANNELS": json.dumps(sorted(channels), separators=(",", ":")),
        "SM_HPS": json.dumps(hyperparameters, sort_keys=True, separators=(",", ":")),
    }
    env.update({f"SM_CHANNEL_{name.upper()}": str(base / "input" / "data" / name) for name in channels})
    for key in ("model", "output/data"):
        (base / key).mkdir(parents=True, exist_ok=True)
    return env


def container_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment less what a container would not have, plus `extra` (OpenMP threads passive unless
    set: with_passive_openmp)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(CONTAINER_VARIABLES)}
    return with_passive_openmp({**clean, **extra})


def run_python(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """`python script.py args` (or a Python program such as container/train) with this environment and folder, as a
    child of the warm fork server where it can run there (warm.eligible, SM_LOCAL_WARM_START not off), else as a fresh
    subprocess; its output captured as text."""
    if warm.enabled() and warm.eligible(command):
        lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        try:
            finished = warm.run(
                command, env, str(cwd), lambda stream, line: lines[stream].append(line), timeout=timeout
            )
        except warm.Unavailable:
            pass  # the job did not start: run it cold
        else:
            stdout, stderr = ("".join(f"{line}\n" for line in lines[name]) for name in ("stdout", "stderr"))
            if finished.timed_out:
                raise subprocess.TimeoutExpired(command, timeout, stdout, stderr)
            return subprocess.CompletedProcess(command, finished.returncode, stdout, stderr)
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def csv_answers(body: bytes, classification: bool) -> list:
    """A model container's text/csv answer: one value (a number) or one label per line."""
    lines = body.decode().splitlines()
    return lines if classification else [float(line) for line in lines]


def reference_answers(model_dir: Path, features: object) -> list:
    """What a scikit-learn model container should answer for preprocessed rows, straight from `model.predict`: the
    values of a regressor, the labels (classes.json) of a classifier."""
    import joblib

    model = joblib.load(model_dir / "model.joblib")
    predictions = model.predict(features)
    if not (model_dir / "classes.json").is_file():
        return predictions.tolist()
    classes = json.loads((model_dir / "classes.json").read_text())
    return [classes[int(code)] for code in predictions]


class ProjectUnderTest:
    """One project's config, requests and container scripts, run as SageMaker runs them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.config: ProjectConfig = load_config(self.root / CONFIG_FILE)
        self.requests = RequestFactory(
            self.config, bucket="example-bucket", role_arn="arn:aws:iam::123456789012:role/SageMakerRole"
        )

    @functools.cached_property
    def training_hyperparameters(self) -> dict[str, object]:
        """What the training toolkit hands the entry point for this config, made faster (FAST)."""
        decoded = decode_hyperparameters(self.requests.hyperparameters())
        return {key: FAST.get(key, value) for key, value in decoded.items() if not key.startswith("sagemaker_")}

    def run_job(
        self, script: str, args: list[str], env: dict[str, str], cwd: Path, code: Path | None = None
    ) -> subprocess.CompletedProcess:
        """Run <script> of `code` (default: jobs/) as a container would: a fresh interpreter (run_python), none of
        the caller's SM_*/PYTHON* variables."""
        command = [sys.executable, str((code or self.root / "jobs") / script), *args]
        return run_python(command, container_environment(env), cwd, timeout=JOB_TIMEOUT)

    def run_training(
        self, base: Path, channels: dict[str, Path], hyperparameters: dict[str, object] | None = None
    ) -> subprocess.CompletedProcess:
        """The config's training program (its entry point, or the own image's container/train) in a training
        container whose /opt/ml is `base`, with these channel files and hyperparameters."""
        hyperparameters = self.training_hyperparameters if hyperparameters is None else hyperparameters
        env = training_env(base, channels, hyperparameters)
        if self.config.training.mode == "container":
            return self.run_own_image_training(base, hyperparameters, env)
        entry_point = self.config.training.entry_point or "train.py"
        return self.run_job(entry_point, hyperparameter_args(hyperparameters), env, cwd=base)

    def run_own_image_training(
        self, base: Path, hyperparameters: dict[str, object], env: dict[str, str]
    ) -> subprocess.CompletedProcess:
        """container/train as the image runs it: no toolkit, hyperparameters.json (JSON-encoded values, as the
        request carries them) under /opt/ml/input/config, PYTHONPATH as the Dockerfile sets it."""
        config_dir = base / "input" / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        encoded = {key: json.dumps(value) for key, value in hyperparameters.items()}
        (config_dir / "hyperparameters.json").write_text(json.dumps(encoded), encoding="utf-8")
        image = {
            "SAGEMAKER_BASE_DIR": str(base),
            "PYTHONPATH": os.pathsep.join(str(self.root / folder) for folder in ("jobs", "src")),
        }
        command = [sys.executable, str(self.root / "container" / "train")]
        return run_python(command, container_environment({**env, **image}), base, timeout=JOB_TIMEOUT)

    def stage_code(self, target: Path) -> Path:
        """The code upload as the engine makes it (packaging.code_members: jobs/, data_schema.json from the config,
        sm_runtime/), copied into `target`."""
        schema_dir = target.with_name(f"{target.name}_schema")
        schema_dir.mkdir(parents=True, exist_ok=True)
        for path, name in code_members(self.root / "jobs", write_data_schema(self.config.data, schema_dir)):
            if path.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / name)
        return target

    def preprocess(self, base: Path) -> JobRun:
        """The config's processing script on the project's data, run from its code input as SageMaker stages it
        (/opt/ml/processing/input/code, with data_schema.json), SAGEMAKER_BASE_DIR standing for /opt/ml."""
        raw = base / "processing" / "input" / "raw"
        raw.mkdir(parents=True)
        shutil.copy(self.root / self.config.data.local_path, raw)
        result = self.run_job(
            self.config.processing.entry_point,
            self.requests.processing_arguments(),
            {"SAGEMAKER_BASE_DIR": str(base)},
            cwd=base,
            code=self.stage_code(base / "processing" / "input" / "code"),
        )
        return JobRun(base, result)


@pytest.fixture(scope="session", autouse=True)
def no_endpoint_server_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the session (of each xdist worker), stop every local endpoint server that runs from this
    session's temporary folders: a kept `run --keep` endpoint set up once per worker, a failed test's endpoint."""
    yield
    from .local.endpoint_server import stop_servers_in

    stop_servers_in(tmp_path_factory.getbasetemp())


def project_session(config: pytest.Config) -> bool:
    """Whether pytest runs a project's tests (config/project.yaml at or above its root directory), not the engine's own
    or a template's."""
    try:
        find_project(Path(config.rootpath))
    except FileNotFoundError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def fork_server_shared_with_command_lines(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a project's session with warm starts on, the processes that tests start (`python -m <project> run`, ...) fork
    their jobs from this process's warm fork server (warm.SHARED) instead of each importing the scientific stack in a
    fork server of its own."""
    if not project_session(request.config) or not warm.enabled():
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(warm.SHARED, warm.server().path)
        yield


@pytest.fixture(scope="session")
def sm_project(request: pytest.FixtureRequest) -> ProjectUnderTest:
    """The project under test: the nearest config/project.yaml at or above pytest's root directory."""
    return ProjectUnderTest(find_project(Path(request.config.rootpath)))


@pytest.fixture(scope="session")
def project_root(sm_project: ProjectUnderTest) -> Path:
    return sm_project.root


@pytest.fixture(scope="session")
def config(sm_project: ProjectUnderTest) -> ProjectConfig:
    return sm_project.config


@pytest.fixture(scope="session")
def job_runner(sm_project: ProjectUnderTest):
    """Run jobs/<script> as a container would: `job_runner(script, args, env, cwd)`."""
    return sm_project.run_job


@pytest.fixture(scope="session")
def training_runner(sm_project: ProjectUnderTest):
    """Run the config's training program: `training_runner(base, channels, hyperparameters=None)`."""
    return sm_project.run_training


@pytest.fixture(scope="session")
def preprocess_run(tmp_path_factory: pytest.TempPathFactory, sm_project: ProjectUnderTest) -> JobRun:
    """The processing script once, on the project's data."""
    return sm_project.preprocess(tmp_path_factory.mktemp("processing"))


@pytest.fixture(scope="session")
def processed(preprocess_run: JobRun) -> Path:
    """The processing job's output folder (train/, validation/, test/, test_raw/, preprocessor/)."""
    assert preprocess_run.result.returncode == 0, preprocess_run.result.stderr
    return preprocess_run.base / "processing" / "output"


@pytest.fixture(scope="session")
def preprocessor_dir(tmp_path_factory: pytest.TempPathFactory, processed: Path) -> Path:
    """The preprocessor's model.tar.gz extracted, as the serving container extracts it to /opt/ml/model."""
    return safe_extract(processed / "preprocessor" / "model.tar.gz", tmp_path_factory.mktemp("preprocessor_model"))


@pytest.fixture(scope="session")
def training_run(tmp_path_factory: pytest.TempPathFactory, sm_project: ProjectUnderTest, processed: Path) -> JobRun:
    """The training program once, with channels train and validation and small hyperparameters."""
    if sm_project.config.training.mode == "builtin":
        pytest.skip("the built-in algorithm runs no training script")
    base = tmp_path_factory.mktemp("opt_ml")
    channels = {name: processed / name / f"{name}.csv" for name in ("train", "validation")}
    return JobRun(base, sm_project.run_training(base, channels))


@pytest.fixture(scope="session")
def trained_model_dir(training_run: JobRun) -> Path:
    """The training job's model directory."""
    assert training_run.result.returncode == 0, training_run.result.stderr
    return training_run.base / "model"
