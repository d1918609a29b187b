"""Handler chain of the preprocessor container (contract §3, §4): raw rows -> the feature matrix.

Input: raw rows without the target, the columns of data.columns in their order (`text/csv`), or JSON (rows, objects
keyed by column name, `{"instances": ...}`); the column names and kinds come from the fitted preprocessor itself.
Missing values (an empty field, null, the data's missing markers) are imputed; a category unseen in training encodes
as all zeros; a wrong width, an unknown or missing key, or a value its column's kind cannot read is a 400 naming the
column. Output (serving_io.encode_features): `application/x-npy` (the matrix as a .npy array; what the inference
pipeline asks for through SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, exact and without text between the two containers),
`text/csv` (one line per row, no header) or `application/json` as `{"instances": [[...], ...]}`; model_inference.py
reads each back.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from sm_runtime import handlers, serving_io
from sm_runtime.archives import PREPROCESSOR_FILE
from sm_runtime.fast_sklearn import RawPreprocessor, raw_preprocessor


def model_fn(model_dir: str) -> RawPreprocessor:
    """The pipeline fitted by the processing job (its custom transformers' modules are in this code folder, so it
    unpickles), as raw columns and a transform (fast_sklearn: exact, compiled to numpy when it can be)."""
    return raw_preprocessor(joblib.load(os.path.join(model_dir, PREPROCESSOR_FILE)))


def predict(request: serving_io.Request, model: RawPreprocessor) -> np.ndarray:
    return serving_io.raw_features(request, model)


transform_fn = handlers.transform_fn(serving_io.read_request, predict, serving_io.encode_features)
