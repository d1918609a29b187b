"""Shared fixtures: the project, its config and sample data, and the container scripts run once per session the way
SageMaker runs them (a subprocess of the local Python, an /opt/ml-like folder, SM_* variables, CLI arguments)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd
import pytest
from features import read_raw_csv

from {{ cookiecutter.project_slug }}.config import ProjectConfig, load_config
from {{ cookiecutter.project_slug }}.local.environment import decode_hyperparameters
from {{ cookiecutter.project_slug }}.packaging import safe_extract
from {{ cookiecutter.project_slug }}.sagemaker_requests import RequestFactory

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_config(PROJECT_ROOT / "config" / "project.yaml")
REQUESTS = RequestFactory(CONFIG, bucket="example-bucket", role_arn="arn:aws:iam::123456789012:role/SageMakerRole")
FAST = {"n_estimators": 10, "max_depth": 5, "random_state": 0, "epochs": 40, "patience": 5}
"""Smaller values, for the config's hyperparameters that have them, so that the tests train in a blink."""
TRAINING_HYPERPARAMETERS = {
    key: FAST.get(key, value)
    for key, value in decode_hyperparameters(REQUESTS.hyperparameters()).items()
    if not key.startswith("sagemaker_")
}
"""What the training toolkit hands train.py for this project's config (its algorithm, and `classes` of a classifier),
made faster."""


@dataclass
class JobRun:
    """A finished container script: its /opt/ml stand-in and the completed process."""

    base: Path
    result: subprocess.CompletedProcess


def run_job(script: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run jobs/<script> as a container would: a fresh interpreter, no project package on the path."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_", "PYTHON"))}
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "jobs" / script), *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


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


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def config() -> ProjectConfig:
    return CONFIG


@pytest.fixture(scope="session")
def raw_frame(project_root: Path, config: ProjectConfig) -> pd.DataFrame:
    return read_raw_csv(project_root / config.data.local_path, text_columns=[config.data.target])


def reference_answers(model_dir: Path, features: object) -> list:
    """What the model container should answer for preprocessed rows, straight from `model.predict`: the values of a
    regressor, the labels (classes.json) of a classifier."""
    model = joblib.load(model_dir / "model.joblib")
    predictions = model.predict(features)
    if not (model_dir / "classes.json").is_file():
        return predictions.tolist()
    classes = json.loads((model_dir / "classes.json").read_text())
    return [classes[int(code)] for code in predictions]


def csv_answers(body: bytes, classification: bool) -> list:
    """The model container's text/csv answer: one value (a number) or one label per line."""
    lines = body.decode().splitlines()
    return lines if classification else [float(line) for line in lines]


@pytest.fixture(scope="session")
def job_runner() -> Callable[[str, list[str], dict[str, str], Path], subprocess.CompletedProcess]:
    return run_job


@pytest.fixture(scope="session")
def preprocess_run(tmp_path_factory: pytest.TempPathFactory, project_root: Path, config: ProjectConfig) -> JobRun:
    """preprocess.py once, on the sample data, with SAGEMAKER_BASE_DIR standing for /opt/ml."""
    base = tmp_path_factory.mktemp("processing")
    raw = base / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(project_root / config.data.local_path, raw)
    result = run_job("preprocess.py", REQUESTS.processing_arguments(), {"SAGEMAKER_BASE_DIR": str(base)}, cwd=base)
    return JobRun(base, result)


@pytest.fixture(scope="session")
def processed(preprocess_run: JobRun) -> Path:
    """The processing job's output folder (train/, validation/, test/, test_raw/, preprocessor/)."""
    assert preprocess_run.result.returncode == 0, preprocess_run.result.stderr
    return preprocess_run.base / "processing" / "output"


@pytest.fixture(scope="session")
def preprocessor_dir(tmp_path_factory: pytest.TempPathFactory, processed: Path) -> Path:
    """The preprocessor's model.tar.gz extracted, as the serving container extracts it to /opt/ml/model."""
    return safe_extract(processed / "preprocessor" / "model.tar.gz", tmp_path_factory.mktemp("preprocessor_model"))


def run_training(
    base: Path, channels: dict[str, Path], hyperparameters: dict[str, object] = TRAINING_HYPERPARAMETERS
) -> subprocess.CompletedProcess:
    """The training program of the config (train.py, train_pytorch.py, or the own image's container/train) in a
    training container whose /opt/ml is `base`, with these channel files and hyperparameters."""
    env = training_env(base, channels, hyperparameters)
    if CONFIG.training.mode == "container":
        return run_own_image_training(base, hyperparameters, env)
    return run_job(CONFIG.training.entry_point or "train.py", hyperparameter_args(hyperparameters), env, cwd=base)


def run_own_image_training(
    base: Path, hyperparameters: dict[str, object], env: dict[str, str]
) -> subprocess.CompletedProcess:
    """container/train as the image runs it: no toolkit, hyperparameters.json (JSON-encoded values, as the request
    carries them) under /opt/ml/input/config, PYTHONPATH as the Dockerfile sets it."""
    config_dir = base / "input" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    encoded = {key: json.dumps(value) for key, value in hyperparameters.items()}
    (config_dir / "hyperparameters.json").write_text(json.dumps(encoded), encoding="utf-8")
    image = {
        "SAGEMAKER_BASE_DIR": str(base),
        "PYTHONPATH": f"{PROJECT_ROOT / 'jobs'}{os.pathsep}{PROJECT_ROOT / 'src'}",
    }
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_", "PYTHON"))}
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "container" / "train")],
        env={**clean, **env, **image},
        cwd=base,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def training_runner() -> Callable[..., subprocess.CompletedProcess]:
    return run_training


@pytest.fixture(scope="session")
def training_run(tmp_path_factory: pytest.TempPathFactory, processed: Path) -> JobRun:
    """train.py once, with channels train and validation and small hyperparameters."""
    if CONFIG.training.entry_point is None:
        pytest.skip("the built-in algorithm runs no training script (tests/test_xgboost_builtin.py trains it)")
    base = tmp_path_factory.mktemp("opt_ml")
    channels = {name: processed / name / f"{name}.csv" for name in ("train", "validation")}
    return JobRun(base, run_training(base, channels))


@pytest.fixture(scope="session")
def trained_model_dir(training_run: JobRun) -> Path:
    """The training job's model directory (model.joblib)."""
    assert training_run.result.returncode == 0, training_run.result.stderr
    return training_run.base / "model"
