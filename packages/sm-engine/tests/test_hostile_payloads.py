"""Request bodies built to break the decoder (huge integers, deep nesting) are a 400 naming the problem, never a 500."""

from __future__ import annotations

import numpy as np
import pytest

from sm_runtime import serving_io
from sm_runtime.serving_io import PayloadError
from sm_runtime.tabular import ColumnValueError, column_values

HOSTILE_JSON_BODIES: dict[str, tuple[bytes, str]] = {
    "a 400-digit integer": (b"[[" + b"1" * 400 + b", 2]]", "row 1, column 1: an integer of 400 digits is too large"),
    "a 5,000-digit integer": (b"[[" + b"1" * 5000 + b", 2]]", "an integer with too many digits"),
    "100,000 levels deep": (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
}


@pytest.mark.parametrize("case", HOSTILE_JSON_BODIES)
def test_a_hostile_json_body_is_a_400(case: str) -> None:
    body, expected = HOSTILE_JSON_BODIES[case]
    with pytest.raises(PayloadError, match=expected) as raised:
        serving_io.decode_matrix(body, "application/json", width=2)
    assert raised.value.status == 400


def test_a_huge_integer_in_a_numeric_column_is_named() -> None:
    with pytest.raises(ColumnValueError, match="weight"):
        column_values(np.array([10**400, 3], dtype=object), "numeric", "weight", ())


def test_a_huge_integer_in_a_categorical_column_is_a_category() -> None:
    assert list(column_values(np.array([10**400, 3], dtype=object), "categorical", "origin", ())) == [10**400, "3"]
