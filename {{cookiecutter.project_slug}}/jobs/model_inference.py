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

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
import serving_io
from archives import MODEL_FILE, PREPROCESSOR_FILE, read_classes
from features import RAW_COLUMNS, raw_transformer
from metrics import class_probabilities
from serving_io import Classified
from sklearn.base import BaseEstimator
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline


class LoadedModel(NamedTuple):
    model: BaseEstimator
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
        return LoadedModel(model, classes=classes)
    preprocessor = joblib.load(preprocessor_path)
    transform, path = raw_transformer(preprocessor)
    print(f"model: raw rows are preprocessed with {path}", file=sys.stderr, flush=True)
    return LoadedModel(model, preprocessor, transform, classes)


def input_fn(input_data: object, content_type: str | None) -> np.ndarray:
    """Request body -> float matrix; missing values are NaN here and refused in predict_fn unless preprocessed."""
    return serving_io.decode_matrix(input_data, content_type, RAW_COLUMNS, allow_missing=True)


def predict_fn(data: np.ndarray, model: LoadedModel) -> np.ndarray | Classified:
    data = serving_io.model_input(data, int(model.model.n_features_in_), model.raw_transform, RAW_COLUMNS)
    if model.classes is not None:
        return classify(model.model, data, model.classes)
    return predict(model.model, data)


def classify(model: BaseEstimator, data: np.ndarray, classes: tuple[str, ...]) -> Classified:
    """The most probable class of each row (what `model.predict` answers) with every class's probability."""
    return serving_io.classified(class_probabilities(model, data, len(classes)), classes)


SMALL_BATCH_ROWS = 64
"""Up to this many rows, forests are walked for all trees at once in numpy (no per-tree call overhead)."""


def predict(model: BaseEstimator, data: np.ndarray) -> np.ndarray:
    """`model.predict(data)`, computed directly for a fitted single-output forest: the mean of its trees' predictions
    on float32 input, added tree by tree in order as sklearn does, without predict's validation and joblib dispatch
    (~20 ms a request)."""
    if not isinstance(model, (RandomForestRegressor, ExtraTreesRegressor)) or model.n_outputs_ != 1:
        return model.predict(data)
    features = np.ascontiguousarray(data, dtype=np.float32)
    if len(features) <= SMALL_BATCH_ROWS:
        leaf_values = FlatForest.of(model).leaf_values(features)
    else:
        leaf_values = np.column_stack([tree.tree_.predict(features)[:, 0] for tree in model.estimators_])
    # cumsum adds strictly left to right: the same float sums as sklearn's `total += tree prediction`
    return np.cumsum(leaf_values, axis=1)[:, -1] / len(model.estimators_)


class FlatForest(NamedTuple):
    """All trees of a forest in flat node arrays; a leaf points to itself, so walking max-depth steps ends on it."""

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    depth: int

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def of(model: RandomForestRegressor | ExtraTreesRegressor) -> FlatForest:
        """Built once per loaded model (estimators hash by identity)."""
        return FlatForest.build([estimator.tree_ for estimator in model.estimators_])

    @staticmethod
    def build(trees: list) -> FlatForest:
        sizes = [tree.node_count for tree in trees]
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        nodes = np.arange(sum(sizes))
        left = np.concatenate([tree.children_left + roots[index] for index, tree in enumerate(trees)])
        right = np.concatenate([tree.children_right + roots[index] for index, tree in enumerate(trees)])
        leaf = np.concatenate([tree.children_left == -1 for tree in trees])
        return FlatForest(
            roots=roots,
            left=np.where(leaf, nodes, left),
            right=np.where(leaf, nodes, right),
            feature=np.where(leaf, 0, np.concatenate([tree.feature for tree in trees])),
            threshold=np.concatenate([tree.threshold for tree in trees]),
            value=np.concatenate([tree.value[:, 0, 0] for tree in trees]),
            depth=max(tree.max_depth for tree in trees),
        )

    def leaf_values(self, features: np.ndarray) -> np.ndarray:
        """(rows, trees) predictions: each tree's `X[feature] <= threshold ? left : right` walk, as sklearn's apply."""
        nodes = np.tile(self.roots, (len(features), 1))
        rows = np.arange(len(features))[:, None]
        for _ in range(self.depth):
            go_left = features[rows, self.feature[nodes]] <= self.threshold[nodes]
            nodes = np.where(go_left, self.left[nodes], self.right[nodes])
        return self.value[nodes]


def output_fn(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    return serving_io.encode_prediction(prediction, accept)
