"""Handler chain of the model container (contract §3, §4): the feature matrix -> predictions.

Input: the preprocessed feature matrix as `text/csv` or JSON (rows, or `{"instances": [...]}` as the preprocessor
container writes it). When the model directory also holds preprocessor.joblib (training with a `preprocessor`
channel; the shape served without an inference pipeline), the input is raw rows instead and the preprocessor is
applied first. Output: `application/json` -> `{"predictions": [...]}`, `text/csv` -> one value per line.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import joblib
import numpy as np
import serving_io
from features import RAW_COLUMNS, to_raw_frame
from serving_io import PayloadError
from sklearn.base import RegressorMixin
from sklearn.pipeline import Pipeline

MODEL_FILE = "model.joblib"
PREPROCESSOR_FILE = "preprocessor.joblib"


class LoadedModel(NamedTuple):
    model: RegressorMixin
    preprocessor: Pipeline | None = None


def model_fn(model_dir: str) -> LoadedModel:
    """model.joblib, and preprocessor.joblib when it is there."""
    preprocessor_path = os.path.join(model_dir, PREPROCESSOR_FILE)
    preprocessor = joblib.load(preprocessor_path) if os.path.isfile(preprocessor_path) else None
    return LoadedModel(joblib.load(os.path.join(model_dir, MODEL_FILE)), preprocessor)


def input_fn(input_data: object, content_type: str | None) -> np.ndarray:
    """Request body -> float matrix; missing values are NaN here and refused in predict_fn unless preprocessed."""
    rows = serving_io.decode_rows(input_data, content_type, RAW_COLUMNS)
    return serving_io.to_matrix(rows, allow_missing=True)


def predict_fn(data: np.ndarray, model: LoadedModel) -> np.ndarray:
    if model.preprocessor is not None:
        serving_io.check_width(data, len(RAW_COLUMNS), RAW_COLUMNS)
        data = np.asarray(model.preprocessor.transform(to_raw_frame(data)), dtype=float)
    expected = int(model.model.n_features_in_)
    serving_io.check_width(data, expected)
    missing = serving_io.missing_cells(data)
    if missing:
        raise PayloadError(400, f"{missing}: missing value (the model expects {expected} preprocessed features)")
    return model.model.predict(data)


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    content_type = serving_io.response_content_type(accept)
    values = np.asarray(prediction, dtype=float).ravel()
    if content_type == serving_io.CSV:
        return serving_io.encode_csv(values), content_type
    return serving_io.encode_json({"predictions": values.tolist()}), content_type
