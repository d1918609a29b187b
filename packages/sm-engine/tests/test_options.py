"""`name=value` options: typed values are read as JSON first, else kept as the text typed."""

from __future__ import annotations

from typing import Any

import pytest

from sm_engine.options import parse_assignments


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("8", 8),
        ("-2.5", -2.5),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1,2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ('"8"', "8"),
        ("on", "on"),
        ("yes", "yes"),
        ("True", "True"),
        ("0x1A", "0x1A"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("gbtree", "gbtree"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_a_typed_value_is_json_first_else_the_text(text: str, value: Any) -> None:
    parsed = parse_assignments([f"lr={text}"], "--hyperparameter", "max_depth=8", typed=True)["lr"]
    assert parsed == value
    assert type(parsed) is type(value)


def test_an_untyped_value_stays_text() -> None:
    assert parse_assignments(["lr=1e-3", "flag=true"], "--parameter", "a=1") == {"lr": "1e-3", "flag": "true"}
