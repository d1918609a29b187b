"""Handler chain of the preprocessor container (contract §3, §4): raw rows -> the feature matrix.

Input: raw rows without the target, columns in RAW_COLUMNS order (`text/csv`), or JSON (rows, objects keyed by
column name, `{"instances": ...}`); empty fields, `?` and null are missing values that the pipeline imputes.
Output: `text/csv` (one line per row, no header; what the inference pipeline asks for through
SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT) or `application/json` as `{"instances": [[...], ...]}`, a shape that
model_inference.py reads back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NamedTuple

import joblib
import numpy as np
from sm_runtime import serving_io
from features import RAW_COLUMNS, raw_transformer
from sklearn.pipeline import Pipeline

PREPROCESSOR_FILE = "preprocessor.joblib"


class LoadedPreprocessor(NamedTuple):
    pipeline: Pipeline
    transform: Callable[[np.ndarray], np.ndarray]


def model_fn(model_dir: str) -> LoadedPreprocessor:
    """The fitted pipeline of the processing job (features is imported above, so its classes unpickle), with the
    function that applies it to raw matrices (features.raw_transformer: exact, fast for the default pipeline)."""
    pipeline = joblib.load(os.path.join(model_dir, PREPROCESSOR_FILE))
    transform, path = raw_transformer(pipeline)
    print(f"preprocessor: transforming with {path}", file=sys.stderr, flush=True)
    return LoadedPreprocessor(pipeline, transform)


def input_fn(input_data: object, content_type: str | None) -> np.ndarray:
    """Request body -> float matrix of the raw columns in RAW_COLUMNS order (NaN where a value is missing)."""
    return serving_io.decode_matrix(
        input_data, content_type, RAW_COLUMNS, names=RAW_COLUMNS, width=len(RAW_COLUMNS), allow_missing=True
    )


def predict_fn(data: np.ndarray, model: LoadedPreprocessor) -> np.ndarray:
    return model.transform(data)


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    content_type = serving_io.response_content_type(accept)
    if content_type == serving_io.CSV:
        return serving_io.encode_csv(prediction), content_type
    return serving_io.encode_json({"instances": np.asarray(prediction, dtype=float).tolist()}), content_type
