"""RawColumns: the first step of every preprocessor, which holds the raw column schema inside the fitted pipeline.

It keeps the declared columns in their order and reads each by its kind (tabular), so the pipeline that the
processing job fits on a CSV frame takes request rows at the endpoint as they come: a DataFrame with (at least)
those columns, or rows of raw values in that order. Serving reads the column names from it (`columns`), so the
endpoint needs no config; the fast serving path (fast_sklearn) reads the same attributes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .tabular import typed_columns

EXAMPLES_PER_COLUMN = 8
"""Distinct training values kept per column (examples_), which the fast serving path checks itself on."""


class RawColumns(TransformerMixin, BaseEstimator):
    """`columns`: name -> kind (numeric, categorical, boolean), in the order of request rows; `missing_values`:
    the text that stands for a missing value besides an empty field."""

    def __init__(self, columns: dict[str, str] | None = None, missing_values: tuple[str, ...] = ()) -> None:
        self.columns = columns
        self.missing_values = missing_values

    def fit(self, X: object, y: object = None) -> RawColumns:
        typed = self.typed(X)
        self.n_features_in_ = len(typed)
        self.examples_ = {name: _examples(values) for name, values in typed.items()}
        return self

    def transform(self, X: object) -> pd.DataFrame:
        return pd.DataFrame(self.typed(X), index=X.index if isinstance(X, pd.DataFrame) else None)

    def typed(self, X: object) -> dict[str, np.ndarray]:
        """The declared columns of a DataFrame, or of rows of raw values in their order, read by kind."""
        names = list(self.columns or {})
        if isinstance(X, pd.DataFrame):
            absent = [name for name in names if name not in X.columns]
            if absent:
                raise ValueError(f"missing column(s) {', '.join(map(repr, absent))}")
            rows = X[names].to_numpy(dtype=object)
        else:
            rows = np.asarray(X, dtype=object)
            if rows.ndim != 2 or rows.shape[1] != len(names):
                raise ValueError(f"expected rows of {len(names)} values ({', '.join(names)})")
        return typed_columns(rows, self.columns or {}, self.missing_values)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(list(self.columns or {}), dtype=object)


def _examples(values: np.ndarray) -> list:
    present = [value for value in values if not (isinstance(value, float) and np.isnan(value))]
    distinct = sorted(set(present), key=lambda value: (isinstance(value, str), value))
    step = max(1, len(distinct) // EXAMPLES_PER_COLUMN)
    return distinct[::step][:EXAMPLES_PER_COLUMN]
