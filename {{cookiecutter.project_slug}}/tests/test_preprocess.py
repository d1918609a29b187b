"""The processing job (jobs/preprocess.py), run as SageMaker runs it: a subprocess with SAGEMAKER_BASE_DIR."""

from __future__ import annotations

import csv
import json
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from preprocess import ProcessingError, encode_labels, main, parse_args, split
from sm_engine.packaging import safe_extract

SCHEMA = {
    "columns": {"size": "numeric", "colour": "categorical", "member": "boolean"},
    "ignore": ["id"],
    "missing_values": ["", "?"],
    "transformers": [],
}
"""A small data set of its own for the tests that feed preprocess.py hand-written CSV."""


def synthetic_csv(targets: list[str], target: str = "y") -> str:
    """id, the target, then the SCHEMA columns; every 7th size is missing (`?`)."""
    rows = [
        f"{i},{label},{'?' if i % 7 == 3 else 10 + i},{['red', 'green', 'blue'][i % 3]},{['yes', 'no'][i % 2]}\n"
        for i, label in enumerate(targets)
    ]
    return f"id,{target},size,colour,member\n" + "".join(rows)


def read_matrix(path: Path) -> np.ndarray:
    return pd.read_csv(path, header=None).to_numpy(dtype=float)


def rows_of(matrix: np.ndarray) -> set[tuple[float, ...]]:
    return {tuple(np.round(row, 9)) for row in matrix}


def run_in_process(
    base: Path, monkeypatch: pytest.MonkeyPatch, csv_text: str | None, arguments: tuple[str, ...] = ("--target", "y")
) -> int:
    """preprocess.main() on one CSV (or none) under `base`, with SCHEMA; returns the exit status."""
    raw = base / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    if csv_text is not None:
        (raw / "data.csv").write_text(csv_text)
    (base / "data_schema.json").write_text(json.dumps(SCHEMA))
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(base))
    return main([*arguments, "--schema", str(base / "data_schema.json")])


def expected_targets(raw_frame: pd.DataFrame, config) -> np.ndarray:
    """The data's target as the feature splits hold it: the value, or the class code (position in classes)."""
    target = raw_frame[config.data.target]
    if config.data.classes is None:
        return target.to_numpy(dtype=float)
    return target.str.strip().map(config.data.classes.index).to_numpy(dtype=float)


def fitted_pipeline(processed: Path, tmp_path: Path):
    return joblib.load(safe_extract(processed / "preprocessor" / "model.tar.gz", tmp_path) / "preprocessor.joblib")


def test_writes_every_artefact(processed: Path, preprocess_run, raw_frame: pd.DataFrame) -> None:
    for relative in (
        "train/train.csv",
        "validation/validation.csv",
        "test/test.csv",
        "test_raw/test_raw.csv",
        "preprocessor/model.tar.gz",
    ):
        assert (processed / relative).is_file(), relative
    assert f"rows: {len(raw_frame)} (train " in preprocess_run.result.stdout


def test_preprocessor_archive_holds_only_the_pipeline(processed: Path) -> None:
    assert [path.name for path in (processed / "preprocessor").iterdir()] == ["model.tar.gz"]
    with tarfile.open(processed / "preprocessor" / "model.tar.gz") as tar:
        assert tar.getnames() == ["preprocessor.joblib"]


def test_splits_add_up_are_disjoint_and_put_the_target_first(processed: Path, raw_frame: pd.DataFrame, config) -> None:
    splits = {name: read_matrix(processed / name / f"{name}.csv") for name in ("train", "validation", "test")}
    assert sum(len(matrix) for matrix in splits.values()) == len(raw_frame)
    assert {matrix.shape[1] for matrix in splits.values()} == {splits["train"].shape[1]}
    assert len(rows_of(np.vstack(list(splits.values())))) == len(raw_frame)
    targets = np.concatenate([matrix[:, 0] for matrix in splits.values()])
    np.testing.assert_allclose(np.sort(targets), np.sort(expected_targets(raw_frame, config)))


def test_preprocessor_was_fitted_on_train_only(processed: Path, tmp_path: Path) -> None:
    """The scaler's statistics are the training split's: train is exactly centred and scaled, the others are not."""
    columns = fitted_pipeline(processed, tmp_path).named_steps["columns"]
    n_numeric = len(columns.named_transformers_["numeric"].named_steps["scale"].mean_)
    train = read_matrix(processed / "train" / "train.csv")[:, 1 : 1 + n_numeric]
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-9)
    for name in ("validation", "test"):
        other = read_matrix(processed / name / f"{name}.csv")[:, 1 : 1 + n_numeric]
        assert np.abs(other.mean(axis=0)).max() > 1e-3


def test_test_raw_holds_the_raw_test_rows(processed: Path, raw_frame: pd.DataFrame, config) -> None:
    """The target, then the declared columns in order, as the data has them; the features' rows in order."""
    with (processed / "test_raw" / "test_raw.csv").open() as file:
        rows = list(csv.reader(file))
    test = read_matrix(processed / "test" / "test.csv")
    assert len(rows) == len(test)
    classes = config.data.classes
    truth = [float(row[0]) if classes is None else classes.index(row[0]) for row in rows]
    np.testing.assert_allclose(truth, test[:, 0])
    known = {tuple(row) for row in raw_frame[list(config.data.columns)].fillna("").to_numpy().tolist()}
    assert all(tuple(row[1:]) in known for row in rows)


def test_the_pipeline_loads_where_main_is_another_program(
    processed: Path, project_root: Path, tmp_path: Path, job_runner
) -> None:
    """The joblib pitfall (car_features.py): the model server's __main__ is not preprocess.py."""
    safe_extract(processed / "preprocessor" / "model.tar.gz", tmp_path)
    with (processed / "test_raw" / "test_raw.csv").open() as file:
        row = next(csv.reader(file))[1:]
    (tmp_path / "server.py").write_text(
        "import sys, joblib\n"
        f"sys.path.insert(0, {str(project_root / 'jobs')!r})\n"
        "pipeline = joblib.load('preprocessor.joblib')\n"
        f"print(type(pipeline.steps[0][1]).__module__, pipeline.transform([{row!r}]).shape)\n"
    )
    result = job_runner("server.py", [], {}, tmp_path, code=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "sm_runtime.raw_columns"


def test_split_is_seeded_and_sized() -> None:
    data = pd.DataFrame({"mpg": range(100)})
    first = split(data, 0.2, 0.1, seed=7)
    again = split(data, 0.2, 0.1, seed=7)
    other = split(data, 0.2, 0.1, seed=8)
    assert {name: len(part) for name, part in first.items()} == {"test": 10, "validation": 20, "train": 70}
    assert all(first[name].equals(again[name]) for name in first)
    assert not first["test"].equals(other["test"])


def test_rows_without_a_target_are_dropped_and_only_declared_columns_kept(tmp_path: Path, monkeypatch, capsys) -> None:
    text = (
        synthetic_csv([str(20 + i) for i in range(20)] + [""]).replace("\n", ",x\n").replace("member,x", "member,note")
    )
    assert run_in_process(tmp_path, monkeypatch, text) == 0
    out = capsys.readouterr().out
    assert "dropped 1 rows without a 'y' value" in out
    assert "rows: 20 " in out
    assert "not used (neither in data.columns nor in data.ignore): note" in out
    with (tmp_path / "processing" / "output" / "test_raw" / "test_raw.csv").open() as file:
        assert {len(row) for row in csv.reader(file)} == {4}  # y, size, colour, member: no id, no note


def test_a_missing_target_column_is_a_clear_error(tmp_path: Path, job_runner, project_root: Path, config) -> None:
    raw = tmp_path / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    (raw / "data.csv").write_text((project_root / config.data.local_path).read_text())
    code = project_root / "jobs"
    (tmp_path / "schema.json").write_text(json.dumps({"columns": config.data.columns}))
    arguments = ["--target", "price", "--schema", str(tmp_path / "schema.json")]
    result = job_runner("preprocess.py", arguments, {"SAGEMAKER_BASE_DIR": str(tmp_path)}, tmp_path, code)
    assert result.returncode == 1
    assert "column(s) 'price' not in the header" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_values_missing_columns_and_empty_input_are_clear_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    good = synthetic_csv(["1", "2"])
    assert run_in_process(tmp_path / "text", monkeypatch, good.replace("red", "red\n3,4,heavy,red")) == 1
    assert "line 3, column 'size': 'heavy' is not a number" in capsys.readouterr().err
    assert run_in_process(tmp_path / "boolean", monkeypatch, good.replace(",yes", ",maybe")) == 1
    assert "column 'member': 'maybe' is not a boolean" in capsys.readouterr().err
    assert run_in_process(tmp_path / "absent", monkeypatch, good.replace("colour", "color")) == 1
    assert "column(s) 'colour' not in the header" in capsys.readouterr().err
    assert run_in_process(tmp_path / "empty", monkeypatch, None) == 1
    assert "no CSV file" in capsys.readouterr().err


def test_a_custom_transformer_that_cannot_load_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(SCHEMA, "transformers", ["nowhere.Missing"])
    assert run_in_process(tmp_path, monkeypatch, synthetic_csv(["1", "2"])) == 1
    assert "data.transformers: cannot load 'nowhere.Missing'" in capsys.readouterr().err


def test_bad_fractions_are_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--target", "y", "--validation-fraction", "0.6", "--test-fraction", "0.5"])
    assert exit_info.value.code == 2
    assert "sum to less than 1" in capsys.readouterr().err


# -- classification: labels, codes, stratified split ---------------------------------------------------------------


def test_labels_become_codes_in_the_order_of_classes_and_test_raw_keeps_them(tmp_path: Path, monkeypatch) -> None:
    labels = ["high", " low", "medium", "low"] * 10
    arguments = ("--target", "label", "--classes", '["low", "medium", "high"]')
    assert run_in_process(tmp_path, monkeypatch, synthetic_csv(labels, "label"), arguments) == 0
    output = tmp_path / "processing" / "output"
    codes = np.concatenate(
        [read_matrix(output / name / f"{name}.csv")[:, 0] for name in ("train", "validation", "test")]
    )
    assert sorted(codes.tolist()) == sorted([2.0, 0.0, 1.0, 0.0] * 10)
    with (output / "test_raw" / "test_raw.csv").open() as file:
        test_raw = [row[0] for row in csv.reader(file)]
    test_codes = read_matrix(output / "test" / "test.csv")[:, 0]
    assert [["low", "medium", "high"].index(label) for label in test_raw] == test_codes.tolist()


def test_encode_labels_refuses_a_label_the_classes_do_not_list() -> None:
    labels = pd.Series(["yes", "no", "maybe", "maybe"], name="efficient")
    np.testing.assert_array_equal(encode_labels(labels[:2], ["no", "yes"]), [1, 0])
    with pytest.raises(
        ProcessingError, match=r"'efficient' has labels .* 'maybe' \(2 rows\); add them to data.classes"
    ):
        encode_labels(labels, ["no", "yes"])


def test_the_classification_split_is_stratified() -> None:
    """Each split keeps the 3:1 class ratio of the data (a plain shuffle would not, in general)."""
    codes = pd.Series([0] * 75 + [1] * 25)
    data = pd.DataFrame({"label": codes})
    splits = split(data, 0.2, 0.2, seed=3, strata=codes)
    assert {name: len(part) for name, part in splits.items()} == {"test": 20, "validation": 20, "train": 60}
    for part in splits.values():
        assert part["label"].mean() == pytest.approx(0.25)
    assert split(data, 0.2, 0.2, seed=3, strata=codes)["test"].equals(splits["test"])


def test_a_class_too_small_to_stratify_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    labels = ["a"] * 30 + ["b"]
    arguments = ("--target", "label", "--classes", '["a", "b"]')
    assert run_in_process(tmp_path, monkeypatch, synthetic_csv(labels, "label"), arguments) == 1
    err = capsys.readouterr().err
    assert "cannot split by class" in err and "rows per class code: 0: 30, 1: 1" in err


def test_classes_must_be_a_json_list_of_labels(capsys) -> None:
    assert parse_args(["--target", "y", "--classes", '["no", "yes"]']).classes == ["no", "yes"]
    for bad in ("no,yes", '["only"]', '["a", "a"]'):
        with pytest.raises(SystemExit):
            parse_args(["--target", "y", "--classes", bad])
        assert "is not a JSON list of at least two distinct labels" in capsys.readouterr().err
