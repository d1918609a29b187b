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
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
from metrics import class_probabilities
from sklearn.base import BaseEstimator
from sm_runtime import handlers, serving_io
from sm_runtime.archives import MODEL_FILE, PREPROCESSOR_FILE, read_classes
from sm_runtime.fast_sklearn import RawPreprocessor, fast_predict, raw_preprocessor
from sm_runtime.serving_io import Classified


class LoadedModel(NamedTuple):
    model: BaseEstimator
    predict: Callable[[np.ndarray], np.ndarray]
    preprocessor: RawPreprocessor | None = None
    classes: tuple[str, ...] | None = None


def model_fn(model_dir: str) -> LoadedModel:
    """model.joblib; classes.json of a classifier; preprocessor.joblib when it is there (fast_sklearn)."""
    model = joblib.load(os.path.join(model_dir, MODEL_FILE))
    preprocessor_path = os.path.join(model_dir, PREPROCESSOR_FILE)
    preprocessor = raw_preprocessor(joblib.load(preprocessor_path)) if os.path.isfile(preprocessor_path) else None
    return LoadedModel(model, fast_predict(model), preprocessor, read_classes(Path(model_dir)))


def predict(request: serving_io.Request, model: LoadedModel) -> np.ndarray | Classified:
    """Raw rows through the bundled preprocessor when there is one, else preprocessed features; then the model."""
    data = serving_io.model_features(request, int(model.model.n_features_in_), model.preprocessor)
    if model.classes is not None:
        return classify(model.model, data, model.classes)
    return model.predict(data)


def classify(model: BaseEstimator, data: np.ndarray, classes: tuple[str, ...]) -> Classified:
    """The most probable class of each row (what `model.predict` answers) with every class's probability."""
    return serving_io.classified(class_probabilities(model, data, len(classes)), classes)


def encode(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)


transform_fn = handlers.transform_fn(serving_io.read_request, predict, encode)
