"""Handler chain of the XGBoost model container in script mode (contract §3, §4): the feature matrix -> predictions.

The payload contract of every model container (serving_io). Input: the preprocessed feature matrix as `text/csv` or
JSON (rows, or `{"instances": [...]}` as the preprocessor container writes it); with preprocessor.joblib beside the
model (training with a `preprocessor` channel, served without an inference pipeline) raw rows, preprocessed first.

Output of a regressor: `application/json` -> `{"predictions": [...]}`, `text/csv` -> one value per line.
Output of a classifier (classes.json beside xgboost-model): `application/json` ->
`{"predictions": ["yes", ...], "probabilities": [[0.2, 0.8], ...], "classes": ["no", "yes"]}`, `text/csv` -> one
label per line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import boosters
import joblib
import numpy as np
from sm_runtime import serving_io
import xgboost as xgb
from sm_runtime.archives import PREPROCESSOR_FILE, read_classes
from features import RAW_COLUMNS, raw_transformer
from sm_runtime.serving_io import Classified


class LoadedBooster(NamedTuple):
    booster: xgb.Booster
    classes: tuple[str, ...] | None = None
    raw_transform: Callable[[np.ndarray], np.ndarray] | None = None


def model_fn(model_dir: str) -> LoadedBooster:
    """xgboost-model; classes.json of a classifier; preprocessor.joblib when it is there."""
    directory = Path(model_dir)
    booster = boosters.load(directory / boosters.MODEL_FILE)
    classes = read_classes(directory)
    preprocessor_path = directory / PREPROCESSOR_FILE
    if not preprocessor_path.is_file():
        return LoadedBooster(booster, classes)
    transform, path = raw_transformer(joblib.load(os.fspath(preprocessor_path)))
    print(f"model: raw rows are preprocessed with {path}", file=sys.stderr, flush=True)
    return LoadedBooster(booster, classes, transform)


def input_fn(input_data: object, content_type: str | None) -> np.ndarray:
    """Request body -> float matrix; missing values are NaN here and refused in predict_fn unless preprocessed."""
    return serving_io.decode_matrix(input_data, content_type, RAW_COLUMNS, allow_missing=True)


def predict_fn(data: np.ndarray, model: LoadedBooster) -> np.ndarray | Classified:
    data = serving_io.model_input(data, model.booster.num_features(), model.raw_transform, RAW_COLUMNS)
    if model.classes is None:
        return boosters.values(model.booster, data)
    return serving_io.classified(boosters.probabilities(model.booster, data, len(model.classes)), model.classes)


def output_fn(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)
