"""Stand-in for the SageMaker built-in XGBoost algorithm's serving stack: a handler chain for containers.py.

Used for a model container whose image is `sagemaker-xgboost` and that sets no SAGEMAKER_PROGRAM: containers.py
loads it in place of a user module (model_fn, then transform_fn per request). As the real container
(aws/sagemaker-xgboost-container, algorithm mode):

- model_fn loads the model file in /opt/ml/model (xgboost's JSON / UBJSON / binary formats; the real one also
  unpickles, which this stand-in refuses to do with files it did not write);
- the request is `text/csv` feature rows without the label (`text/libsvm` and recordio are not emulated): 415 for
  another content type, 400 for a body that is not numeric CSV or has the wrong number of features;
- the answer is the booster's raw prediction per row: a value (regression), P(class code 1) (binary:logistic) or the
  class code (multi:softmax). `text/csv`: comma-separated on one line, one value per line under batch transform
  (SAGEMAKER_BATCH); `application/json`: `{"predictions": [{"score": 0.87}, ...]}`; 406 for another Accept.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xgboost as xgb

from ...errors import ServingError

CSV = "text/csv"
JSON = "application/json"


class LoadedBooster(NamedTuple):
    booster: xgb.Booster
    batch: bool


def model_fn(model_dir: str) -> LoadedBooster:
    """The one model file of the model directory, as the algorithm wrote it (SAGEMAKER_BATCH read once here)."""
    files = sorted(path for path in Path(model_dir).iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        raise ServingError(500, f"no model file in {model_dir}")
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(files[0].read_bytes()))
    except xgb.core.XGBoostError as error:
        raise ServingError(500, f"Unable to load model {files[0].name}: {' '.join(str(error).split())[:300]}") from None
    booster.set_param({"nthread": 1})
    return LoadedBooster(booster, os.environ.get("SAGEMAKER_BATCH", "").lower() == "true")


def _media_type(header: str | None, default: str) -> str:
    return (header or default).split(";", 1)[0].strip().lower()


def decode(input_data: bytes | str, content_type: str | None) -> np.ndarray:
    """text/csv rows -> float matrix (no header, no label)."""
    media_type = _media_type(content_type, CSV)
    if media_type != CSV:
        raise ServingError(415, f"Content type {content_type} is not supported: the built-in XGBoost reads {CSV}")
    text = input_data.decode("utf-8") if isinstance(input_data, bytes) else input_data
    if not text.strip():
        raise ServingError(400, "the payload is empty")
    try:
        return np.loadtxt(io.StringIO(text.strip()), delimiter=",", ndmin=2, dtype=np.float32)
    except ValueError as error:
        raise ServingError(400, f"Loading csv data failed, please ensure data is in csv format: {error}") from None


def predict(data: np.ndarray, model: LoadedBooster) -> np.ndarray:
    expected = model.booster.num_features()
    if data.shape[1] != expected:
        raise ServingError(
            400, f"Feature size of csv inference data {data.shape[1]} is not consistent with the model's {expected}"
        )
    return np.asarray(model.booster.inplace_predict(data), dtype=float)


def encode(prediction: np.ndarray, accept: str | None, batch: bool = False) -> tuple[bytes, str]:
    media_type = _media_type(accept, CSV)
    if media_type in ("*/*", ""):
        media_type = CSV
    values = prediction.tolist()
    if media_type == JSON:
        return json.dumps({"predictions": [{"score": value} for value in values]}).encode("utf-8"), JSON
    if media_type == CSV:
        text = "\n".join(map(str, values)) + "\n" if batch else ",".join(map(str, values))
        return text.encode("utf-8"), CSV
    raise ServingError(406, f"Accept type {accept} is not supported: use {CSV} or {JSON}")


def transform_fn(model: LoadedBooster, data: bytes | str, content_type: str | None, accept: str | None) -> tuple:
    """The whole chain (the CSV layout depends on whether the container serves a batch transform)."""
    return encode(predict(decode(data, content_type), model), accept, model.batch)
