"""Processing job entry point (contract §2): raw CSV -> train / validation / test features and the fitted preprocessor.

SageMaker runs `python3 /opt/ml/processing/input/code/preprocess.py [arguments]` with the raw data mounted at
/opt/ml/processing/input/raw/. SAGEMAKER_BASE_DIR replaces /opt/ml where the local executor cannot mount it.

Outputs under <base>/processing/output/ (headerless CSV, target first):
  train/train.csv, validation/validation.csv, test/test.csv   transformed features
  test_raw/test_raw.csv                                       raw test rows (missing values as empty fields)
  preprocessor/model.tar.gz                                   preprocessor.joblib, the pipeline fitted on train only
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from features import RAW_COLUMNS, build_preprocessor, missing_columns, numeric_problems, read_raw_csv
from sklearn.pipeline import Pipeline

PREPROCESSOR_FILE = "preprocessor.joblib"


class ProcessingError(Exception):
    """A problem with the input data or the arguments; the message says what to fix."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="mpg", help="name of the target column in the raw CSV header")
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    fractions = (args.validation_fraction, args.test_fraction)
    if not all(0 < fraction < 1 for fraction in fractions) or sum(fractions) >= 1:
        parser.error("--validation-fraction and --test-fraction must be in (0, 1) and sum to less than 1")
    return args


def read_raw_data(input_dir: Path, target: str) -> pd.DataFrame:
    """Every CSV under input_dir, checked and concatenated: the target then the raw feature columns, numeric."""
    files = sorted(path for path in input_dir.rglob("*.csv") if path.is_file())
    if not files:
        raise ProcessingError(f"no CSV file in {input_dir}: the processing input 'raw' is empty")
    frames = [read_checked_csv(path, target) for path in files]
    data = pd.concat(frames, ignore_index=True).apply(pd.to_numeric, errors="coerce")
    dropped = int(data[target].isna().sum())
    if dropped:
        print(f"dropped {dropped} rows without a {target!r} value")
    return data.dropna(subset=[target]).reset_index(drop=True)


def read_checked_csv(path: Path, target: str) -> pd.DataFrame:
    """One raw CSV file reduced to [target, *RAW_COLUMNS]; unknown columns are ignored."""
    try:
        frame = read_raw_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise ProcessingError(f"{path.name}: not a readable CSV file ({error})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    absent = missing_columns(frame.columns, (target, *RAW_COLUMNS))
    if absent:
        names = ", ".join(repr(column) for column in absent)
        raise ProcessingError(f"{path.name}: column(s) {names} not in the header {list(frame.columns)}")
    columns = [target, *RAW_COLUMNS]
    problems = numeric_problems(frame, columns)
    if problems:
        raise ProcessingError(f"{path.name}: " + "; ".join(problems))
    return frame[columns]


def split(data: pd.DataFrame, validation_fraction: float, test_fraction: float, seed: int) -> dict[str, pd.DataFrame]:
    """Seeded shuffle, then train / validation / test; every split gets at least one row."""
    n_rows = len(data)
    n_validation = max(1, round(n_rows * validation_fraction))
    n_test = max(1, round(n_rows * test_fraction))
    if n_rows - n_validation - n_test < 1:
        raise ProcessingError(f"{n_rows} rows are too few to split into train, validation and test")
    order = np.random.RandomState(seed).permutation(n_rows)
    bounds = {
        "test": (0, n_test),
        "validation": (n_test, n_test + n_validation),
        "train": (n_test + n_validation, n_rows),
    }
    return {name: data.iloc[np.sort(order[start:end])] for name, (start, end) in bounds.items()}


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, header=False, index=False, na_rep="")


def transformed(preprocessor: Pipeline, rows: pd.DataFrame, target: str) -> pd.DataFrame:
    """Target first, then the preprocessed feature matrix."""
    matrix = preprocessor.transform(rows[list(RAW_COLUMNS)])
    return pd.concat([rows[[target]].reset_index(drop=True), pd.DataFrame(matrix)], axis=1)


def write_preprocessor(preprocessor: Pipeline, output_dir: Path) -> Path:
    """model.tar.gz with preprocessor.joblib at the archive root, written under a temporary name then renamed."""
    output_dir.mkdir(parents=True, exist_ok=True)
    archive = output_dir / "model.tar.gz"
    with tempfile.TemporaryDirectory() as scratch:
        dumped = Path(scratch) / PREPROCESSOR_FILE
        joblib.dump(preprocessor, dumped)
        partial = output_dir / ".model.tar.gz.partial"
        try:
            with tarfile.open(partial, "w:gz") as tar:
                tar.add(dumped, arcname=PREPROCESSOR_FILE)
            os.replace(partial, archive)
        finally:
            partial.unlink(missing_ok=True)
    return archive


def run(args: argparse.Namespace, base: Path) -> dict[str, int]:
    """The whole job; returns the row count of each split."""
    data = read_raw_data(base / "processing" / "input" / "raw", args.target)
    splits = split(data, args.validation_fraction, args.test_fraction, args.seed)
    preprocessor = build_preprocessor(RAW_COLUMNS).fit(splits["train"][list(RAW_COLUMNS)])
    output = base / "processing" / "output"
    for name in ("train", "validation", "test"):
        write_csv(transformed(preprocessor, splits[name], args.target), output / name / f"{name}.csv")
    write_csv(splits["test"], output / "test_raw" / "test_raw.csv")
    write_preprocessor(preprocessor, output / "preprocessor")
    return {name: len(frame) for name, frame in splits.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        counts = run(args, base_dir())
    except ProcessingError as error:
        print(f"preprocess.py: error: {error}", file=sys.stderr)
        return 1
    total = sum(counts.values())
    print(f"rows: {total} (train {counts['train']}, validation {counts['validation']}, test {counts['test']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
