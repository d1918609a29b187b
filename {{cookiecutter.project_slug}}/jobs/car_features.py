"""The example custom transformer of the sample data (Auto MPG): a car's age, from its model year.

The sample config switches it on with `data.transformers: [car_features.CarFeatures]`. Add your own the same way:
1. a scikit-learn transformer (BaseEstimator + TransformerMixin) in a module of its own under jobs/, whose
   `transform` takes and returns a pandas DataFrame (the raw columns read by kind: numbers as floats, categories as
   text, NaN where a value is missing);
2. two class attributes: `consumes`, the columns of data.columns it reads (they reach the model only through what it
   produces), and `produces`, each new column -> its kind (numeric, categorical or boolean), which the generic
   imputation, scaling and one-hot encoding of features.py then treat like declared columns;
3. `module.Class` in data.transformers (they run in the listed order).

Why a module of its own (the joblib `__main__` pitfall): pickle saves an object's class as module + name. Defined in
the script that fits it (preprocess.py runs as `__main__`), the class would be saved as `__main__.CarFeatures`, which
the endpoint, whose `__main__` is the model server, cannot import: loading the preprocessor would fail. Defined here,
it is saved as `car_features.CarFeatures`, which every container imports from the code beside its handlers.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

MODEL_YEAR = "model year"


class CarFeatures(BaseEstimator, TransformerMixin):
    """`age` = reference year - model year (two-digit years such as 70 read as 1970), in place of the model year."""

    consumes: ClassVar[tuple[str, ...]] = (MODEL_YEAR,)
    produces: ClassVar[dict[str, str]] = {"age": "numeric"}

    def __init__(self, reference_year: int = 1983) -> None:
        self.reference_year = reference_year

    def fit(self, X: pd.DataFrame, y: object = None) -> CarFeatures:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        years = X[MODEL_YEAR].to_numpy(dtype=float)
        return X.assign(age=self.reference_year - np.where(years >= 100, years, years + 1900))
