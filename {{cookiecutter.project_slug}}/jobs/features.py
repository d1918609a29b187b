"""Feature engineering shared by the processing job and both inference containers.

The custom transformer lives in its own module on purpose (contract §3, the joblib pitfall): a class defined in the
script that pickles it would be saved as `__main__.CarFeatures` and could not be loaded by the model server. Every
script that pickles or unpickles the pipeline imports this module instead.

Runs unchanged on SageMaker's scikit-learn container (sklearn 1.2, Python 3.8+): numpy, pandas, scikit-learn only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

RAW_COLUMNS: tuple[str, ...] = (
    "cylinders",
    "displacement",
    "horsepower",
    "weight",
    "acceleration",
    "model year",
    "origin",
)
"""The raw feature columns, in the order of the CSV rows that the endpoint and the batch transform receive."""

MODEL_YEAR = "model year"
CATEGORICAL_COLUMNS: tuple[str, ...] = ("cylinders", "origin")
NUMERIC_COLUMNS: tuple[str, ...] = ("displacement", "horsepower", "weight", "acceleration", "age")
MISSING_MARKERS: tuple[str, ...] = ("", "?")
"""Text that stands for a missing value in raw rows (the UCI file writes `?` for an unknown horsepower)."""

DEFAULT_REFERENCE_YEAR = 1983


def missing_columns(columns: Iterable[object], required: Sequence[str] = RAW_COLUMNS) -> list[str]:
    """The required columns that `columns` lacks, in the required order."""
    present = {str(column) for column in columns}
    return [column for column in required if column not in present]


def to_raw_frame(data: object) -> pd.DataFrame:
    """A DataFrame with exactly the raw columns (extra columns dropped); a 2-D array is read in RAW_COLUMNS order."""
    if isinstance(data, pd.DataFrame):
        absent = missing_columns(data.columns)
        if absent:
            raise ValueError(f"missing raw feature columns: {', '.join(absent)}")
        return data.loc[:, list(RAW_COLUMNS)].copy()
    matrix = np.asarray(data, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != len(RAW_COLUMNS):
        raise ValueError(f"expected rows of {len(RAW_COLUMNS)} raw features ({', '.join(RAW_COLUMNS)})")
    return pd.DataFrame(matrix, columns=list(RAW_COLUMNS))


def _category_labels(values: pd.Series) -> pd.Series:
    """Numeric codes -> string labels ("8", "1"); missing stays NaN so that the imputer sees it."""
    labels = [np.nan if pd.isna(value) else format(float(value), "g") for value in values]
    return pd.Series(labels, index=values.index, dtype=object)


class CarFeatures(BaseEstimator, TransformerMixin):
    """Raw Auto MPG columns -> model-ready columns.

    - `age` = reference year - model year (two-digit years such as 70 are read as 1970);
    - `cylinders` and `origin` become categorical string labels;
    - the numeric columns are kept as floats; missing values stay NaN for the imputers that follow.
    """

    def __init__(self, reference_year: int = DEFAULT_REFERENCE_YEAR) -> None:
        self.reference_year = reference_year

    def fit(self, X: object, y: object = None) -> CarFeatures:
        to_raw_frame(X)
        self.n_features_in_ = len(RAW_COLUMNS)
        return self

    def transform(self, X: object) -> pd.DataFrame:
        raw = to_raw_frame(X).apply(pd.to_numeric)
        years = raw[MODEL_YEAR].where(raw[MODEL_YEAR] >= 100, raw[MODEL_YEAR] + 1900)
        features = pd.DataFrame(index=raw.index)
        for column in NUMERIC_COLUMNS:
            source = self.reference_year - years if column == "age" else raw[column]
            features[column] = source.astype(float)
        for column in CATEGORICAL_COLUMNS:
            features[column] = _category_labels(raw[column])
        return features

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(NUMERIC_COLUMNS + CATEGORICAL_COLUMNS, dtype=object)


def build_preprocessor(columns: Sequence[str] = RAW_COLUMNS) -> Pipeline:
    """The unfitted preprocessing pipeline: CarFeatures, then imputation, scaling and one-hot encoding.

    `columns` are the raw input columns; they must include every column of RAW_COLUMNS (the transformer's contract).
    """
    absent = missing_columns(columns)
    if absent:
        raise ValueError(f"the preprocessor needs the columns {', '.join(absent)}")
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    columns_step = ColumnTransformer(
        [("numeric", numeric, list(NUMERIC_COLUMNS)), ("categorical", categorical, list(CATEGORICAL_COLUMNS))]
    )
    return Pipeline([("car_features", CarFeatures()), ("columns", columns_step)])


def read_raw_csv(source: object) -> pd.DataFrame:
    """Read a raw CSV with a header row; `?` and empty fields become NaN."""
    return pd.read_csv(source, na_values=list(MISSING_MARKERS), keep_default_na=True, skipinitialspace=True)


def numeric_problems(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """One line per column holding text that is neither a number nor a missing marker (first bad rows shown)."""
    problems = []
    for column in columns:
        original = frame[column]
        parsed = pd.to_numeric(original, errors="coerce")
        bad = original[parsed.isna() & original.notna()]
        if not bad.empty:
            shown = ", ".join(f"row {index + 2}: {value!r}" for index, value in bad.head(3).items())
            problems.append(f"column {column!r} is not numeric ({shown})")
    return problems
