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

from pathlib import Path
from typing import NamedTuple

import boosters
import joblib
import numpy as np
import xgboost as xgb
from sm_runtime import handlers, serving_io
from sm_runtime.archives import PREPROCESSOR_FILE, read_classes
from sm_runtime.fast_sklearn import RawPreprocessor, raw_preprocessor
from sm_runtime.serving_io import Classified


class LoadedBooster(NamedTuple):
    booster: xgb.Booster
    classes: tuple[str, ...] | None = None
    preprocessor: RawPreprocessor | None = None


def model_fn(model_dir: str) -> LoadedBooster:
    """xgboost-model; classes.json of a classifier; preprocessor.joblib when it is there (fast_sklearn)."""
    directory = Path(model_dir)
    booster = boosters.load(directory / boosters.MODEL_FILE)
    preprocessor_path = directory / PREPROCESSOR_FILE
    preprocessor = raw_preprocessor(joblib.load(preprocessor_path)) if preprocessor_path.is_file() else None
    return LoadedBooster(booster, read_classes(directory), preprocessor)


def predict(request: serving_io.Request, model: LoadedBooster) -> np.ndarray | Classified:
    """Raw rows through the bundled preprocessor when there is one, else preprocessed features; then the booster."""
    data = serving_io.model_features(request, model.booster.num_features(), model.preprocessor)
    if model.classes is None:
        return boosters.values(model.booster, data)
    return serving_io.classified(boosters.probabilities(model.booster, data, len(model.classes)), model.classes)


def encode(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)


transform_fn = handlers.transform_fn(serving_io.read_request, predict, encode)
