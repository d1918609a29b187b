"""The preprocessing pipeline, built from the column schema of config/project.yaml (`data:`, data_schema.json).

build_preprocessor(schema) gives an unfitted scikit-learn Pipeline:
1. RawColumns (sm_runtime): the declared columns in their order, each read by its kind; serving reads the column
   names from this step of the fitted pipeline, so the endpoint needs no config;
2. the custom transformers of data.transformers, in order (car_features.py is the example and documents the
   contract);
3. a ColumnTransformer: numeric -> median imputation + standard scaling; categorical -> most-frequent imputation +
   one-hot encoding, where a category unseen in training encodes as all zeros; boolean -> most-frequent imputation
   (0/1). Columns a custom transformer consumes are left out.
preprocess.py fits it on the training split only. Runs on SageMaker's scikit-learn container (sklearn 1.2).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sm_runtime.raw_columns import RawColumns
from sm_runtime.tabular import KINDS


class SchemaError(Exception):
    """The column schema or a custom transformer cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class DataSchema:
    """The column schema: feature columns (name -> kind) in request order, ignored columns, missing-value markers
    and custom transformers (`module.Class` in jobs/)."""

    columns: dict[str, str]
    ignore: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ("",)
    transformers: tuple[str, ...] = field(default=())

    @classmethod
    def read(cls, path: Path) -> DataSchema:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SchemaError(f"{path} is missing: the engine writes it beside the scripts from data:") from None
        return cls(
            columns=dict(data["columns"]),
            ignore=tuple(data.get("ignore", ())),
            missing_values=tuple(data.get("missing_values", ("",))),
            transformers=tuple(data.get("transformers", ())),
        )


def custom_transformer(name: str, columns: dict[str, str]) -> BaseEstimator:
    """An instance of `module.Class` from jobs/, with its `consumes` among `columns` and `produces` of known kinds."""
    module_name, _, class_name = name.rpartition(".")
    try:
        transformer_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise SchemaError(f"data.transformers: cannot load {name!r} ({error}); put the class in jobs/") from None
    consumes, produces = getattr(transformer_class, "consumes", None), getattr(transformer_class, "produces", None)
    if not isinstance(consumes, (tuple, list)) or not isinstance(produces, dict):
        raise SchemaError(
            f"{name} needs the class attributes `consumes` (a tuple of column names) and `produces` "
            "(a dict of column name -> kind); see car_features.py"
        )
    unknown = [column for column in consumes if column not in columns]
    if unknown:
        raise SchemaError(f"{name} consumes {', '.join(map(repr, unknown))}, not in data.columns; declare it there")
    kinds = [kind for kind in produces.values() if kind not in KINDS]
    if kinds:
        raise SchemaError(f"{name}.produces: unknown kind(s) {kinds}; use {', '.join(KINDS)}")
    return transformer_class()


def build_preprocessor(schema: DataSchema) -> Pipeline:
    """The unfitted pipeline of the schema (see the module docstring)."""
    kinds = dict(schema.columns)
    steps: list[tuple[str, BaseEstimator]] = [("raw_columns", RawColumns(schema.columns, schema.missing_values))]
    for name in schema.transformers:
        transformer = custom_transformer(name, kinds)
        for column in transformer.consumes:
            kinds.pop(column, None)
        kinds.update(transformer.produces)
        steps.append((name, transformer))
    blocks = {
        "numeric": Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
        "categorical": Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        ),
        "boolean": SimpleImputer(strategy="most_frequent"),
    }
    selected = [
        (kind, block, [column for column, column_kind in kinds.items() if column_kind == kind])
        for kind, block in blocks.items()
    ]
    columns_step = ColumnTransformer([block for block in selected if block[2]])
    return Pipeline([*steps, ("columns", columns_step)])
