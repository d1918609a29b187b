"""The preprocessing pipeline built from the column schema (jobs/features.py), and the example custom transformer
of the sample data (jobs/car_features.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from car_features import CarFeatures
from features import DataSchema, SchemaError, build_preprocessor
from sm_runtime.tabular import ColumnValueError

SCHEMA = DataSchema(
    columns={"size": "numeric", "colour": "categorical", "member": "boolean", "weight": "numeric"},
    missing_values=("", "?"),
)
TRAIN = pd.DataFrame(
    {
        "size": ["1", "2", "?", "5", "7", "8"],
        "colour": ["red", "blue", "red", "", "green", "red"],
        "member": ["yes", "no", "Y", "false", "", "1"],
        "weight": ["10", "20", "30", "40", "50", "60"],
        "id": ["a", "b", "c", "d", "e", "f"],
    }
)


def test_numeric_columns_are_imputed_with_the_median_and_scaled() -> None:
    matrix = build_preprocessor(SCHEMA).fit(TRAIN).transform(TRAIN)
    assert matrix.shape == (6, 2 + 3 + 1)  # size, weight | blue, green, red | member
    np.testing.assert_allclose(matrix[:, :2].mean(axis=0), 0, atol=1e-12)
    sizes = np.array([1, 2, 5, 5, 7, 8.0])  # ? -> the median of the known sizes, 5
    np.testing.assert_allclose(matrix[:, 0], (sizes - sizes.mean()) / sizes.std())


def test_categories_are_one_hot_encoded_and_an_unseen_one_is_all_zeros() -> None:
    pipeline = build_preprocessor(SCHEMA).fit(TRAIN)
    one_hot = pipeline.transform(TRAIN)[:, 2:5]
    np.testing.assert_array_equal(one_hot.argmax(axis=1), [2, 0, 2, 2, 1, 2])  # the missing colour -> red
    unseen = pipeline.transform(pd.DataFrame([["3", "purple", "no", "15"]], columns=list(SCHEMA.columns)))
    assert unseen[0, 2:5].tolist() == [0.0, 0.0, 0.0]


def test_booleans_read_any_spelling_and_missing_ones_take_the_most_frequent() -> None:
    matrix = build_preprocessor(SCHEMA).fit(TRAIN).transform(TRAIN)
    assert matrix[:, 5].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]


def test_numbers_and_their_text_are_the_same_category() -> None:
    schema = DataSchema(columns={"code": "categorical"})
    pipeline = build_preprocessor(schema).fit(pd.DataFrame({"code": ["4", "6", "8"]}))
    np.testing.assert_array_equal(pipeline.transform([[8], ["8.0"], [" 8"]]), [[0, 0, 1]] * 3)


def test_statistics_come_from_the_fitted_rows_only() -> None:
    """No leakage: what the pipeline learns (medians, means, categories) is the fitted rows' alone."""
    pipeline = build_preprocessor(SCHEMA).fit(TRAIN.iloc[:3])
    numeric = pipeline.named_steps["columns"].named_transformers_["numeric"]
    np.testing.assert_allclose(numeric.named_steps["impute"].statistics_, [1.5, 20])
    matrix = pipeline.transform(TRAIN)
    assert matrix.shape == (6, 2 + 2 + 1)  # only blue and red were seen
    assert matrix[4, 2:4].tolist() == [0.0, 0.0]  # green


def test_values_that_do_not_fit_their_kind_name_the_column() -> None:
    pipeline = build_preprocessor(SCHEMA).fit(TRAIN)
    with pytest.raises(ColumnValueError, match=r"row 1, column 'member': 'maybe' is not a boolean"):
        pipeline.transform([["1", "red", "maybe", "3"]])
    with pytest.raises(ColumnValueError, match=r"column 'size': 'big' is not a number"):
        pipeline.transform([["big", "red", "no", "3"]])


def test_a_custom_transformer_replaces_what_it_consumes_with_what_it_produces() -> None:
    schema = DataSchema(
        columns={"model year": "numeric", "weight": "numeric"}, transformers=("car_features.CarFeatures",)
    )
    frame = pd.DataFrame({"model year": ["70", "82", "1975"], "weight": ["1", "2", "3"]})
    pipeline = build_preprocessor(schema).fit(frame)
    assert pipeline.named_steps["columns"].transformers_[0][2] == ["weight", "age"]
    ages = pipeline.named_steps["car_features.CarFeatures"].transform(pipeline.steps[0][1].transform(frame))["age"]
    assert ages.tolist() == [13.0, 1.0, 8.0]  # 1983 - the year; two-digit years are 19xx
    assert CarFeatures(reference_year=2000).transform(pd.DataFrame({"model year": [75.0]}))["age"].tolist() == [25.0]


@pytest.mark.parametrize(
    ("transformers", "message"),
    [
        (("nowhere.Missing",), "cannot load 'nowhere.Missing'"),
        (("features.DataSchema",), "needs the class attributes `consumes`"),
    ],
)
def test_a_custom_transformer_that_cannot_be_used_says_why(transformers: tuple[str, ...], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        build_preprocessor(DataSchema(columns={"a": "numeric"}, transformers=transformers))


def test_a_consumed_column_must_be_declared() -> None:
    with pytest.raises(SchemaError, match=r"consumes 'model year', not in data\.columns"):
        build_preprocessor(DataSchema(columns={"a": "numeric"}, transformers=("car_features.CarFeatures",)))
