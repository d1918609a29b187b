"""Feature engineering shared by the processing job and both inference containers.

The custom transformer lives in its own module on purpose (contract §3, the joblib pitfall): a class defined in the
script that pickles it would be saved as `__main__.CarFeatures` and could not be loaded by the model server. Every
script that pickles or unpickles the pipeline imports this module instead.

Runs unchanged on SageMaker's scikit-learn container (sklearn 1.2, Python 3.8+): numpy, pandas, scikit-learn only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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


def category_labels(values: np.ndarray) -> np.ndarray:
    """Numeric codes -> string labels ("8", "1"); missing stays NaN so that the imputer sees it."""
    # unique bit patterns, so that -0.0 keeps its own label "-0" as format() gives it
    bits, inverse = np.unique(np.ascontiguousarray(values, dtype=float).view(np.int64), return_inverse=True)
    uniques = bits.view(float).tolist()
    labels = np.array([np.nan if np.isnan(value) else format(value, "g") for value in uniques], dtype=object)
    return labels[inverse.reshape(-1)]


def raw_matrix(data: object) -> np.ndarray:
    """The raw columns as a float matrix in RAW_COLUMNS order (text such as "8" read as numbers)."""
    frame = to_raw_frame(data)
    try:
        return frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        return frame.apply(pd.to_numeric).to_numpy(dtype=float)


def car_columns(raw: np.ndarray, reference_year: float) -> dict[str, np.ndarray]:
    """CarFeatures' output columns as float arrays (the categorical ones still numeric codes) from a raw matrix."""
    columns = {name: raw[:, position] for position, name in enumerate(RAW_COLUMNS)}
    years = columns[MODEL_YEAR]
    columns["age"] = reference_year - np.where(years >= 100, years, years + 1900)
    return {name: columns[name] for name in NUMERIC_COLUMNS + CATEGORICAL_COLUMNS}


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
        index = X.index if isinstance(X, pd.DataFrame) else None
        columns = car_columns(raw_matrix(X), self.reference_year)
        for column in CATEGORICAL_COLUMNS:
            columns[column] = category_labels(columns[column])
        return pd.DataFrame(columns, index=index)

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


def read_raw_csv(source: object, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a raw CSV with a header row; `?` and empty fields become NaN; `text_columns` (class labels) stay text."""
    return pd.read_csv(
        source,
        na_values=list(MISSING_MARKERS),
        keep_default_na=True,
        skipinitialspace=True,
        dtype={column: str for column in text_columns} or None,
    )


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


# -- fast exact path for serving -----------------------------------------------------------------------------------


def raw_transformer(pipeline: Pipeline) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The function that serving applies to raw matrices, and which path it is (for the container log)."""
    fast = compile_preprocessor(pipeline)
    if fast is not None:
        return fast, "the fast numpy path (compile_preprocessor)"

    def transform(raw: np.ndarray) -> np.ndarray:
        return np.asarray(pipeline.transform(to_raw_frame(raw)), dtype=float)

    return transform, "pipeline.transform (the pipeline is not the default structure)"


def compile_preprocessor(pipeline: object) -> Callable[[np.ndarray], np.ndarray] | None:
    """A pure-numpy function equal to `pipeline.transform` on raw rows (float matrix in RAW_COLUMNS order, NaN =
    missing), read from the fitted attributes of the default structure (build_preprocessor). Any other structure
    returns None: the caller keeps `pipeline.transform`, which is correct, only slower (sklearn's per-call overhead).
    """
    if not (
        isinstance(pipeline, Pipeline)
        and [type(step) for _, step in pipeline.steps] == [CarFeatures, ColumnTransformer]
    ):
        return None
    car, columns_step = pipeline.steps[0][1], pipeline.steps[1][1]
    if getattr(columns_step, "sparse_output_", True) or columns_step.transformer_weights:
        return None
    blocks = []
    for _, transformer, names in columns_step.transformers_:
        if isinstance(transformer, str) and (transformer == "drop" or not len(names)):
            continue
        block = _compile_block(transformer, names)
        if block is None:
            return None
        blocks.append(block)
    if not blocks:
        return None

    def transform(raw: np.ndarray) -> np.ndarray:
        columns = car_columns(np.asarray(raw, dtype=float).reshape(-1, len(RAW_COLUMNS)), car.reference_year)
        return np.hstack([block(columns) for block in blocks])

    return transform


def _compile_block(transformer: object, names: object) -> Callable[[dict[str, np.ndarray]], np.ndarray] | None:
    """One ColumnTransformer entry: numeric (impute + scale) or categorical (impute + one-hot); else None."""
    known = NUMERIC_COLUMNS + CATEGORICAL_COLUMNS
    if not (isinstance(names, list) and names and all(isinstance(n, str) and n in known for n in names)):
        return None
    if not isinstance(transformer, Pipeline) or len(transformer.steps) != 2:
        return None
    imputer, last = transformer.steps[0][1], transformer.steps[1][1]
    if type(imputer) is not SimpleImputer or imputer.add_indicator or not _is_nan(imputer.missing_values):
        return None
    fill = imputer.statistics_
    if type(last) is StandardScaler and set(names) <= set(NUMERIC_COLUMNS):
        finite = fill.dtype.kind == "f" and np.isfinite(fill).all()
        return _numeric_block(names, fill, last) if finite else None
    if type(last) is OneHotEncoder and set(names) <= set(CATEGORICAL_COLUMNS) and _plain_one_hot(last):
        labels = all(isinstance(value, str) for value in fill)
        return _categorical_block(names, list(fill), last.categories_) if labels else None
    return None


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _plain_one_hot(encoder: OneHotEncoder) -> bool:
    return (
        encoder.handle_unknown == "ignore"
        and encoder.drop_idx_ is None
        and encoder.max_categories is None
        and encoder.min_frequency is None
    )


def _numeric_block(names: list[str], fill: np.ndarray, scaler: StandardScaler) -> Callable:
    mean = scaler.mean_ if scaler.with_mean else 0.0
    scale = scaler.scale_ if scaler.with_std else 1.0

    def numeric(columns: dict[str, np.ndarray]) -> np.ndarray:
        values = np.column_stack([columns[name] for name in names])
        values = np.where(np.isnan(values), fill, values)
        return (values - mean) / scale

    return numeric


def _categorical_block(names: list[str], fill: list[str], categories: list[np.ndarray]) -> Callable:
    def categorical(columns: dict[str, np.ndarray]) -> np.ndarray:
        parts = []
        for position, name in enumerate(names):
            labels = category_labels(columns[name])
            labels[np.isnan(columns[name])] = fill[position]
            parts.append(labels[:, None] == categories[position][None, :])
        return np.hstack(parts).astype(float)

    return categorical
