"""The exact fast paths of serving: compiled preprocessing, direct forest prediction, vectorised CSV in and out, and
the batch transform's whole-line filter and join."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler

from sm_engine.local.transform import TransformError, csv_columns, output_lines, plain_lines, selected_fields
from sm_runtime import serving_io
from sm_runtime.fast_sklearn import (
    SMALL_BATCH_ROWS,
    FlatForest,
    check_rows,
    compile_preprocessor,
    fast_predict,
    forest_predict,
    raw_preprocessor,
)
from sm_runtime.raw_columns import RawColumns
from sm_runtime.serving_io import PayloadError
from sm_runtime.tabular import ColumnValueError, column_values

COLUMNS = {"size": "numeric", "city": "categorical", "member": "boolean", "year": "numeric", "code": "categorical"}


def raw_rows(count: int = 200, seed: int = 0) -> list[list[object]]:
    """Rows as requests send them: text, with missing values (empty, `?`) in every column."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        row = [
            f"{rng.normal(10, 3):.3f}",
            ["Paris", "Oslo", "Lima", "Rome"][index % 4],
            ["yes", "no", "TRUE", "0"][index % 4],
            str(1970 + index % 13),
            str(index % 5),
        ]
        row[index % 5] = "?" if index % 2 else ""
        rows.append(row)
    return rows


class Age(TransformerMixin, BaseEstimator):
    """A custom step as a project writes one: it reads `year` and adds `age`."""

    def fit(self, X: pd.DataFrame, y: object = None) -> Age:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.assign(age=2000 - X["year"])


def build(custom: bool = True, change: str = "") -> Pipeline:
    """The structure features.py builds: RawColumns, a custom step, then the numeric, categorical and boolean blocks."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    encode = OneHotEncoder(
        handle_unknown="ignore", sparse_output=False, drop="first" if change == "drop first" else None
    )
    categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("encode", encode)])
    if change == "scaler":
        numeric.steps[1] = ("scale", MinMaxScaler())
    if change == "indicator":
        numeric.steps[0][1].set_params(add_indicator=True)
    blocks = [
        ("numeric", numeric, ["size", "age"] if custom else ["size", "year"]),
        ("categorical", categorical, ["city", "code"]),
        ("boolean", SimpleImputer(strategy="most_frequent"), ["member"]),
    ]
    weights = {"numeric": 2.0} if change == "weights" else None
    steps = [("raw_columns", RawColumns(COLUMNS, ("?",))), *([("age", Age())] if custom else [])]
    steps.append(("columns", ColumnTransformer(blocks, transformer_weights=weights)))
    if change == "extra step":
        steps.append(("identity", FunctionTransformer()))
    return Pipeline(steps).fit(pd.DataFrame(raw_rows(), columns=list(COLUMNS)))


# -- compiled preprocessor -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("custom", [True, False])
def test_compiled_preprocessor_equals_the_pipeline_on_every_row(custom: bool) -> None:
    pipeline = build(custom)
    compiled, reason = compile_preprocessor(pipeline)
    assert compiled is not None, reason
    rows = raw_rows(60, seed=1)
    np.testing.assert_array_equal(compiled(rows), pipeline.transform(rows))
    for row in rows[:20]:
        np.testing.assert_array_equal(compiled([row]), pipeline.transform([row]))
    served = raw_preprocessor(pipeline)
    assert served.columns == tuple(COLUMNS)
    assert served.transform.__name__ == "transform"  # the compiled function passed its self-check


def test_the_self_check_covers_examples_missing_values_and_unseen_categories() -> None:
    pipeline = build()
    rows = check_rows(pipeline.steps[0][1])
    for position, (name, kind) in enumerate(COLUMNS.items()):
        values = {row[position] for row in rows}
        assert "" in values
        assert ("an unseen category" in values) == (kind == "categorical"), name
        assert len(values) >= 3  # two examples at least, and a missing value
    compiled, _ = compile_preprocessor(pipeline)
    np.testing.assert_array_equal(compiled(rows), pipeline.transform(rows))


def test_categories_given_as_numbers_or_text_encode_alike_and_unseen_ones_as_zeros() -> None:
    pipeline = build()
    compiled, _ = compile_preprocessor(pipeline)
    alike = [["1", "Oslo", "yes", "1980", "3"], [1, "Oslo", True, 1980, 3.0], ["1.0", " Oslo", "Y", "1980", "3"]]
    np.testing.assert_array_equal(compiled(alike)[1:], compiled(alike)[:1].repeat(2, axis=0))
    unseen = compiled([["1", "Atlantis", "no", "1980", "99"]])
    np.testing.assert_array_equal(unseen, pipeline.transform([["1", "Atlantis", "no", "1980", "99"]]))
    assert unseen[0, 2:].tolist() == [0.0] * 9  # the 4 cities and 4 codes seen in training, then member = no


def test_a_value_its_kind_cannot_read_is_named_by_both_paths() -> None:
    pipeline = build()
    compiled, _ = compile_preprocessor(pipeline)
    for transform in (compiled, pipeline.transform):
        with pytest.raises(ColumnValueError, match=r"row 1, column 'member': 'maybe' is not a boolean"):
            transform([["1", "Oslo", "maybe", "1980", "3"]])


@pytest.mark.parametrize("change", ["extra step", "scaler", "drop first", "weights", "indicator"])
def test_any_other_structure_keeps_the_sklearn_path(change: str, capsys) -> None:
    pipeline = build(change=change)
    compiled, reason = compile_preprocessor(pipeline)
    assert compiled is None and reason
    served = raw_preprocessor(pipeline)
    assert "pipeline.transform is used" in capsys.readouterr().err
    rows = raw_rows(5, seed=2)
    np.testing.assert_array_equal(served.transform(rows), pipeline.transform(rows))


def test_a_custom_step_that_fails_the_self_check_keeps_the_sklearn_path(capsys) -> None:
    pipeline = build()
    pipeline.steps[1][1].transform = lambda frame: frame.assign(age=frame["year"].astype(int))  # NaN: no int
    served = raw_preprocessor(pipeline)
    assert "the self-check failed" in capsys.readouterr().err
    assert served.columns == tuple(COLUMNS)


class DeclaredAge(Age):
    """Age with the declarations of the jobs/ contract: what it reads and what it adds."""

    consumes = ("year",)
    produces = {"age": "numeric"}  # noqa: RUF012 (the contract's class attribute)


class MisdeclaredAge(DeclaredAge):
    """Reads `size` too, which it does not declare."""

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.assign(age=2000 - X["year"] + 0 * X["size"].fillna(0))


@pytest.mark.parametrize(("step", "narrow"), [(DeclaredAge, True), (MisdeclaredAge, False)])
def test_a_declared_custom_step_sees_only_what_it_consumes_when_that_is_exact(step: type, narrow: bool, capsys) -> None:
    """A step that declares `consumes` and `produces` runs on a frame of only its columns (a fraction of a one-row
    request's cost); one that reads more fails that self-check and runs on every column, with the same results."""
    pipeline = build()
    pipeline.steps[1] = ("age", step())
    served = raw_preprocessor(pipeline)
    log = capsys.readouterr().err
    assert "the compiled numpy path is used" in log
    assert ("on the columns they consume" in log) == narrow
    rows = raw_rows(40, seed=3)
    np.testing.assert_array_equal(served.transform(rows), pipeline.transform(rows))
    for row in rows[:10]:
        np.testing.assert_array_equal(served.transform([row]), pipeline.transform([row]))


def test_a_pipeline_without_raw_columns_is_refused() -> None:
    with pytest.raises(TypeError, match="first step is RawColumns"):
        raw_preprocessor(Pipeline([("scale", MinMaxScaler())]))


# -- direct forest prediction --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    return build().transform(raw_rows())


@pytest.mark.parametrize("forest", [RandomForestRegressor, ExtraTreesRegressor])
def test_forest_prediction_equals_predict(features: np.ndarray, forest: type) -> None:
    model = forest(n_estimators=12, max_depth=6, random_state=0).fit(features, features[:, 0] ** 2)
    expected = model.predict(features)
    assert len(features) > SMALL_BATCH_ROWS  # the per-tree path
    np.testing.assert_array_equal(forest_predict(model, features), expected)
    for start in range(0, len(features), 37):  # the flat walk for small batches, one row included
        np.testing.assert_array_equal(forest_predict(model, features[start : start + 37]), expected[start : start + 37])
    np.testing.assert_array_equal(forest_predict(model, features[5:6]), expected[5:6])
    assert FlatForest.of(model) is FlatForest.of(model)
    fast = fast_predict(model)
    assert fast != model.predict  # the self-check passed: the fast path serves
    np.testing.assert_array_equal(fast(features), expected)


def test_other_models_use_their_predict(features: np.ndarray) -> None:
    model = GradientBoostingRegressor(n_estimators=5, random_state=0).fit(features, features[:, 0])
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
        ("1,2,3\n4,5\n", r"row 2 has 2 values, expected 3: a, b, c, in this order"),
        ("1,2\n4,5,6,7\n", r"row 1 has 2 values, expected 3"),
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
    with pytest.raises(PayloadError, match="row 2 has 3 values, expected 2"):
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


def test_a_feature_matrix_passes_exactly_as_npy() -> None:
    """The pipeline's hop: encode_features writes .npy when asked, decode_matrix reads it back bit for bit."""
    values = np.random.default_rng(1).normal(size=(20, 3)) * 1e-7
    body, content_type = serving_io.encode_features(values, serving_io.NPY)
    assert content_type == "application/x-npy"
    np.testing.assert_array_equal(serving_io.decode_matrix(body, content_type, width=3), values)
    assert serving_io.encode_features(values[:1], "text/csv")[0] == serving_io.encode_csv(values[:1])
    assert serving_io.encode_features([[1.0]], None) == (b'{"instances": [[1.0]]}', "application/json")
    with pytest.raises(PayloadError, match="ask for text/csv or application/json"):
        serving_io.encode_prediction(np.ones(2), serving_io.NPY)  # predictions stay text


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.ones((2, 4)), "row 1 has 4 values, expected 3"),
        (np.array([[1.0, np.inf, 2.0]]), r"row 1, column 2 \(b\): inf is not a finite number"),
        (np.array([["a", "b", "c"]]), "real numbers"),
        (np.ones((2, 2, 3)), "real numbers"),
        (None, "malformed application/x-npy"),
    ],
)
def test_a_bad_npy_body_is_a_400(array: np.ndarray | None, message: str) -> None:
    body = serving_io.encode_npy(np.zeros(1))[:20] if array is None else _npy(array)
    with pytest.raises(PayloadError, match=message) as error:
        serving_io.decode_matrix(body, serving_io.NPY, names=("a", "b", "c"), width=3)
    assert error.value.status == 400


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_npy_keeps_missing_values_only_where_allowed_and_never_raw_rows() -> None:
    body = _npy(np.array([[1.0, np.nan, 2.0]]))
    assert np.isnan(serving_io.decode_matrix(body, serving_io.NPY, allow_missing=True)).sum() == 1
    with pytest.raises(PayloadError, match="not a finite number"):
        serving_io.decode_matrix(body, serving_io.NPY)
    with pytest.raises(PayloadError, match="unsupported content type 'application/x-npy' for raw rows") as error:
        serving_io.decode_rows(body, serving_io.NPY)
    assert error.value.status == 415


def test_plain_csv_rows_are_read_in_bulk_as_the_csv_module_reads_them() -> None:
    text = "".join(",".join(row) + "\n" for row in raw_rows(50)) + "\n , ,,, \n"
    bulk = serving_io.decode_rows(text, "text/csv")
    assert isinstance(bulk, np.ndarray) and bulk.shape == (50, 5)
    assert bulk.tolist() == serving_io.decode_rows(text + '"quoted",1,2,3,4\n', "text/csv")[:50]
    spaced = serving_io.decode_rows(" 1 ,a\n2,\tb \n", "text/csv")
    assert spaced.tolist() == [["1", "a"], ["2", "b"]]
    preprocessor = raw_preprocessor(build())
    np.testing.assert_array_equal(preprocessor.transform(bulk), preprocessor.transform(raw_rows(50)))


def test_a_numeric_column_with_missing_markers_is_read_in_bulk_as_value_by_value() -> None:
    values = np.array([" 1.5", "?", "", "2", "NA "], dtype=object)
    read = column_values(values, "numeric", "size", ("?", "NA"))
    np.testing.assert_array_equal(read, [1.5, np.nan, np.nan, 2.0, np.nan])
    for bad, problem in [("nan", "is not a finite number"), ("x", "is not a number")]:
        with pytest.raises(ColumnValueError, match=problem):
            column_values(np.array(["1", "?", bad], dtype=object), "numeric", "size", ("?",))


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (",2,3\n4,5,6\n", [["", "2", "3"], ["4", "5", "6"]]),
        ("1,2,3\n ,5,6", [["1", "2", "3"], ["", "5", "6"]]),
        ("1,2,3\n,,\n \n4,5,6\n", [["1", "2", "3"], ["4", "5", "6"]]),
    ],
)
def test_csv_lines_that_start_with_a_comma_or_space_are_read_in_bulk_too(text: str, rows: list[list[str]]) -> None:
    bulk = serving_io.decode_rows(text, "text/csv")
    assert isinstance(bulk, np.ndarray) and bulk.tolist() == rows


def test_text_categories_and_booleans_are_read_once_each_and_errors_name_the_first_bad_row() -> None:
    categories = column_values(np.array(["8", " a ", "8.0", "?", "a", ""], dtype=object), "categorical", "c", ("?",))
    assert categories.tolist()[:3] == ["8", "a", "8"] and categories[4] == "a"
    assert np.isnan(categories[3]) and np.isnan(categories[5])
    flags = column_values(np.array(["yes", "N", "yes", "?"], dtype=object), "boolean", "b", ("?",))
    np.testing.assert_array_equal(flags, [1.0, 0.0, 1.0, np.nan])
    with pytest.raises(ColumnValueError, match=r"row 2, column 'b': 'maybe'"):
        column_values(np.array(["yes", "maybe", "x", "maybe"], dtype=object), "boolean", "b", ())


# -- batch transform lines -----------------------------------------------------------------------------------------


def test_plain_lines_refuse_quotes_carriage_returns_and_blank_lines() -> None:
    assert plain_lines(b"1,2\n3,4\n") == plain_lines(b"1,2\n3,4") == ["1,2", "3,4"]
    for data in (b'"1",2', b"1\r2,3", b"\xff,1", b"1,2\n\n3,4", b"1,2\n \n3,4", b"", b"\n"):
        assert plain_lines(data) is None


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


@pytest.mark.parametrize("columns", [[1, 2, 3], [0, 1], [1, 2], [0, 1, 2, 3], [0, 2], [3, 1]])
def test_selected_fields_are_the_columns_of_every_line(columns: list[int]) -> None:
    lines = ["a,b,c,d", "e,,g,h", ",j,k,"]
    assert selected_fields(lines, columns) == [",".join(line.split(",")[c] for c in columns) for line in lines]


@pytest.mark.parametrize("text", ["1\n2\n", "1\n2", "1\n\n2\n", " 1\n2\n \n", "1\r\n2\r\n", "\n1\n2", "1\x0c2"])
def test_output_lines_are_the_non_blank_lines(text: str) -> None:
    expected = [line for line in text.splitlines() if line.strip()]
    assert output_lines(text, len(expected)) == expected
    with pytest.raises(TransformError, match="output records"):
        output_lines(text, len(expected) + 1)
