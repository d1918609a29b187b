"""AdditiveRegressor and AdditiveClassifier: B-spline shape functions per feature, then one penalised linear fit.

The model is `g(E[y]) = b + f_1(x_1) + ... + f_p(x_p)`: every f_j is a cubic B-spline with `n_knots` knots spread
uniformly over the feature's training range (linear beyond it), fitted jointly with an L2 penalty `alpha` (identity link
with Ridge for regression, logit/softmax link with LogisticRegression for classification). Features that are constant
in the training data get no shape function. Additivity makes each f_j readable: `shape_functions(X)` returns them.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


class _AdditiveModel(BaseEstimator):
    """What both estimators share: the per-feature spline basis and the shape functions."""

    def __init__(self, n_knots: int = 6, degree: int = 3, alpha: float = 1.0) -> None:
        self.n_knots = n_knots
        self.degree = degree
        self.alpha = alpha

    def _fit_basis(self, X: np.ndarray) -> np.ndarray:
        if int(self.n_knots) < 2 or int(self.degree) < 1 or float(self.alpha) < 0:
            raise ValueError("n_knots must be >= 2, degree >= 1 and alpha >= 0")
        if len(X) < 2:
            raise ValueError(f"an additive model needs at least 2 samples; got n_samples={len(X)}")
        self.varying_ = np.flatnonzero(np.ptp(X, axis=0) > 0)
        self.splines_ = SplineTransformer(n_knots=int(self.n_knots), degree=int(self.degree), extrapolation="linear")
        if len(self.varying_) == 0:
            return np.zeros((len(X), 0))
        return self.splines_.fit_transform(X[:, self.varying_])

    def _basis(self, X: np.ndarray) -> np.ndarray:
        if len(self.varying_) == 0:
            return np.zeros((len(X), 0))
        return self.splines_.transform(X[:, self.varying_])

    def _decision(self, X: object) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._basis(X) @ self.linear_.coef_.T + self.linear_.intercept_

    def shape_functions(self, X: object) -> np.ndarray:
        """(rows, features[, outputs]) contribution of each feature to the linear predictor; 0 for constant ones."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        coef = np.atleast_2d(self.linear_.coef_)
        per_feature = coef.shape[1] // max(1, len(self.varying_))
        contributions = np.zeros((len(X), X.shape[1], coef.shape[0]))
        basis = self._basis(X)
        for position, feature in enumerate(self.varying_):
            block = slice(position * per_feature, (position + 1) * per_feature)
            contributions[:, feature, :] = basis[:, block] @ coef[:, block].T
        return contributions[:, :, 0] if coef.shape[0] == 1 else contributions


class AdditiveRegressor(RegressorMixin, _AdditiveModel):
    """Regression GAM: identity link, Ridge penalty `alpha` on the spline coefficients."""

    def fit(self, X: object, y: object) -> AdditiveRegressor:
        X, y = validate_data(self, X, y, y_numeric=True)
        self.linear_ = Ridge(alpha=float(self.alpha)).fit(self._fit_basis(X), y)
        return self

    def predict(self, X: object) -> np.ndarray:
        return self._decision(X)


class AdditiveClassifier(ClassifierMixin, _AdditiveModel):
    """Classification GAM: logit (binary) or softmax (multiclass) link, L2 penalty `alpha` (C = 1 / alpha)."""

    def __init__(self, n_knots: int = 6, degree: int = 3, alpha: float = 1.0, max_iter: int = 1000) -> None:
        super().__init__(n_knots=n_knots, degree=degree, alpha=alpha)
        self.max_iter = max_iter

    def fit(self, X: object, y: object) -> AdditiveClassifier:
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 1:
            raise ValueError("the training data hold one class only; a classifier needs at least two")
        penalty = 1.0 / float(self.alpha) if float(self.alpha) > 0 else 1e12
        self.linear_ = LogisticRegression(C=penalty, max_iter=int(self.max_iter)).fit(self._fit_basis(X), y)
        self.n_iter_ = self.linear_.n_iter_
        return self

    def predict_proba(self, X: object) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.linear_.predict_proba(self._basis(X))

    def predict(self, X: object) -> np.ndarray:
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]
