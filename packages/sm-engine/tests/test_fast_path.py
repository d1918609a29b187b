"""The exact fast paths of serving: compiled preprocessing, direct forest prediction, vectorised CSV in and out, and
the batch transform's whole-line filter and join."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from features import RAW_COLUMNS, build_preprocessor, compile_preprocessor, raw_transformer, read_raw_csv
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder

from sm_engine.config import ProjectConfig
from sm_engine.local.transform import csv_columns, plain_lines
from sm_runtime import serving_io
from sm_runtime.fast_sklearn import SMALL_BATCH_ROWS, FlatForest, fast_predict, forest_predict
from sm_runtime.serving_io import PayloadError


@pytest.fixture(scope="module")
def raw_frame(project_root: Path, config: ProjectConfig) -> pd.DataFrame:
    """The project's sample data, read as its jobs read it."""
    return read_raw_csv(project_root / config.data.local_path, text_columns=[config.data.target])


@pytest.fixture(scope="module")
def raw(raw_frame: pd.DataFrame) -> pd.DataFrame:
    return raw_frame.loc[:, list(RAW_COLUMNS)]


# The forests below learn a raw column (weight) from the features: any numeric target shows that the fast path is
# exact, and every problem type's sample data has it.


@pytest.fixture(scope="module")
def pipeline(raw: pd.DataFrame) -> Pipeline:
    return build_preprocessor().fit(raw)


def frame(matrix: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(matrix, columns=list(RAW_COLUMNS))


# -- compiled preprocessor -----------------------------------------------------------------------------------------


def test_compiled_preprocessor_equals_the_pipeline_on_every_row(pipeline: Pipeline, raw: pd.DataFrame) -> None:
    compiled = compile_preprocessor(pipeline)
    assert compiled is not None
    matrix = raw.to_numpy(dtype=float)
    assert np.isnan(matrix).any()  # the sample data has missing horsepower values
    np.testing.assert_array_equal(compiled(matrix), pipeline.transform(raw))
    for row in range(len(matrix)):
        np.testing.assert_array_equal(compiled(matrix[row]), pipeline.transform(raw.iloc[[row]]))


def test_compiled_preprocessor_imputes_every_column(pipeline: Pipeline, raw: pd.DataFrame) -> None:
    rows = np.tile(raw.to_numpy(dtype=float)[:1], (len(RAW_COLUMNS) + 1, 1))
    rows[np.arange(len(RAW_COLUMNS)), np.arange(len(RAW_COLUMNS))] = np.nan
    rows[-1] = np.nan
    np.testing.assert_array_equal(compile_preprocessor(pipeline)(rows), pipeline.transform(frame(rows)))


def test_unseen_categories_encode_as_all_zeros(pipeline: Pipeline, raw: pd.DataFrame) -> None:
    rows = raw.to_numpy(dtype=float)[:3].copy()
    rows[:, RAW_COLUMNS.index("cylinders")] = [5.5, 12, -0.0]
    rows[:, RAW_COLUMNS.index("origin")] = [9, 1, 2]
    compiled = compile_preprocessor(pipeline)(rows)
    np.testing.assert_array_equal(compiled, pipeline.transform(frame(rows)))
    one_hot_width = sum(
        len(categories)
        for categories in pipeline.named_steps["columns"]
        .named_transformers_["categorical"]
        .named_steps["encode"]
        .categories_
    )
    assert not compiled[0, -one_hot_width:].any()


def modified(raw: pd.DataFrame, change: str) -> Pipeline:
    pipeline = build_preprocessor()
    columns = pipeline.named_steps["columns"]
    numeric, categorical = columns.transformers[0][1], columns.transformers[1][1]
    if change == "extra step":
        pipeline.steps.append(("identity", FunctionTransformer()))
    elif change == "scaler":
        numeric.steps[1] = ("scale", MinMaxScaler())
    elif change == "drop first":
        categorical.steps[1] = ("encode", OneHotEncoder(drop="first", sparse_output=False))
    elif change == "weights":
        columns.set_params(transformer_weights={"numeric": 2.0, "categorical": 1.0})
    elif change == "indicator":
        numeric.steps[0][1].set_params(add_indicator=True)
    return pipeline.fit(raw)


@pytest.mark.parametrize("change", ["extra step", "scaler", "drop first", "weights", "indicator"])
def test_any_other_structure_keeps_the_sklearn_path(raw: pd.DataFrame, change: str) -> None:
    pipeline = modified(raw, change)
    assert compile_preprocessor(pipeline) is None
    transform, path = raw_transformer(pipeline)
    assert "pipeline.transform" in path
    np.testing.assert_array_equal(transform(raw.to_numpy(dtype=float)[:5]), pipeline.transform(raw.iloc[:5]))


def test_an_unfitted_or_foreign_object_is_not_compiled() -> None:
    assert compile_preprocessor(object()) is None
    assert compile_preprocessor(Pipeline([("scale", MinMaxScaler())])) is None


# -- direct forest prediction --------------------------------------------------------------------------------------


@pytest.mark.parametrize("forest", [RandomForestRegressor, ExtraTreesRegressor])
def test_forest_prediction_equals_predict(pipeline: Pipeline, raw_frame: pd.DataFrame, forest: type) -> None:
    features = pipeline.transform(raw_frame.loc[:, list(RAW_COLUMNS)])
    model = forest(n_estimators=12, max_depth=6, random_state=0).fit(features, raw_frame["weight"])
    expected = model.predict(features)
    assert len(features) > SMALL_BATCH_ROWS  # the per-tree path
    np.testing.assert_allclose(forest_predict(model, features), expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(forest_predict(model, features), expected)
    for start in range(0, len(features), 37):  # the flat walk for small batches, one row included
        np.testing.assert_array_equal(forest_predict(model, features[start : start + 37]), expected[start : start + 37])
    np.testing.assert_array_equal(forest_predict(model, features[5:6]), expected[5:6])
    assert FlatForest.of(model) is FlatForest.of(model)
    fast = fast_predict(model)
    assert fast != model.predict  # the self-check passed: the fast path serves
    np.testing.assert_array_equal(fast(features), expected)


def test_other_models_use_their_predict(pipeline: Pipeline, raw_frame: pd.DataFrame) -> None:
    features = pipeline.transform(raw_frame.loc[:, list(RAW_COLUMNS)])
    model = GradientBoostingRegressor(n_estimators=5, random_state=0).fit(features, raw_frame["weight"])
    assert fast_predict(model) == model.predict


# -- CSV in and out ------------------------------------------------------------------------------------------------


def decode(body: object, allow_missing: bool = True, width: int | None = 3) -> np.ndarray:
    return serving_io.decode_matrix(body, "text/csv", names=("a", "b", "c"), width=width, allow_missing=allow_missing)


@pytest.mark.parametrize(
    "body",
    [
        "1,2,3\n4,5,6\n",
        b"1,2,3\r\n4,5,6",
        "\n 1 , 2,3\n\n4,5,6\n,,\n",
        '"1",2,3\n4,5,6\n',
        "\ufeff1,2,3\n4,5,6".encode(),
    ],
)
def test_csv_bodies_decode_as_the_row_by_row_path_reads_them(body: object) -> None:
    np.testing.assert_array_equal(decode(body), [[1, 2, 3], [4, 5, 6]])


def test_missing_values_become_nan_only_where_allowed() -> None:
    np.testing.assert_array_equal(decode("1,,3\n?,5, ?\n"), [[1, np.nan, 3], [np.nan, 5, np.nan]])
    with pytest.raises(PayloadError, match=r"row 2, column 1 \(a\): missing value"):
        decode("1,2,3\n?,5,6\n", allow_missing=False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,2,3\n4,nan,6\n", r"row 2, column 2 \(b\): 'nan' is not a finite number"),
        ("1,2,3\n4,5,-inf\n", r"row 2, column 3 \(c\): '-inf' is not a finite number"),
        ("1,2,3\n4,x,6\n", r"row 2, column 2 \(b\): 'x' is not a number"),
        ("1,2,3\n4,5\n", r"row 2 has 2 columns, expected 3 \(a, b, c\)"),
        ("1,2\n4,5,6,7\n", r"row 1 has 2 columns, expected 3"),
        (" \n\n", "empty request body"),
        ("1,2,3\n4,,6\n", None),
    ],
)
def test_bad_csv_gets_the_precise_error(body: str, message: str | None) -> None:
    if message is None:  # no error: missing values are allowed
        assert np.isnan(decode(body)).sum() == 1
        return
    with pytest.raises(PayloadError, match=message) as error:
        decode(body)
    assert error.value.status == 400


def test_without_a_width_every_row_must_still_match() -> None:
    np.testing.assert_array_equal(decode("1,2\n3,4\n", width=None), [[1, 2], [3, 4]])
    with pytest.raises(PayloadError, match="row 2 has 3 columns, expected 2"):
        decode("1,2\n3,4,5\n", width=None)


def test_encode_csv_round_trips_exactly_with_the_shortest_text() -> None:
    values = np.random.default_rng(0).normal(size=(50, 4)) * np.logspace(-300, 300, 4)
    values[0] = [0.0, -0.0, 1.0, 0.1]
    body = serving_io.encode_csv(values)
    assert body.splitlines()[0] == b"0.0,-0.0,1.0,0.1"
    assert body == "".join(",".join(repr(v) for v in row) + "\n" for row in values.tolist()).encode()
    np.testing.assert_array_equal(decode(body, width=4), values)
    assert serving_io.encode_csv([1.5, 2.0]) == b"1.5\n2.0\n"
    assert serving_io.encode_csv(np.empty((0, 3))) == b""


# -- batch transform lines -----------------------------------------------------------------------------------------


def test_plain_lines_refuse_quotes_and_carriage_returns() -> None:
    assert plain_lines([b"1,2", b"3,4"]) == ["1,2", "3,4"]
    assert plain_lines([b'"1",2']) is None
    assert plain_lines([b"1\r2,3"]) is None
    assert plain_lines([b"\xff,1"]) is None


@pytest.mark.parametrize(
    ("path", "lines", "columns"),
    [
        ("$[1:]", ["a,b,c", "d,e,f"], [1, 2]),
        ("$[0,2]", ["a,b,c"], [0, 2]),
        ("$[-2:]", ["a,b,c"], [1, 2]),
        ("$[1]", ["a,b,c"], None),  # one field alone may need quoting
        ("$[1:]", ["a,b,c", "d,e"], None),  # ragged rows
        ("$[5]", ["a,b,c"], None),  # the record-by-record path reports the error
        ("$.key", ["a,b,c"], None),
    ],
)
def test_csv_columns(path: str, lines: list[str], columns: list[int] | None) -> None:
    assert csv_columns(path, lines) == columns
