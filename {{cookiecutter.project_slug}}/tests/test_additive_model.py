"""The additive model package: scikit-learn compatible, additive by construction, and better than a line where the
truth is curved."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.estimator_checks import check_estimator

from additive_model import AdditiveClassifier, AdditiveRegressor


def curved(rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(2 x0) + x1^2 + 0.1 noise, with a constant third column."""
    rng = np.random.default_rng(seed)
    features = np.column_stack([rng.uniform(-2, 2, rows), rng.uniform(-1.5, 1.5, rows), np.full(rows, 3.0)])
    target = np.sin(2 * features[:, 0]) + features[:, 1] ** 2 + rng.normal(0, 0.1, rows)
    return features, target


@pytest.mark.parametrize("estimator", [AdditiveRegressor(), AdditiveClassifier()], ids=lambda e: type(e).__name__)
def test_passes_scikit_learns_estimator_checks(estimator: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = [f"{result['check_name']}: {result['exception']}" for result in results if result["status"] == "failed"]
    assert failed == []


def test_fits_a_curved_truth_that_a_line_cannot() -> None:
    features, target = curved()
    test_features, test_target = curved(seed=1)
    additive = AdditiveRegressor(n_knots=8, alpha=0.1).fit(features, target)
    line = Ridge().fit(features, target)
    assert additive.score(test_features, test_target) > 0.95
    assert line.score(test_features, test_target) < 0.5


def test_predictions_are_the_sum_of_the_shape_functions() -> None:
    features, target = curved()
    model = AdditiveRegressor().fit(features, target)
    shapes = model.shape_functions(features)
    assert shapes.shape == features.shape
    np.testing.assert_allclose(shapes.sum(axis=1) + model.linear_.intercept_, model.predict(features))
    np.testing.assert_array_equal(shapes[:, 2], 0.0)  # the constant column has no shape function
    grid = np.column_stack([np.linspace(-1.5, 1.5, 7), np.zeros(7), np.full(7, 3.0)])
    first = model.shape_functions(grid)[:, 0]
    truth = np.sin(2 * grid[:, 0])
    assert np.corrcoef(first, truth)[0, 1] > 0.98  # the fitted f_0 has the shape of sin(2 x)


def test_classifies_a_ring_that_logistic_regression_cannot() -> None:
    rng = np.random.default_rng(0)
    features = rng.uniform(-2, 2, (600, 2))
    labels = np.where(np.hypot(features[:, 0], features[:, 1]) < 1.2, "inside", "outside")
    model = AdditiveClassifier(n_knots=8, alpha=0.01).fit(features[:400], labels[:400])
    assert list(model.classes_) == ["inside", "outside"]
    assert model.score(features[400:], labels[400:]) > 0.9
    assert LogisticRegression().fit(features[:400], labels[:400]).score(features[400:], labels[400:]) < 0.75
    probabilities = model.predict_proba(features[400:])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_multiclass_shape_functions_have_one_output_per_class() -> None:
    features, target = curved()
    labels = np.digitize(target, [0.0, 1.0])
    model = AdditiveClassifier().fit(features, labels)
    assert model.shape_functions(features[:5]).shape == (5, 3, 3)


def test_round_trips_through_pickle() -> None:
    features, target = curved()
    model = AdditiveRegressor().fit(features, target)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(features), model.predict(features))


@pytest.mark.parametrize(
    ("parameters", "message"),
    [({"n_knots": 1}, "n_knots must be >= 2"), ({"alpha": -1.0}, "alpha >= 0"), ({"degree": 0}, "degree >= 1")],
)
def test_bad_hyperparameters_say_which(parameters: dict[str, float], message: str) -> None:
    features, target = curved()
    with pytest.raises(ValueError, match=message):
        AdditiveRegressor(**parameters).fit(features, target)


def test_one_class_is_refused() -> None:
    with pytest.raises(ValueError, match="one class only"):
        AdditiveClassifier().fit(np.arange(10.0).reshape(-1, 1), ["a"] * 10)
