"""Generalized additive models as scikit-learn estimators: each feature gets its own smooth shape function.

Used by the bring-your-own-container mode (container/train, container/serve), and usable anywhere else:
    from additive_model import AdditiveRegressor
    model = AdditiveRegressor(n_knots=8).fit(X, y)
    model.shape_functions(X)  # each feature's additive contribution to every prediction
"""

from .estimator import AdditiveClassifier, AdditiveRegressor

__all__ = ["AdditiveClassifier", "AdditiveRegressor"]
