"""The JSONPath subset of batch transform filters (contract §5)."""

from __future__ import annotations

import pytest

from sm_engine.local.jsonpath import JsonPathError, apply

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

ROW = ["mpg", "cyl", "disp", "hp", "weight", "acc", "year", "origin"]
RECORD = {"id": 7, "features": [1, 2, 3], "name": "car", "nested": {"a": [10, 20]}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", ROW),
        ("$[0]", "mpg"),
        ("$[-1]", "origin"),
        ("$[0,2]", ["mpg", "disp"]),
        ("$[1:4]", ["cyl", "disp", "hp", "weight"]),
        ("$[1:]", ROW[1:]),
        ("$[:1]", ["mpg", "cyl"]),
        ("$[0:-2]", ROW[:-1]),
        ("$[-2:]", ["year", "origin"]),
    ],
)
def test_index_paths_on_csv_rows(path: str, expected: object) -> None:
    assert apply(path, ROW) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.id", 7),
        ("$['name']", "car"),
        ('$["name"]', "car"),
        ("$['id','name']", [7, "car"]),
        ("$.features[1:]", [2, 3]),
        ("$.features[0]", 1),
        ("$.nested.a[-1]", 20),
        ("$['nested']['a'][0,1]", [10, 20]),
    ],
)
def test_key_paths_on_json_records(path: str, expected: object) -> None:
    assert apply(path, RECORD) == expected


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("$..id", RECORD, "unsupported JSONPath"),
        ("$[*]", ROW, "unsupported JSONPath"),
        ("features", RECORD, "must start with"),
        ("$[" + "1," * 40 + "1]", ROW, "longer than 63"),
        ("$[20]", ROW, "out of range"),
        ("$.missing", RECORD, "not found"),
        ("$[0]", RECORD, "not an array"),
        ("$.id", ROW, "not an object"),
    ],
)
def test_errors_are_clear(path: str, value: object, message: str) -> None:
    with pytest.raises(JsonPathError, match=message):
        apply(path, value)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$[0,5:]", ["mpg", "acc", "year", "origin"]),
        ("$[1:]", ROW[1:]),
        ("$[-1]", "origin"),
        ("$[0,2:3,-1]", ["mpg", "disp", "hp", "origin"]),
    ],
)
def test_the_api_references_filter_examples(path: str, expected: object) -> None:
    """docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataProcessing.html: InputFilter examples "$", "$[1:]",
    "$.features"; OutputFilter examples "$", "$[0,5:]" (an index and a slice), "$['id','SageMakerOutput']"."""
    assert apply(path, ROW) == expected
    assert apply("$.features", RECORD) == [1, 2, 3]
    assert apply("$['id','name']", RECORD) == [7, "car"]
