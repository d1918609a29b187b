"""Processing job entry point (contract §2): raw CSV -> train / validation / test features and the fitted preprocessor.

SageMaker runs `python3 /opt/ml/processing/input/code/preprocess.py [arguments]` with the raw data mounted at
/opt/ml/processing/input/raw/. SAGEMAKER_BASE_DIR replaces /opt/ml where the local executor cannot mount it.
The column schema, data_schema.json, comes with the code: the engine writes it from `data:` in config/project.yaml
into the code upload, so it lies beside this script (/opt/ml/processing/input/code/); `--schema` points elsewhere.
Every CSV is read as text (the schema's missing markers and empty fields are missing values); only the target and
the declared columns are kept (data.ignore and any other column are dropped), and features.build_preprocessor is
fitted on the training split only.

Outputs under <base>/processing/output/ (headerless CSV, target first):
  train/train.csv, validation/validation.csv, test/test.csv   transformed features
  test_raw/test_raw.csv                                       raw test rows: the target, then the declared columns in
                                                              order, as read (missing values as empty fields)
  preprocessor/model.tar.gz                                   preprocessor.joblib, the pipeline fitted on train only

Classification (`--classes '["no", "yes"]'`, from data.classes of the config): the target column holds labels; the
feature splits carry each label's code, its position in the list (0..K-1, the shape every training entry point and the
built-in XGBoost read), test_raw keeps the labels, and the split is stratified by class.

On bad input (a missing or empty input, a missing column, text in a numeric column, too few rows...): the cause on
one line in <base>/output/message (the job's ExitMessage) and on stderr, exit 1, and no output written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from features import DataSchema, SchemaError, build_preprocessor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sm_runtime.archives import PREPROCESSOR_FILE
from sm_runtime.tabular import DATA_SCHEMA_FILE, ColumnValueError, column_values, typed_columns


class ProcessingError(Exception):
    """A problem with the input data or the arguments; the message says what to fix."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="name of the target column in the raw CSV header")
    parser.add_argument(
        "--schema", type=Path, default=Path(__file__).resolve().parent / DATA_SCHEMA_FILE, help="data_schema.json"
    )
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--classes", type=class_list, default=None, help='class labels as a JSON list, e.g. ["no", "yes"]'
    )
    args = parser.parse_args(argv)
    fractions = (args.validation_fraction, args.test_fraction)
    if not all(0 < fraction < 1 for fraction in fractions) or sum(fractions) >= 1:
        parser.error("--validation-fraction and --test-fraction must be in (0, 1) and sum to less than 1")
    return args


def class_list(text: str) -> list[str]:
    """`--classes`: a JSON list of at least two distinct labels."""
    try:
        labels = json.loads(text)
    except json.JSONDecodeError:
        labels = None
    if not isinstance(labels, list) or len(labels) < 2 or len(set(map(str, labels))) != len(labels):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON list of at least two distinct labels")
    return [str(label) for label in labels]


def read_raw_data(input_dir: Path, target: str, schema: DataSchema, labelled: bool = False) -> pd.DataFrame:
    """Every CSV under input_dir, checked and concatenated as text: the target, then the declared columns
    (`labelled`: the target holds class labels; else numbers). Rows without a target value are dropped."""
    if not input_dir.is_dir():
        raise ProcessingError(f"the processing input 'raw' is missing: {input_dir} does not exist (add a 'raw' input)")
    files = sorted(path for path in input_dir.rglob("*.csv") if path.is_file())
    if not files:
        raise ProcessingError(
            f"no CSV file in {input_dir}: the processing input 'raw' is empty (check its S3 prefix and upload the data)"
        )
    data = pd.concat([read_checked_csv(path, target, schema, labelled) for path in files], ignore_index=True)
    typed = typed_columns(data[list(schema.columns)].to_numpy(dtype=object), schema.columns, schema.missing_values)
    blank = [column for column, values in typed.items() if pd.isna(values).all()]
    if blank:
        raise ProcessingError(
            f"column(s) {', '.join(map(repr, blank))} have no value in any row: the preprocessor cannot impute them; "
            "fill them in the data, or move them to data.ignore in config/project.yaml"
        )
    values = data[target].str.strip() if labelled else column_values(data[target].to_numpy(), "numeric", target, ())
    data[target] = pd.Series(values, index=data.index).replace("", np.nan)
    dropped = int(data[target].isna().sum())
    if dropped:
        print(f"dropped {dropped} rows without a {target!r} value")
    return data.dropna(subset=[target]).reset_index(drop=True)


def read_checked_csv(path: Path, target: str, schema: DataSchema, labelled: bool = False) -> pd.DataFrame:
    """One raw CSV file as text, reduced to [target, *declared columns]; every value checked against its kind."""
    if path.stat().st_size == 0:
        raise ProcessingError(f"{path.name} is empty (0 bytes): upload the data again or remove the file")
    try:
        frame = pd.read_csv(
            path, dtype=str, na_values=list(schema.missing_values), keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        cause = " ".join(str(error).split())
        raise ProcessingError(f"{path.name}: not a readable CSV file ({cause}); save it as UTF-8 CSV") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    columns = [target, *schema.columns]
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        names = ", ".join(repr(column) for column in absent)
        wrong = {"data.target": target in absent, "data.columns": len(absent) > (target in absent)}
        keys = " and ".join(key for key, is_wrong in wrong.items() if is_wrong)
        raise ProcessingError(
            f"{path.name}: column(s) {names} not in the header {list(frame.columns)}; fix the header row, or "
            f"{keys} in config/project.yaml (`python -m sm_engine data init <csv> --target <column>` writes them "
            "from the file)"
        )
    if frame.empty:
        raise ProcessingError(f"{path.name} has a header row but no data rows: add the data rows")
    undeclared = [column for column in frame.columns if column not in columns and column not in schema.ignore]
    if undeclared:
        print(f"{path.name}: not used (neither in data.columns nor in data.ignore): {', '.join(undeclared)}")
    checked = [column for column in columns if column != target or not labelled]
    check_values(frame, checked, target, schema, path.name)
    return frame[columns]


def check_values(frame: pd.DataFrame, columns: list[str], target: str, schema: DataSchema, source: str) -> None:
    """Each column's values must read as its kind (the target as a number); the first bad one per column is named
    with its line in the file."""
    problems = []
    for column in columns:
        kind = "numeric" if column == target else schema.columns[column]
        try:
            column_values(frame[column].to_numpy(dtype=object), kind, column, schema.missing_values)
        except ColumnValueError as error:
            problems.append(f"line {error.row + 2}, column {column!r}: {error.value!r} {error.problem}")
    if problems:
        raise ProcessingError(
            f"{source}: " + "; ".join(problems) + "; fix those values, leave them empty for a missing value, "
            "or change the column's kind in data.columns of config/project.yaml"
        )


def encode_labels(labels: pd.Series, classes: list[str]) -> pd.Series:
    """Each label's position in `classes` (0..K-1); a label that `classes` does not list is an error."""
    unknown = labels[~labels.isin(classes)]
    if not unknown.empty:
        shown = ", ".join(f"{label!r} ({int((unknown == label).sum())} rows)" for label in unknown.unique()[:5])
        raise ProcessingError(
            f"column {labels.name!r} has labels that the classes {classes} do not list: {shown}; "
            "add them to data.classes in config/project.yaml or fix the data"
        )
    absent = [label for label in classes if label not in set(labels)]
    if absent:
        print(f"note: no row has the class(es) {absent}; the model will never predict them")
    return pd.Series(pd.Categorical(labels, categories=classes).codes, index=labels.index)


def split(
    data: pd.DataFrame, validation_fraction: float, test_fraction: float, seed: int, strata: pd.Series | None = None
) -> dict[str, pd.DataFrame]:
    """Seeded shuffle, then train / validation / test; every split gets at least one row. With `strata` (class
    codes), each split keeps the class proportions (sklearn's stratified train_test_split, twice)."""
    n_rows = len(data)
    n_validation = max(1, round(n_rows * validation_fraction))
    n_test = max(1, round(n_rows * test_fraction))
    if n_rows - n_validation - n_test < 1:
        raise ProcessingError(
            f"{n_rows} row(s) are too few to split into train, validation and test: add rows, or lower "
            "data.split's fractions in config/project.yaml"
        )
    if strata is not None:
        return stratified_split(data, n_validation, n_test, seed, strata)
    order = np.random.RandomState(seed).permutation(n_rows)
    bounds = {
        "test": (0, n_test),
        "validation": (n_test, n_test + n_validation),
        "train": (n_test + n_validation, n_rows),
    }
    return {name: data.iloc[np.sort(order[start:end])] for name, (start, end) in bounds.items()}


def stratified_split(
    data: pd.DataFrame, n_validation: int, n_test: int, seed: int, strata: pd.Series
) -> dict[str, pd.DataFrame]:
    """Test first, then validation out of the rest, both stratified by class; rows keep their original order."""
    positions = np.arange(len(data))
    try:
        rest, test = train_test_split(positions, test_size=n_test, random_state=seed, stratify=strata)
        train, validation = train_test_split(
            rest, test_size=n_validation, random_state=seed, stratify=strata.iloc[rest]
        )
    except ValueError as error:
        counts = ", ".join(f"{code}: {count}" for code, count in strata.value_counts().sort_index().items())
        raise ProcessingError(
            f"cannot split by class ({error}); rows per class code: {counts}. Add rows to the small classes, "
            "or lower data.split's fractions"
        ) from None
    return {
        name: data.iloc[np.sort(part)] for name, part in (("test", test), ("validation", validation), ("train", train))
    }


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, header=False, index=False, na_rep="")


def transformed(preprocessor: Pipeline, rows: pd.DataFrame, target: pd.Series) -> pd.DataFrame:
    """The target (values or class codes) first, then the preprocessed feature matrix."""
    matrix = preprocessor.transform(rows)
    return pd.concat([target.loc[rows.index].reset_index(drop=True), pd.DataFrame(matrix)], axis=1)


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
    labelled = args.classes is not None
    try:
        schema = DataSchema.read(args.schema)
        preprocessor = build_preprocessor(schema)
    except SchemaError as error:
        raise ProcessingError(str(error)) from None
    data = read_raw_data(base / "processing" / "input" / "raw", args.target, schema, labelled)
    target = encode_labels(data[args.target], args.classes) if labelled else data[args.target]
    if labelled:
        print("classes: " + ", ".join(f"{code} = {label!r}" for code, label in enumerate(args.classes)))
    splits = split(data, args.validation_fraction, args.test_fraction, args.seed, target if labelled else None)
    preprocessor.fit(splits["train"])
    features = {name: transformed(preprocessor, splits[name], target) for name in ("train", "validation", "test")}
    output = base / "processing" / "output"  # written only once every split is ready: a failed job writes nothing
    for name, frame in features.items():
        write_csv(frame, output / name / f"{name}.csv")
    write_csv(splits["test"], output / "test_raw" / "test_raw.csv")
    write_preprocessor(preprocessor, output / "preprocessor")
    return {name: len(frame) for name, frame in splits.items()}


def report_failure(message: str) -> None:
    """The cause on stderr and in <base>/output/message, which SageMaker reports as the job's ExitMessage (§2)."""
    print(message, file=sys.stderr, flush=True)
    path = base_dir() / "output" / "message"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    except OSError as error:
        print(f"could not write {path}: {error}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        counts = run(args, base_dir())
    except ProcessingError as error:
        report_failure(f"preprocess.py: error: {error}")
        return 1
    except Exception as error:
        report_failure(" ".join(f"preprocess.py: {type(error).__name__}: {error}".split()))
        raise
    total = sum(counts.values())
    print(f"rows: {total} (train {counts['train']}, validation {counts['validation']}, test {counts['test']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
