"""The framework-neutral plumbing of a training entry point (contract §1): paths, channels, arguments, failure file.

Every training script (train.py, train_xgboost.py, train_pytorch.py) reads the same data contract: the `train` and
`validation` channels of headerless numeric CSV, target first (for classifiers the class code 0..K-1 that the
processing job wrote, with the labels in the `classes` hyperparameter). It parses hyperparameters as the training
toolkit renders them on the command line, saves classes.json (and the optional preprocessor) beside its model, and
reports a failure by writing its cause on the first line of <SM_OUTPUT_DIR>/failure (SageMaker's FailureReason).
SAGEMAKER_BASE_DIR stands for /opt/ml where the SM_* variables are not set.
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

from .archives import CLASSES_FILE, PREPROCESSOR_FILE, read_optional
from .errors import TrainingError
from .tracking import log_metrics

NONE_TEXTS = ("", "none", "null")
MIN_ROWS = 2
"""Fewest rows of a channel: one row can neither fit nor score a model."""
SPLITS = ("train", "validation")
"""The channels every training script fits and scores on."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse for a training script's hyperparameters, with `--classes` (every script's) declared: errors raise
    TrainingError instead of exiting, so that the failure file gets written."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description)
        self.add_argument("--classes", type=class_labels, default=None, help='class labels, e.g. ["no", "yes"]')

    def error(self, message: str) -> NoReturn:
        raise TrainingError(f"bad hyperparameter: {message}")

    def parse_hyperparameters(self, argv: list[str] | None = None) -> argparse.Namespace:
        """The declared hyperparameters; others (SageMaker's own, a renamed one) are noted, not fatal."""
        args, unknown = self.parse_known_args(argv)
        if unknown:
            print(f"ignoring arguments this script does not use: {' '.join(unknown)}", flush=True)
        return args


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
        raise TrainingError(f"channel {name!r} is empty: no file in {directory} (check the channel's S3 prefix)")
    frames = [read_matrix(path, name) for path in files]
    widths = {frame.shape[1] for frame in frames}
    if len(widths) > 1:
        raise TrainingError(
            f"channel {name!r}: files have different column counts {sorted(widths)}; "
            "give it the files of one processing job only"
        )
    matrix = np.vstack(frames)
    if matrix.shape[1] < 2:
        raise TrainingError(
            f"channel {name!r}: expected the target then at least one feature column, found {matrix.shape[1]} "
            "column; give it the processing job's output"
        )
    if len(matrix) < MIN_ROWS:
        raise TrainingError(
            f"channel {name!r} has {len(matrix)} row: a model needs at least {MIN_ROWS} to fit and score; "
            "add data, or lower data.split's fractions in config/project.yaml"
        )
    return matrix[:, 1:], matrix[:, 0]


def read_matrix(path: Path, channel: str) -> np.ndarray:
    """One channel file as a float matrix (pandas' fast parser); on anything else, read again as text to say which
    cell is wrong: an empty file, a header row, text, missing and infinite values are TrainingErrors."""
    where = f"channel {channel!r}: {path.name}"
    if path.stat().st_size == 0:
        raise TrainingError(f"{where} is empty (0 bytes); rerun the processing job or fix the channel's S3 prefix")
    try:
        frame = pd.read_csv(path, header=None)
        if all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes):
            matrix = frame.to_numpy(dtype=float)
            if np.isfinite(matrix).all():
                return matrix
        text = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        cause = " ".join(str(error).split())
        raise TrainingError(f"{where} is not a readable CSV file ({cause}); channels hold headerless CSV") from None
    raise TrainingError(f"{where}: {matrix_problem(text) or 'has values that are not finite numbers'}")


def matrix_problem(frame: pd.DataFrame) -> str | None:
    """What keeps a headerless CSV (read as text) from being a finite numeric matrix, with where and how to fix it."""
    stripped = frame.apply(lambda column: column.str.strip())
    numbers = stripped.apply(pd.to_numeric, errors="coerce")
    empty = stripped == ""
    text = numbers.isna() & ~empty
    fix = "channels hold the processing job's output: numbers only, target first, no header"
    if text.iloc[0].any() and not text.iloc[1:].to_numpy().any():
        if len(frame) == 1:
            return f"holds only a header row {list(frame.iloc[0])} and no data; {fix}"
        return f"starts with a header row {list(frame.iloc[0])}; {fix} (write it with header=False)"
    if text.to_numpy().any():
        row, column = first_cell(text.to_numpy())
        return f"row {row + 1}, column {column + 1}: {frame.iat[row, column]!r} is not a number; {fix}"
    for column in range(frame.shape[1]):
        if empty.iloc[:, column].all():
            return f"column {column + 1} is empty in every row; {fix} (the preprocessor imputes missing values)"
    if empty.to_numpy().any():
        row, column = first_cell(empty.to_numpy())
        return f"row {row + 1}, column {column + 1} is empty; {fix} (the preprocessor imputes missing values)"
    infinite = ~np.isfinite(numbers.to_numpy(dtype=float))
    if infinite.any():
        row, column = first_cell(infinite)
        return f"row {row + 1}, column {column + 1} is {frame.iat[row, column]!r}, not a finite number; {fix}"
    return None


def first_cell(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first True cell of a boolean matrix, row by row."""
    rows, columns = np.nonzero(mask)
    return int(rows[0]), int(columns[0])


def class_codes(target: np.ndarray, n_classes: int, channel: str) -> np.ndarray:
    """The target column of a classifier's channel as int codes, each in 0..n_classes-1."""
    codes = target.astype(int)
    bad = (codes != target) | (codes < 0) | (codes >= n_classes)
    if bad.any():
        raise TrainingError(
            f"channel {channel!r}: target {float(target[bad][0]):g} is not a class code 0..{n_classes - 1} "
            "(the processing job writes each label's position in the classes list)"
        )
    return codes


def read_splits(n_classes: int | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(features, target) of each of SPLITS, as wide as each other; a classifier's targets as class codes."""
    splits = {name: read_channel(name) for name in SPLITS}
    widths = {name: features.shape[1] for name, (features, _) in splits.items()}
    if widths["train"] != widths["validation"]:
        raise TrainingError(
            f"train has {widths['train']} feature columns but validation has {widths['validation']}; "
            "give both channels the outputs of the same processing job"
        )
    if n_classes is not None:
        splits = {name: (x, class_codes(y, n_classes, name)) for name, (x, y) in splits.items()}
    return splits


def describe_splits(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """`train: 274 rows, validation: 59 rows, 9 features`."""
    rows = ", ".join(f"{name}: {len(target)} rows" for name, (_, target) in splits.items())
    return f"{rows}, {splits['train'][0].shape[1]} features"


def save_beside_model(directory: Path, classes: list[str] | None) -> bool:
    """classes.json of a classifier, and the `preprocessor` channel's preprocessor.joblib (copy_preprocessor), into the
    model directory; True when the preprocessor was copied (the model then serves raw rows)."""
    if classes is not None:
        (directory / CLASSES_FILE).write_text(json.dumps(classes), encoding="utf-8")
    copied = copy_preprocessor(directory)
    if copied:
        print(f"copied {PREPROCESSOR_FILE} into the model: it serves raw rows", flush=True)
    return copied


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


def report_metrics(results: dict[str, dict[str, float]]) -> None:
    """One metrics line per split (format_metrics: what the MetricDefinitions regexes read), the same figures as
    metrics.json in the output data, and to MLflow where configured (sm_runtime.tracking)."""
    for split, metrics in results.items():
        print(format_metrics(split, metrics), flush=True)
    write_output_data("metrics.json", results)
    log_metrics(results)  # to MLflow when the job is configured for it and the image has it


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


def format_metrics(split: str, metrics: dict[str, float]) -> str:
    """`<split>_<name>=<value>;` for each metric, space-separated, on one line (what MetricDefinitions regexes read)."""
    return " ".join(f"{split}_{name}={value:.6f};" for name, value in metrics.items())
