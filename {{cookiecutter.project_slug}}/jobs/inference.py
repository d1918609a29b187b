"""Handler chain of the model container of the pytorch framework (contract §3, §4): the feature matrix -> predictions.

The SageMaker PyTorch inference container loads this module from `code/` inside model.tar.gz (the training job puts
it there with the modules it imports) and calls model_fn once per worker, then transform_fn (read, predict, encode).
The payload contract of every model container (serving_io): input `text/csv` or JSON rows of preprocessed features
(raw rows when the model directory holds preprocessor.joblib); output of a regressor `{"predictions": [...]}` or one
value per line, of a classifier `{"predictions": [labels], "probabilities": [[...]], "classes": [...]}` or one label
per line.
Runs on the GPU when the container has one, else on one CPU thread per worker (unless OMP_NUM_THREADS says otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import mlp
import numpy as np
import torch
from sm_runtime import handlers, serving_io
from sm_runtime.archives import CLASSES_FILE, PREPROCESSOR_FILE, read_classes
from sm_runtime.serving_io import Classified

if TYPE_CHECKING:
    from sm_runtime.fast_sklearn import RawPreprocessor


class LoadedModel(NamedTuple):
    network: torch.nn.Module
    architecture: mlp.Architecture
    classes: tuple[str, ...] | None = None
    preprocessor: RawPreprocessor | None = None


def model_fn(model_dir: str) -> LoadedModel:
    """The network (mlp.load), classes.json of a classifier, and preprocessor.joblib when the model serves raw rows
    (fast_sklearn is imported only then: it needs scikit-learn)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu" and not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(1)  # the model server runs a worker per vCPU already; small matrices gain nothing more
    network, architecture = mlp.load(Path(model_dir), device)
    classes = read_classes(Path(model_dir))
    if architecture.n_classes is not None and (classes is None or len(classes) != architecture.n_classes):
        raise mlp.ModelFileError(f"{CLASSES_FILE} must list the {architecture.n_classes} classes the model predicts")
    preprocessor_path = os.path.join(model_dir, PREPROCESSOR_FILE)
    if not os.path.isfile(preprocessor_path):
        return LoadedModel(network, architecture, classes)
    import joblib
    from sm_runtime.fast_sklearn import raw_preprocessor

    return LoadedModel(network, architecture, classes, raw_preprocessor(joblib.load(preprocessor_path)))


def predict(request: serving_io.Request, model: LoadedModel) -> np.ndarray | Classified:
    """Raw rows through the bundled preprocessor when there is one, else preprocessed features; then the network."""
    data = serving_io.model_features(request, model.architecture.n_features, model.preprocessor)
    predictions = mlp.predict(model.network, model.architecture, np.asarray(data, dtype=float))
    if model.classes is None:
        return predictions
    return serving_io.classified(predictions, model.classes)


def encode(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)


transform_fn = handlers.transform_fn(serving_io.read_request, predict, encode)
