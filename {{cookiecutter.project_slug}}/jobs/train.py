"""Training job entry point (contract §1): a random forest on the preprocessed features.

The training toolkit runs `python train.py --max_depth 10 --n_estimators 100 ...` in /opt/ml/code with the paths in
SM_* variables (SAGEMAKER_BASE_DIR stands for /opt/ml where they are not set). Channels `train` and `validation` hold
headerless CSV files, target first. An optional `preprocessor` channel (the processing job's model.tar.gz) puts
preprocessor.joblib beside model.joblib, so that model_inference.py can serve raw rows without an inference pipeline.

Prints one metrics line per split (`train_mae=...; train_rmse=...; train_r2=...;`), saves model.joblib in SM_MODEL_DIR
and metrics.json in SM_OUTPUT_DATA_DIR. On failure: the cause on the first line of <SM_OUTPUT_DIR>/failure, exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import traceback
from pathlib import Path
from typing import NoReturn

import joblib
import numpy as np
import pandas as pd
from metrics import format_metrics, regression_metrics
from sklearn.ensemble import RandomForestRegressor

MODEL_FILE = "model.joblib"
PREPROCESSOR_FILE = "preprocessor.joblib"
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


# -- hyperparameters -----------------------------------------------------------------------------------------------


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def integer(text: str) -> int:
    """An int; also accepts an integral float rendering such as `10.0`."""
    value = _number(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    return int(value)


def optional_integer(text: str) -> int | None:
    """An int, or None for `None` / `null` / an empty value (how the toolkit renders None)."""
    return None if text.strip().lower() in NONE_TEXTS else integer(text)


def count_or_fraction(text: str) -> int | float:
    """An integral value is a count (`2`, `2.0`), anything else a fraction (`0.05`): min_samples_leaf."""
    value = _number(text)
    return int(value) if value.is_integer() and value >= 1 else value


def max_features(text: str) -> int | float | str | None:
    """`sqrt`, `log2`, None, an int literal (a count) or a float (a fraction: `1.0` = all features)."""
    cleaned = text.strip()
    if cleaned.lower() in NONE_TEXTS:
        return None
    if cleaned in ("sqrt", "log2"):
        return cleaned
    try:
        return int(cleaned)
    except ValueError:
        return _number(cleaned)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Train a random forest regressor.")
    parser.add_argument("--n_estimators", type=integer, default=100)
    parser.add_argument("--max_depth", type=optional_integer, default=None)
    parser.add_argument("--min_samples_leaf", type=count_or_fraction, default=1)
    parser.add_argument("--max_features", type=max_features, default=1.0)
    parser.add_argument("--random_state", type=optional_integer, default=42)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"ignoring arguments this script does not use: {' '.join(unknown)}", flush=True)
    return args


# -- data ----------------------------------------------------------------------------------------------------------


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


def copy_preprocessor(model_dir: Path) -> bool:
    """Put the optional `preprocessor` channel's preprocessor.joblib into the model directory."""
    directory = channel_dir("preprocessor")
    if not directory.is_dir():
        return False
    archive = directory / "model.tar.gz"
    if archive.is_file():
        with tarfile.open(archive) as tar:
            try:
                member = tar.extractfile(PREPROCESSOR_FILE)
            except KeyError:
                member = None
            if member is None:
                raise TrainingError(f"channel 'preprocessor': model.tar.gz has no {PREPROCESSOR_FILE} file")
            (model_dir / PREPROCESSOR_FILE).write_bytes(member.read())
        return True
    if (directory / PREPROCESSOR_FILE).is_file():
        (model_dir / PREPROCESSOR_FILE).write_bytes((directory / PREPROCESSOR_FILE).read_bytes())
        return True
    raise TrainingError(f"channel 'preprocessor' has neither model.tar.gz nor {PREPROCESSOR_FILE}")


# -- the job -------------------------------------------------------------------------------------------------------


def train(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    x_train, y_train = read_channel("train")
    x_validation, y_validation = read_channel("validation")
    if x_train.shape[1] != x_validation.shape[1]:
        raise TrainingError(f"train has {x_train.shape[1]} feature columns but validation has {x_validation.shape[1]}")
    print(f"train: {len(y_train)} rows, validation: {len(y_validation)} rows, {x_train.shape[1]} features", flush=True)
    model = RandomForestRegressor(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf,
        max_features=args.max_features,
        random_state=args.random_state,
        n_jobs=1,
    )
    try:
        model.fit(x_train, y_train)
    except ValueError as error:  # scikit-learn's answer to a hyperparameter out of range or unusable data
        raise TrainingError(f"cannot fit the model: {error}") from None
    results = {
        "train": regression_metrics(y_train, model.predict(x_train)),
        "validation": regression_metrics(y_validation, model.predict(x_validation)),
    }
    for split, metrics in results.items():
        print(format_metrics(split, metrics), flush=True)
    model_dir = sm_path("SM_MODEL_DIR", "model")
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE)
    if copy_preprocessor(model_dir):
        print(f"copied {PREPROCESSOR_FILE} into the model: it serves raw rows", flush=True)
    output_data = sm_path("SM_OUTPUT_DATA_DIR", "output/data")
    output_data.mkdir(parents=True, exist_ok=True)
    (output_data / "metrics.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


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


def main(argv: list[str] | None = None) -> int:
    try:
        train(parse_args(argv))
    except TrainingError as error:
        report_failure(f"TrainingError: {error}")
        return 1
    except Exception as error:
        cause = " ".join(f"{type(error).__name__}: {error}".split())
        report_failure(cause, traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
