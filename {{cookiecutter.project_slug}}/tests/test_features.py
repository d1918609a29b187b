"""The custom transformer and the preprocessing pipeline (jobs/features.py)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from features import (
    CATEGORICAL_COLUMNS,
    NUMERIC_COLUMNS,
    RAW_COLUMNS,
    CarFeatures,
    build_preprocessor,
    numeric_problems,
    read_raw_csv,
    to_raw_frame,
)


def frame(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS))


def test_raw_columns_match_the_config(config) -> None:
    assert list(RAW_COLUMNS) == list(config.data.columns)


def test_read_raw_csv_turns_question_marks_and_empty_fields_into_nan(raw_frame: pd.DataFrame) -> None:
    text = "mpg,cylinders,horsepower\n18,8,?\n15,8,\n16,8,150\n"
    parsed = read_raw_csv(io.StringIO(text))
    assert parsed["horsepower"].isna().tolist() == [True, True, False]
    assert raw_frame["horsepower"].isna().sum() == 6
    assert len(raw_frame) == 398


def test_age_replaces_the_model_year() -> None:
    out = CarFeatures().transform(frame([[8, 307, 130, 3504, 12, 70, 1], [4, 97, 88, 2130, 14.5, 82, 3]]))
    assert out["age"].tolist() == [13.0, 1.0]
    assert "model year" not in out.columns
    four_digit = CarFeatures(reference_year=2000).transform(frame([[4, 97, 88, 2130, 14.5, 1975, 3]]))
    assert four_digit["age"].tolist() == [25.0]


def test_cylinders_and_origin_become_category_labels() -> None:
    out = CarFeatures().transform(frame([[8, 307, 130, 3504, 12, 70, 1], [np.nan, 97, 88, 2130, 14.5, 82, 3.0]]))
    assert list(out.columns) == [*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS]
    assert out["cylinders"].iloc[0] == "8"
    assert pd.isna(out["cylinders"].iloc[1])
    assert out["origin"].tolist() == ["1", "3"]
    assert out["weight"].dtype == float


def test_a_missing_raw_column_is_named() -> None:
    with pytest.raises(ValueError, match="horsepower"):
        CarFeatures().fit(frame([[8, 307, 130, 3504, 12, 70, 1]]).drop(columns="horsepower"))
    with pytest.raises(ValueError, match="origin"):
        build_preprocessor(RAW_COLUMNS[:-1])


def test_arrays_are_read_in_raw_column_order() -> None:
    converted = to_raw_frame(np.array([[8, 307, 130, 3504, 12, 70, 1]]))
    assert list(converted.columns) == list(RAW_COLUMNS)
    with pytest.raises(ValueError, match="7 raw features"):
        to_raw_frame(np.ones((1, 6)))


def test_pipeline_imputes_scales_and_one_hot_encodes(raw_frame: pd.DataFrame) -> None:
    raw = raw_frame[list(RAW_COLUMNS)]
    pipeline = build_preprocessor().fit(raw)
    matrix = pipeline.transform(raw)
    n_categories = raw["cylinders"].nunique() + raw["origin"].nunique()
    assert matrix.shape == (len(raw), len(NUMERIC_COLUMNS) + n_categories)
    assert not np.isnan(matrix).any()
    np.testing.assert_allclose(matrix[:, : len(NUMERIC_COLUMNS)].mean(axis=0), 0, atol=1e-9)
    one_hot = matrix[:, len(NUMERIC_COLUMNS) :]
    assert set(np.unique(one_hot)) == {0.0, 1.0}
    assert (one_hot.sum(axis=1) == 2).all()  # exactly one cylinders and one origin category per row
    names = list(pipeline.get_feature_names_out())
    assert names[0] == "numeric__displacement" and "categorical__cylinders_8" in names


def test_missing_horsepower_gets_the_training_median(raw_frame: pd.DataFrame) -> None:
    raw = raw_frame[list(RAW_COLUMNS)]
    pipeline = build_preprocessor().fit(raw)
    median = raw["horsepower"].median()
    row = raw.iloc[[0]].copy()
    row["horsepower"] = np.nan
    scaler = pipeline.named_steps["columns"].named_transformers_["numeric"].named_steps["scale"]
    column = NUMERIC_COLUMNS.index("horsepower")
    expected = (median - scaler.mean_[column]) / scaler.scale_[column]
    assert pipeline.transform(row)[0, column] == pytest.approx(expected)


def test_unknown_categories_are_ignored(raw_frame: pd.DataFrame) -> None:
    pipeline = build_preprocessor().fit(raw_frame[list(RAW_COLUMNS)])
    matrix = pipeline.transform(frame([[7, 200, 100, 3000, 15, 76, 9]]))
    assert matrix[0, len(NUMERIC_COLUMNS) :].sum() == 0


def test_statistics_come_from_the_fitted_rows_only(raw_frame: pd.DataFrame) -> None:
    """No leakage: what the pipeline learns (medians, means, categories) is the training rows' alone."""
    raw = raw_frame[list(RAW_COLUMNS)]
    train, rest = raw.iloc[:200], raw.iloc[200:]
    pipeline = build_preprocessor().fit(train)
    numeric = pipeline.named_steps["columns"].named_transformers_["numeric"]
    features = CarFeatures().transform(train)
    imputed = features[list(NUMERIC_COLUMNS)].fillna(features[list(NUMERIC_COLUMNS)].median())
    np.testing.assert_allclose(numeric.named_steps["impute"].statistics_, features[list(NUMERIC_COLUMNS)].median())
    np.testing.assert_allclose(numeric.named_steps["scale"].mean_, imputed.mean())
    assert not np.allclose(
        numeric.named_steps["scale"].mean_, CarFeatures().transform(raw)[list(NUMERIC_COLUMNS)].mean()
    )
    transformed_rest = pipeline.transform(rest)[:, : len(NUMERIC_COLUMNS)]
    assert np.abs(transformed_rest.mean(axis=0)).max() > 0.1


def test_numeric_problems_name_the_column_and_row() -> None:
    data = pd.DataFrame({"mpg": ["18", "x"], "weight": ["3504", "3693"]})
    assert numeric_problems(data, ["mpg", "weight"]) == ["column 'mpg' is not numeric (row 3: 'x')"]
