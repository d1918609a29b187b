"""Handler chain of the model container (contract §3, §4): the feature matrix -> predictions.

Input: the preprocessed feature matrix as `text/csv` or JSON (rows, or `{"instances": [...]}` as the preprocessor
container writes it). When the model directory also holds preprocessor.joblib (training with a `preprocessor`
channel; the shape served without an inference pipeline), the input is raw rows instead and the preprocessor is
applied first.

Output of a regressor: `application/json` -> `{"predictions": [...]}`, `text/csv` -> one value per line.
Output of a classifier (classes.json beside model.joblib): `application/json` ->
`{"predictions": ["yes", ...], "probabilities": [[0.2, 0.8], ...], "classes": ["no", "yes"]}` (one probability per
class, in the order of `classes`), `text/csv` -> one label per line (what the batch transform joins to its input).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
from sm_runtime import serving_io
from sm_runtime.archives import MODEL_FILE, PREPROCESSOR_FILE, read_classes
from features import RAW_COLUMNS, raw_transformer
from metrics import class_probabilities
from sm_runtime.fast_sklearn import fast_predict
from sm_runtime.serving_io import Classified
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline


class LoadedModel(NamedTuple):
    model: BaseEstimator
    predict: Callable[[np.ndarray], np.ndarray]
    preprocessor: Pipeline | None = None
    raw_transform: Callable[[np.ndarray], np.ndarray] | None = None
    classes: tuple[str, ...] | None = None


def model_fn(model_dir: str) -> LoadedModel:
    """model.joblib; classes.json of a classifier; preprocessor.joblib when it is there (with its raw-matrix
    function, see raw_transformer)."""
    model = joblib.load(os.path.join(model_dir, MODEL_FILE))
    classes = read_classes(Path(model_dir))
    preprocessor_path = os.path.join(model_dir, PREPROCESSOR_FILE)
    if not os.path.isfile(preprocessor_path):
        return LoadedModel(model, fast_predict(model), classes=classes)
    preprocessor = joblib.load(preprocessor_path)
    transform, path = raw_transformer(preprocessor)
    print(f"model: raw rows are preprocessed with {path}", file=sys.stderr, flush=True)
    return LoadedModel(model, fast_predict(model), preprocessor, transform, classes)


def input_fn(input_data: object, content_type: str | None) -> np.ndarray:
    """Request body -> float matrix; missing values are NaN here and refused in predict_fn unless preprocessed."""
    return serving_io.decode_matrix(input_data, content_type, RAW_COLUMNS, allow_missing=True)


def predict_fn(data: np.ndarray, model: LoadedModel) -> np.ndarray | Classified:
    data = serving_io.model_input(data, int(model.model.n_features_in_), model.raw_transform, RAW_COLUMNS)
    if model.classes is not None:
        return classify(model.model, data, model.classes)
    return model.predict(data)


def classify(model: BaseEstimator, data: np.ndarray, classes: tuple[str, ...]) -> Classified:
    """The most probable class of each row (what `model.predict` answers) with every class's probability."""
    return serving_io.classified(class_probabilities(model, data, len(classes)), classes)


def output_fn(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)
