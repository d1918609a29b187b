"""Exact fast paths for serving scikit-learn models one request at a time, without sklearn's per-call overhead.

- raw_preprocessor: a fitted preprocessor (RawColumns, custom steps, then a ColumnTransformer of imputed and scaled
  numeric blocks, imputed one-hot categorical blocks and imputed boolean blocks) as numpy operations on raw rows;
  custom steps run as they are, on a DataFrame, between the two: one of only the columns each step declares it
  `consumes` (the jobs/ contract; building a frame of every column costs more than the rest of a one-row request),
  or, when that is not exact, one of every column;
- fast_predict: a forest regressor's prediction without predict's validation and joblib dispatch.

Each fast path is built from a fitted model's own attributes, checked against the plain sklearn result on sample rows
when it is built, and used only if the two agree exactly; otherwise (or for a model it does not know) the caller gets
the plain sklearn method, and the reason is written to the container log (stderr). Nothing here changes a result.
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .raw_columns import RawColumns

CHECK_ROWS = 32
"""Rows of the self-check that a fast path must reproduce exactly before it is used."""


def log(message: str) -> None:
    print(f"sm_runtime.fast_sklearn: {message}", file=sys.stderr, flush=True)


UNSEEN_CATEGORY = "an unseen category"
"""A value of every categorical column in the self-check: one-hot encoded as all zeros."""

Columns = dict[str, np.ndarray]
Block = Callable[[Columns], np.ndarray]
Rows = list[list] | np.ndarray
"""Rows of raw values: lists, or a 2-D object array (serving_io reads a plain CSV body into one in bulk)."""


class RawPreprocessor(NamedTuple):
    """What serving needs of a fitted preprocessor: its raw columns in row order, and a function from rows of raw
    values (strings or JSON scalars, in that order) to the feature matrix."""

    columns: tuple[str, ...]
    transform: Callable[[Rows], np.ndarray]


def raw_preprocessor(pipeline: object) -> RawPreprocessor:
    """The fitted pipeline's columns and transform: the compiled numpy path when it reproduces `pipeline.transform`
    exactly on the self-check rows (custom steps on the columns they consume, else on every column), else
    `pipeline.transform` (the reason in the log)."""
    if not (isinstance(pipeline, Pipeline) and isinstance(pipeline.steps[0][1], RawColumns)):
        raise TypeError("the preprocessor is not a Pipeline whose first step is RawColumns (features.py builds one)")
    raw = pipeline.steps[0][1]

    def plain(rows: Rows) -> np.ndarray:
        return np.asarray(pipeline.transform(rows), dtype=float)

    columns = tuple(raw.columns)
    rows = check_rows(raw)
    reason = ""
    expected = None
    for narrow in (True, False) if _declared(_custom_steps(pipeline)) else (False,):
        compiled, reason = compile_preprocessor(pipeline, narrow)
        if compiled is None:
            break
        try:
            expected = plain(rows) if expected is None else expected  # once: a row's features are its own
            same = np.array_equal(compiled(rows), expected) and np.array_equal(compiled(rows[:1]), expected[:1])
            reason = "" if same else "the compiled path differs from pipeline.transform on the self-check rows"
        except Exception as error:  # a custom step that refuses the self-check rows: the plain path decides
            same, reason = False, f"the self-check failed ({type(error).__name__}: {error})"
        if same:
            steps = " (custom steps on the columns they consume)" if narrow else ""
            log(f"preprocessor: the compiled numpy path is used{steps} (checked against pipeline.transform)")
            return RawPreprocessor(columns, compiled)
    log(f"preprocessor: pipeline.transform is used ({reason})")
    return RawPreprocessor(columns, plain)


def check_rows(raw: RawColumns) -> list[list]:
    """CHECK_ROWS raw rows that go through every training example of each column (examples_), a missing value
    (which the imputers fill) and, for categorical columns, an unseen category."""
    pools = []
    for name, kind in raw.columns.items():
        pool = [str(value) for value in raw.examples_[name]] + [""]
        pools.append([*pool, UNSEEN_CATEGORY] if kind == "categorical" else pool)
    return [
        [pool[(row + 3 * position) % len(pool)] for position, pool in enumerate(pools)] for row in range(CHECK_ROWS)
    ]


def compile_preprocessor(pipeline: Pipeline, narrow: bool = False) -> tuple[Callable[[Rows], np.ndarray] | None, str]:
    """(numpy function, "") for the supported structure, else (None, why not). `narrow`: each custom step sees only
    the columns it declares in `consumes` (every step must declare `consumes` and `produces`)."""
    raw, *custom, last = [step for _, step in pipeline.steps]
    if not isinstance(last, ColumnTransformer):
        return None, "its last step is not a ColumnTransformer"
    if getattr(last, "sparse_output_", True) or last.transformer_weights:
        return None, "the ColumnTransformer has sparse output or weights"
    blocks, used = [], []
    for name, transformer, names in last.transformers_:
        if isinstance(transformer, str) and (transformer == "drop" or not len(names)):
            continue
        block = _compile_block(transformer, names)
        if block is None:
            return None, f"the ColumnTransformer block {name!r} is not one that compiles"
        blocks.append(block)
        used += names
    if not blocks:
        return None, "the ColumnTransformer has no block"
    if narrow and not _declared(custom):
        return None, "a custom step does not declare `consumes` and `produces`"
    run_custom = _each_on_what_it_consumes(custom) if narrow else _all_on_every_column(custom, used)

    def transform(rows: Rows) -> np.ndarray:
        columns = run_custom(raw.typed(rows)) if custom else raw.typed(rows)
        return np.hstack([block(columns) for block in blocks])

    return transform, ""


def _custom_steps(pipeline: Pipeline) -> list[object]:
    return [step for _, step in pipeline.steps[1:-1]]


def _declared(custom: list[object]) -> bool:
    """Whether every custom step declares the non-empty columns it reads (`consumes`) and what it adds (`produces`)."""
    return all(
        isinstance(consumes := getattr(step, "consumes", None), (tuple, list))
        and consumes
        and isinstance(getattr(step, "produces", None), dict)
        for step in custom
    )


def _each_on_what_it_consumes(custom: list[object]) -> Callable[[Columns], Columns]:
    steps = [(step, list(step.consumes), list(step.produces)) for step in custom]  # type: ignore[attr-defined]

    def run(columns: Columns) -> Columns:
        for step, consumes, produces in steps:
            frame = step.transform(pd.DataFrame({name: columns[name] for name in consumes}, copy=False))
            columns = {**columns, **{name: frame[name].to_numpy() for name in produces}}
        return columns

    return run


def _all_on_every_column(custom: list[object], used: list[str]) -> Callable[[Columns], Columns]:
    def run(columns: Columns) -> Columns:
        frame = pd.DataFrame(columns, copy=False)
        for step in custom:
            frame = step.transform(frame)
        return {name: frame[name].to_numpy() for name in used}

    return run


def _compile_block(transformer: object, names: object) -> Block | None:
    """One ColumnTransformer entry: SimpleImputer, then StandardScaler (numeric) or OneHotEncoder (categorical), or
    alone (boolean); else None."""
    if not (isinstance(names, list) and names and all(isinstance(name, str) for name in names)):
        return None
    steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    imputer, *rest = steps
    if type(imputer) is not SimpleImputer or imputer.add_indicator or not _is_nan(imputer.missing_values):
        return None
    fill = imputer.statistics_
    numeric_fill = fill.dtype.kind == "f" and np.isfinite(fill).all()
    if not rest:
        return _numeric_block(names, fill, 0.0, 1.0) if numeric_fill else None
    if len(rest) != 1:
        return None
    if type(rest[0]) is StandardScaler and numeric_fill:
        scaler = rest[0]
        mean = scaler.mean_ if scaler.with_mean else 0.0
        return _numeric_block(names, fill, mean, scaler.scale_ if scaler.with_std else 1.0)
    if type(rest[0]) is OneHotEncoder and _plain_one_hot(rest[0]) and all(isinstance(v, str) for v in fill):
        return _categorical_block(names, list(fill), rest[0].categories_)
    return None


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _plain_one_hot(encoder: OneHotEncoder) -> bool:
    return (
        encoder.handle_unknown == "ignore"
        and encoder.drop_idx_ is None
        and encoder.max_categories is None
        and encoder.min_frequency is None
    )


def _numeric_block(names: list[str], fill: np.ndarray, mean: object, scale: object) -> Block:
    def numeric(columns: Columns) -> np.ndarray:
        values = np.column_stack([columns[name] for name in names]).astype(float)
        values = np.where(np.isnan(values), fill, values)
        return (values - mean) / scale

    return numeric


def _categorical_block(names: list[str], fill: list[str], categories: list[np.ndarray]) -> Block:
    encoders = [_one_hot_encoder(known) for known in categories]

    def categorical(columns: Columns) -> np.ndarray:
        parts = []
        for position, name in enumerate(names):
            labels = np.array(columns[name], dtype=object)
            labels[pd.isna(labels)] = fill[position]
            parts.append(encoders[position](labels))
        return np.hstack(parts).astype(float)

    return categorical


def _one_hot_encoder(known: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """labels -> (rows, categories) booleans, True where the label equals the category: a dictionary look-up per
    label when the categories are text (the same equality as ==), else the comparison with every category."""
    if not all(type(category) is str for category in known):
        return lambda labels: labels[:, None] == known[None, :]
    column_of = {category: column for column, category in enumerate(known)}

    def encode(labels: np.ndarray) -> np.ndarray:
        columns = np.fromiter(map(column_of.get, labels.tolist(), itertools.repeat(-1)), int, count=len(labels))
        hot = np.zeros((len(labels), len(known)), dtype=bool)
        rows = np.flatnonzero(columns >= 0)
        hot[rows, columns[rows]] = True
        return hot

    return encode


def fast_predict(model: BaseEstimator) -> Callable[[np.ndarray], np.ndarray]:
    """`model.predict`, or an exact faster equivalent for a fitted single-output forest regressor (checked here)."""
    if not isinstance(model, (RandomForestRegressor, ExtraTreesRegressor)) or getattr(model, "n_outputs_", 2) != 1:
        log(f"{type(model).__name__}.predict is used as it is (no fast path for this model)")
        return model.predict
    rows = np.random.default_rng(0).normal(size=(SMALL_BATCH_ROWS + 1, int(model.n_features_in_)))
    expected = model.predict(rows)  # one call: its fixed cost is most of the check; a row's prediction is its own
    for size in (1, CHECK_ROWS, SMALL_BATCH_ROWS + 1):  # both ways of forest_predict, and one row
        if not np.array_equal(forest_predict(model, rows[:size]), expected[:size]):
            log(f"the fast forest path differs from {type(model).__name__}.predict; the plain method is used")
            return model.predict
    log(f"{type(model).__name__}: the fast forest path is used (checked against predict)")
    return functools.partial(forest_predict, model)


SMALL_BATCH_ROWS = 64
"""Up to this many rows, forests are walked for all trees at once in numpy (no per-tree call overhead)."""


def forest_predict(model: RandomForestRegressor | ExtraTreesRegressor, data: np.ndarray) -> np.ndarray:
    """`model.predict(data)`, computed directly for a fitted single-output forest: the mean of its trees' predictions
    on float32 input, added tree by tree in order as sklearn does, without predict's validation and joblib dispatch
    (~20 ms a request)."""
    features = np.ascontiguousarray(data, dtype=np.float32)
    if len(features) > SMALL_BATCH_ROWS:
        # sklearn's own sum, tree by tree in place (a rows x trees matrix costs 10x more at 200,000 rows)
        total = np.zeros(len(features))
        for tree in model.estimators_:
            total += tree.tree_.predict(features)[:, 0]
        return total / len(model.estimators_)
    leaf_values = FlatForest.of(model).leaf_values(features)
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
