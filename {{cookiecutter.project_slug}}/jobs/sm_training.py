"""The framework-neutral plumbing of a training entry point (contract §1): paths, channels, arguments, failure file.

Every training script (train.py today; other frameworks' entry points later) reads the same data contract: channels of
headerless numeric CSV, target first (for classifiers the class code 0..K-1 that the processing job wrote). It parses
hyperparameters as the training toolkit renders them on the command line, and reports a failure by writing its cause on
the first line of <SM_OUTPUT_DIR>/failure (SageMaker's FailureReason). SAGEMAKER_BASE_DIR stands for /opt/ml where the
SM_* variables are not set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
from archives import PREPROCESSOR_FILE, read_optional

NONE_TEXTS = ("", "none", "null")


class TrainingError(Exception):
    """A problem the user can fix (arguments, channels, data); reported without a traceback."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises TrainingError instead of exiting, so that the failure file gets written."""

    def error(self, message: str) -> NoReturn:
        raise TrainingError(f"bad hyperparameter: {message}")


# -- paths ---------------------------------------------------------------------------------------------------------


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def sm_path(variable: str, default: str) -> Path:
    """The path in an SM_* variable, else its default under the base dir."""
    value = os.environ.get(variable)
    return Path(value) if value else base_dir() / default


def channel_dir(name: str) -> Path:
    return sm_path(f"SM_CHANNEL_{name.upper()}", f"input/data/{name}")


def model_dir() -> Path:
    """SM_MODEL_DIR, created: what is saved there becomes model.tar.gz."""
    directory = sm_path("SM_MODEL_DIR", "model")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_output_data(name: str, payload: object) -> None:
    """A JSON file in SM_OUTPUT_DATA_DIR (it becomes output.tar.gz beside the model)."""
    directory = sm_path("SM_OUTPUT_DATA_DIR", "output/data")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(payload, indent=2), encoding="utf-8")


# -- hyperparameter types ------------------------------------------------------------------------------------------


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def integer(text: str) -> int:
    """An int; also accepts an integral float rendering such as `10.0`."""
    value = number(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    return int(value)


def optional_integer(text: str) -> int | None:
    """An int, or None for `None` / `null` / an empty value (how the toolkit renders None)."""
    return None if text.strip().lower() in NONE_TEXTS else integer(text)


def count_or_fraction(text: str) -> int | float:
    """An integral value is a count (`2`, `2.0`), anything else a fraction (`0.05`): min_samples_leaf."""
    value = number(text)
    return int(value) if value.is_integer() and value >= 1 else value


def class_labels(text: str) -> list[str]:
    """The `classes` hyperparameter: a JSON list of at least two distinct labels, e.g. `["no", "yes"]`."""
    try:
        labels = json.loads(text)
    except json.JSONDecodeError:
        labels = None
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(label, str) for label in labels):
        raise argparse.ArgumentTypeError(f'{text!r} is not a JSON list of at least two labels such as ["no", "yes"]')
    if len(set(labels)) != len(labels):
        raise argparse.ArgumentTypeError(f"{text!r} lists a label twice")
    return labels


# -- channels ------------------------------------------------------------------------------------------------------


def read_channel(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(features, target) of every file in a channel: headerless numeric CSV, target first."""
    directory = channel_dir(name)
    if not directory.is_dir():
        raise TrainingError(f"channel {name!r} is missing: {directory} does not exist (add a {name!r} input channel)")
    files = sorted(path for path in directory.rglob("*") if path.is_file() and not path.name.startswith("."))
    if not files:
        raise TrainingError(f"channel {name!r} is empty: no file in {directory}")
    frames = [read_matrix(path, name) for path in files]
    widths = {frame.shape[1] for frame in frames}
    if len(widths) > 1:
        raise TrainingError(f"channel {name!r}: files have different column counts {sorted(widths)}")
    matrix = np.vstack(frames)
    if matrix.shape[1] < 2:
        raise TrainingError(f"channel {name!r}: expected the target then at least one feature column")
    return matrix[:, 1:], matrix[:, 0]


def read_matrix(path: Path, channel: str) -> np.ndarray:
    try:
        frame = pd.read_csv(path, header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise TrainingError(f"channel {channel!r}: {path.name} is not a readable CSV file ({error})") from None
    try:
        matrix = frame.to_numpy(dtype=float)
    except ValueError:
        raise TrainingError(
            f"channel {channel!r}: {path.name} has non-numeric values (expected preprocessed features, no header)"
        ) from None
    if not np.isfinite(matrix).all():
        raise TrainingError(f"channel {channel!r}: {path.name} has missing or infinite values")
    return matrix


def class_codes(target: np.ndarray, n_classes: int, channel: str) -> np.ndarray:
    """The target column of a classifier's channel as int codes, each in 0..n_classes-1."""
    codes = target.astype(int)
    bad = (codes != target) | (codes < 0) | (codes >= n_classes)
    if bad.any():
        raise TrainingError(
            f"channel {channel!r}: target {target[bad][0]!r} is not a class code 0..{n_classes - 1} "
            "(the processing job writes each label's position in the classes list)"
        )
    return codes


def copy_preprocessor(directory: Path) -> bool:
    """Put the optional `preprocessor` channel's preprocessor.joblib into the model directory."""
    channel = channel_dir("preprocessor")
    if not channel.is_dir():
        return False
    data = read_optional(channel, PREPROCESSOR_FILE)
    if data is None:
        raise TrainingError(f"channel 'preprocessor' has no {PREPROCESSOR_FILE} (alone or in model.tar.gz)")
    (directory / PREPROCESSOR_FILE).write_bytes(data)
    return True


# -- outcome -------------------------------------------------------------------------------------------------------


def report_failure(cause: str, details: str = "") -> None:
    """First line of the failure file = the cause (SageMaker's FailureReason); details (a traceback) follow."""
    text = cause + ("\n\n" + details if details else "") + "\n"
    print(text, file=sys.stderr, flush=True)
    output_dir = sm_path("SM_OUTPUT_DIR", "output")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "failure").write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"could not write {output_dir / 'failure'}: {error}", file=sys.stderr)


def run_job(job: Callable[[], object]) -> int:
    """Run the job; 0 on success, else 1 after writing the failure file (a TrainingError without a traceback)."""
    try:
        job()
    except TrainingError as error:
        report_failure(f"TrainingError: {error}")
        return 1
    except Exception as error:
        cause = " ".join(f"{type(error).__name__}: {error}".split())
        report_failure(cause, traceback.format_exc())
        return 1
    return 0
