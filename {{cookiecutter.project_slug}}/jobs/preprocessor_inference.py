"""Handler chain of the preprocessor container (contract §3, §4): raw rows -> the feature matrix.

Input: raw rows without the target, columns in RAW_COLUMNS order (`text/csv`), or JSON (rows, objects keyed by
column name, `{"instances": ...}`); empty fields, `?` and null are missing values that the pipeline imputes.
Output: `text/csv` (one line per row, no header; what the inference pipeline asks for through
SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT) or `application/json` as `{"instances": [[...], ...]}`, a shape that
model_inference.py reads back.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
import pandas as pd
import serving_io
from features import RAW_COLUMNS, to_raw_frame
from sklearn.pipeline import Pipeline

PREPROCESSOR_FILE = "preprocessor.joblib"


def model_fn(model_dir: str) -> Pipeline:
    """The fitted pipeline of the processing job (features is imported above, so its classes unpickle)."""
    return joblib.load(os.path.join(model_dir, PREPROCESSOR_FILE))


def input_fn(input_data: object, content_type: str | None) -> pd.DataFrame:
    """Request body -> DataFrame of the raw columns (NaN where a value is missing)."""
    rows = serving_io.decode_rows(input_data, content_type, RAW_COLUMNS)
    serving_io.check_width(rows, len(RAW_COLUMNS), RAW_COLUMNS)
    return to_raw_frame(serving_io.to_matrix(rows, allow_missing=True, columns=RAW_COLUMNS))


def predict_fn(data: pd.DataFrame, model: Pipeline) -> np.ndarray:
    return np.asarray(model.transform(data), dtype=float)


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    content_type = serving_io.response_content_type(accept)
    if content_type == serving_io.CSV:
        return serving_io.encode_csv(prediction), content_type
    return serving_io.encode_json({"instances": np.asarray(prediction, dtype=float).tolist()}), content_type
