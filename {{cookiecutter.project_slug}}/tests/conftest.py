"""The project's fixtures. The engine's pytest plugin (sm_engine.testing) brings the rest: `project_root`, `config`,
`job_runner`, `preprocess_run`, `processed`, `preprocessor_dir`, `training_runner`, `training_run`,
`trained_model_dir`; each runs this project's scripts as SageMaker's containers run them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sm_engine.config import ProjectConfig
from sm_engine.testing import (  # re-exported for the tests
    JobRun,
    ProjectUnderTest,
    csv_answers,
    hyperparameter_args,
    reference_answers,
    training_env,
)

PROJECT = ProjectUnderTest(Path(__file__).resolve().parents[1])
PROJECT_ROOT = PROJECT.root
CONFIG = PROJECT.config
REQUESTS = PROJECT.requests
TRAINING_HYPERPARAMETERS = PROJECT.training_hyperparameters
run_job = PROJECT.run_job
run_training = PROJECT.run_training

__all__ = [
    "CONFIG",
    "PROJECT_ROOT",
    "REQUESTS",
    "TRAINING_HYPERPARAMETERS",
    "JobRun",
    "csv_answers",
    "hyperparameter_args",
    "reference_answers",
    "run_job",
    "run_training",
    "training_env",
]


@pytest.fixture(scope="session")
def sm_project() -> ProjectUnderTest:
    return PROJECT


@pytest.fixture(scope="session")
def raw_frame(project_root: Path, config: ProjectConfig) -> pd.DataFrame:
    """The project's data as text, as preprocess.py reads it (NaN where data.missing_values says a value is missing)."""
    return pd.read_csv(
        project_root / config.data.local_path,
        dtype=str,
        na_values=config.data.missing_values,
        keep_default_na=False,
        skipinitialspace=True,
    )
