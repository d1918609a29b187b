"""The handler chains of both inference containers (jobs/preprocessor_inference.py, jobs/model_inference.py)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import joblib
import model_inference
import numpy as np
import pandas as pd
import preprocessor_inference
import pytest
from conftest import CONFIG, csv_answers, reference_answers
from sm_runtime import serving_io
from sm_runtime.serving_io import PayloadError

COLUMNS = list(CONFIG.data.columns)
NUMERIC = next(name for name, kind in CONFIG.data.columns.items() if kind == "numeric")
"""The first numeric column: where the tests put a missing value, text and infinity."""


def invoke(module, model, body: object, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
    """The chain as the serving toolkit runs it (outside a container a bad payload raises PayloadError)."""
    return module.transform_fn(model, body, content_type, accept)


def status_of(module, model, body: object, content_type: str | None, accept: str | None = None) -> PayloadError:
    with pytest.raises(PayloadError) as error:
        invoke(module, model, body, content_type, accept)
    return error.value


def csv_body(rows: list[list[str]]) -> bytes:
    return "".join(",".join(row) + "\n" for row in rows).encode()


@pytest.fixture(scope="module")
def preprocessor(preprocessor_dir: Path):
    return preprocessor_inference.model_fn(str(preprocessor_dir))


@pytest.fixture(scope="module")
def model(trained_model_dir: Path):
    return model_inference.model_fn(str(trained_model_dir))


@pytest.fixture(scope="module")
def test_raw_rows(processed: Path) -> list[list[str]]:
    """The raw test split without its target: what the batch transform sends (InputFilter `$[1:]`)."""
    with (processed / "test_raw" / "test_raw.csv").open() as file:
        return [row[1:] for row in csv.reader(file)]


@pytest.fixture(scope="module")
def raw_rows(test_raw_rows: list[list[str]]) -> list[list[str]]:
    """Two raw rows, the second with its first numeric value missing."""
    first, second = (list(row) for row in test_raw_rows[:2])
    second[COLUMNS.index(NUMERIC)] = ""
    return [first, second]


def in_process_predictions(preprocessor_dir: Path, trained_model_dir: Path, rows: list[list[str]]) -> list:
    pipeline = joblib.load(preprocessor_dir / "preprocessor.joblib")
    return reference_answers(trained_model_dir, pipeline.transform(pd.DataFrame(rows, columns=COLUMNS)))


# -- preprocessor container ----------------------------------------------------------------------------------------


def test_preprocessor_turns_raw_csv_into_features(preprocessor, model, raw_rows) -> None:
    assert preprocessor.columns == tuple(COLUMNS)  # read from the fitted pipeline
    body, content_type = invoke(preprocessor_inference, preprocessor, csv_body(raw_rows), "text/csv", "text/csv")
    assert content_type == "text/csv"
    matrix = np.loadtxt(body.decode().splitlines(), delimiter=",", ndmin=2)
    assert matrix.shape == (2, model.model.n_features_in_)
    assert np.isfinite(matrix).all()


def test_preprocessor_reads_json_rows_objects_and_instances(preprocessor, raw_rows) -> None:
    expected, _ = invoke(preprocessor_inference, preprocessor, csv_body(raw_rows), "text/csv", "application/json")
    objects = [dict(zip(COLUMNS, row, strict=True)) for row in raw_rows]
    objects[0][NUMERIC.replace(" ", "_").upper()] = objects[0].pop(NUMERIC)  # keys: any case, `_` for a space
    objects[1][NUMERIC] = None
    typed = [
        [
            float(v) if v and CONFIG.data.columns[c] == "numeric" else v or None
            for c, v in zip(COLUMNS, row, strict=True)
        ]
        for row in raw_rows
    ]
    for payload in (raw_rows, typed, {"instances": typed}, objects, {"instances": objects}):
        body, content_type = invoke(
            preprocessor_inference, preprocessor, json.dumps(payload).encode(), "application/json", "application/json"
        )
        assert content_type == "application/json"
        assert json.loads(body) == json.loads(expected)


def test_preprocessor_accepts_missing_markers_and_a_charset(preprocessor, raw_rows) -> None:
    marked = [list(raw_rows[1])]
    marked[0][COLUMNS.index(NUMERIC)] = CONFIG.data.missing_values[-1]
    first, _ = invoke(preprocessor_inference, preprocessor, csv_body(marked), "text/csv; charset=utf-8", "text/csv")
    second, _ = invoke(preprocessor_inference, preprocessor, csv_body(raw_rows[1:]), "text/csv", "text/csv")
    assert first == second


def with_value(row: list[str], value: str) -> bytes:
    changed = list(row)
    changed[COLUMNS.index(NUMERIC)] = value
    return csv_body([changed])


def test_preprocessor_refuses_bad_requests(preprocessor, raw_rows) -> None:
    row = raw_rows[0]
    cases = [
        (csv_body(raw_rows), "application/x-npy", None, 415, "unsupported content type"),
        (csv_body(raw_rows), "text/csv", "application/xml", 406, "unsupported accept"),
        (b"", "text/csv", None, 400, "empty request body"),
        (csv_body([row[:2]]), "text/csv", None, 400, f"row 1 has 2 values, expected {len(COLUMNS)}: {COLUMNS[0]}, "),
        (with_value(row, "heavy"), "text/csv", None, 400, f"row 1, column {NUMERIC!r}: 'heavy' is not a number"),
        (with_value(row, "inf"), "text/csv", None, 400, "is not a finite number"),
        (b"[[1.5, 20", "application/json", None, 400, "malformed JSON"),
        (json.dumps([{COLUMNS[0]: row[0]}]).encode(), "application/json", None, 400, f"missing key(s) {COLUMNS[1]!r}"),
        (
            json.dumps([{**dict(zip(COLUMNS, row, strict=True)), "extra": 1}]).encode(),
            "application/json",
            None,
            400,
            "unknown key(s) 'extra'",
        ),
        (b'"1.5,20"', "application/json", None, 400, "JSON must be a list of rows"),
        (json.dumps([[*row[:-1], [1]]]).encode(), "application/json", None, 400, "not nested lists"),
    ]
    for body, content_type, accept, status, fragment in cases:
        error = status_of(preprocessor_inference, preprocessor, body, content_type, accept)
        assert (error.status, fragment in error.message) == (status, True), error.message


# -- model container -----------------------------------------------------------------------------------------------


def assert_same_answers(got: list, expected: list) -> None:
    """Labels exactly; values to the last few bits (a linear model's dot product rounds by the input's memory
    layout: the decoded request is C-ordered, the reference frame's array is not)."""
    if expected and isinstance(expected[0], str):
        assert got == expected
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_model_answers_json_and_csv(model, processed: Path, trained_model_dir: Path) -> None:
    features = pd.read_csv(processed / "test" / "test.csv", header=None).iloc[:3, 1:].to_numpy()
    expected = reference_answers(trained_model_dir, features)
    csv_body = serving_io.encode_csv(features)
    body, content_type = invoke(model_inference, model, csv_body, "text/csv", "application/json")
    assert content_type == "application/json"
    assert_same_answers(json.loads(body)["predictions"], expected)
    body, content_type = invoke(model_inference, model, json.dumps(features.tolist()), "application/json", "text/csv")
    assert content_type == "text/csv"
    assert_same_answers(csv_answers(body, model.classes is not None), expected)
    one_row, _ = invoke(model_inference, model, csv_body.splitlines()[0], "text/csv", "application/json")
    assert_same_answers(json.loads(one_row)["predictions"], [expected[0]])


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "fragment"),
    [
        (b"1,2,3\n", "text/csv", None, 400, "row 1 has 3 values, expected"),
        (b"1,2\n1,2,3\n", "text/csv", None, 400, "row 2 has 3 values, expected 2"),
        (b"a,b\n", "text/csv", None, 400, "row 1, column 1: 'a' is not a number"),
        (b'[[1, "nan"]]', "application/json", None, 400, "not a finite number"),
        (b"1,2\n", "text/plain", None, 415, "text/plain"),
    ],
)
def test_model_refuses_bad_requests(model, body, content_type, accept, status, fragment) -> None:
    error = status_of(model_inference, model, body, content_type, accept)
    assert (error.status, fragment in error.message) == (status, True), error.message


def test_model_refuses_an_unsupported_accept(model) -> None:
    row = ",".join(["0.5"] * model.model.n_features_in_)
    error = status_of(model_inference, model, row.encode(), "text/csv", "image/png, text/html;q=0.5")
    assert (error.status, error.message) == (
        406,
        "unsupported accept 'image/png, text/html;q=0.5': ask for text/csv or application/json",
    )


def test_model_refuses_missing_features(model) -> None:
    row = ",".join(["0.5"] * model.model.n_features_in_)
    error = status_of(model_inference, model, ("," + row[4:]).encode(), "text/csv")
    assert (error.status, error.message.split(":")[0]) == (400, "row 1, column 1")


def test_accept_negotiation(monkeypatch) -> None:
    monkeypatch.delenv(serving_io.DEFAULT_ACCEPT_VARIABLE, raising=False)
    assert serving_io.response_content_type(None) == "application/json"
    assert serving_io.response_content_type("text/csv;q=0.5, application/json") == "application/json"
    assert serving_io.response_content_type("application/json;q=0.2, text/*;q=0.9") == "text/csv"
    assert serving_io.response_content_type("application/json;q=0, text/csv") == "text/csv"
    monkeypatch.setenv(serving_io.DEFAULT_ACCEPT_VARIABLE, "text/csv")
    assert serving_io.response_content_type(None) == "text/csv"
    assert serving_io.response_content_type("*/*") == "text/csv"


# -- the two containers together -----------------------------------------------------------------------------------


def test_serial_pipeline_matches_the_in_process_pipeline(
    preprocessor, model, preprocessor_dir: Path, trained_model_dir: Path, test_raw_rows, raw_rows, monkeypatch
) -> None:
    """Preprocessor container (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=text/csv) -> model container (contract §4)."""
    rows = [*test_raw_rows, raw_rows[1]]  # one row with a missing value at least
    request = csv_body(rows)
    monkeypatch.setenv(serving_io.DEFAULT_ACCEPT_VARIABLE, "text/csv")
    features, content_type = invoke(preprocessor_inference, preprocessor, request, "text/csv", None)
    monkeypatch.delenv(serving_io.DEFAULT_ACCEPT_VARIABLE)
    assert content_type == "text/csv"
    body, _ = invoke(model_inference, model, features, content_type, "application/json")
    expected = in_process_predictions(preprocessor_dir, trained_model_dir, rows)
    assert json.loads(body)["predictions"] == expected


def test_json_between_the_containers_works_too(preprocessor, model, test_raw_rows) -> None:
    request = json.dumps(test_raw_rows[:5]).encode()
    features, content_type = invoke(
        preprocessor_inference, preprocessor, request, "application/json", "application/json"
    )
    body, _ = invoke(model_inference, model, features, content_type, "text/csv")
    assert len(body.decode().splitlines()) == 5


def test_model_with_its_preprocessor_serves_raw_rows(
    preprocessor_dir: Path, trained_model_dir: Path, test_raw_rows, tmp_path: Path
) -> None:
    """The shape without an inference pipeline: model.joblib and preprocessor.joblib in one model directory."""
    for artefact in trained_model_dir.iterdir():  # model.joblib, and classes.json of a classifier
        shutil.copy(artefact, tmp_path)
    shutil.copy(preprocessor_dir / "preprocessor.joblib", tmp_path)
    combined = model_inference.model_fn(str(tmp_path))
    assert combined.preprocessor is not None
    body, _ = invoke(model_inference, combined, csv_body(test_raw_rows), "text/csv", "application/json")
    expected = in_process_predictions(preprocessor_dir, trained_model_dir, test_raw_rows)
    assert json.loads(body)["predictions"] == expected
    assert status_of(model_inference, combined, b"1,2,3\n", "text/csv").status == 400
