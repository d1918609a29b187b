"""Handler chain of the model container of the pytorch framework (contract §3, §4): the feature matrix -> predictions.

The SageMaker PyTorch inference container loads this module from `code/` inside model.tar.gz (the training job puts
it there with the modules it imports) and calls model_fn once per worker, then input_fn -> predict_fn -> output_fn.
The payload contract of every model container (serving_io): input `text/csv` or JSON rows of preprocessed features
(raw rows when the model directory holds preprocessor.joblib); output of a regressor `{"predictions": [...]}` or one
value per line, of a classifier `{"predictions": [labels], "probabilities": [[...]], "classes": [...]}` or one label
per line.
Runs on the GPU when the container has one, else on one CPU thread per worker (unless OMP_NUM_THREADS says otherwise).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import mlp
import numpy as np
from sm_runtime import serving_io
import torch
from sm_runtime.archives import CLASSES_FILE, PREPROCESSOR_FILE, read_classes
from sm_runtime.serving_io import Classified


class LoadedModel(NamedTuple):
    network: torch.nn.Module
    architecture: mlp.Architecture
    classes: tuple[str, ...] | None = None
    raw_transform: Callable[[np.ndarray], np.ndarray] | None = None
    raw_columns: tuple[str, ...] = ()


def model_fn(model_dir: str) -> LoadedModel:
    """The network (mlp.load), classes.json of a classifier, and preprocessor.joblib when the model serves raw rows
    (features is imported only then: it needs scikit-learn)."""
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
    from features import RAW_COLUMNS, raw_transformer

    transform, path = raw_transformer(joblib.load(preprocessor_path))
    print(f"model: raw rows are preprocessed with {path}", file=sys.stderr, flush=True)
    return LoadedModel(network, architecture, classes, transform, RAW_COLUMNS)


class Request(NamedTuple):
    """A request body, decoded in predict_fn where the model tells whether JSON objects name raw columns."""

    body: object
    content_type: str | None


def input_fn(input_data: object, content_type: str | None) -> Request:
    """The body as it came: the content type is checked here (415), the values in predict_fn."""
    serving_io.request_content_type(content_type)
    return Request(input_data, content_type)


def predict_fn(request: Request, model: LoadedModel) -> np.ndarray | Classified:
    """Decode (missing values as NaN), preprocess raw rows when the model has a preprocessor, then the network."""
    keys = model.raw_columns or None
    data = serving_io.decode_matrix(request.body, request.content_type, keys, allow_missing=True)
    data = serving_io.model_input(data, model.architecture.n_features, model.raw_transform, model.raw_columns)
    predictions = mlp.predict(model.network, model.architecture, np.asarray(data, dtype=float))
    if model.classes is None:
        return predictions
    return serving_io.classified(predictions, model.classes)


def output_fn(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)
