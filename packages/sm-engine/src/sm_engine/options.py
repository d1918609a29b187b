"""Command-line `name=value` options (`train --hyperparameter`, `pipeline start --parameter`), parsed in one place."""

from __future__ import annotations

import json
from typing import Any

from .errors import UserError


class OptionError(UserError, ValueError):
    """A malformed command-line option; the message shows the expected form."""


def parse_assignments(pairs: list[str], option: str, example: str, *, typed: bool = False) -> dict[str, Any]:
    """`name=value` pairs as a dict; with `typed`, each value is read as JSON when it is JSON (`8` an int, `1e-3` a
    float, `true` a bool, `[1, 2]` a list) and stays the string it is otherwise (`on`, `gbtree`). A pair without `=`
    or without a name is an OptionError."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise OptionError(f"{option} {pair!r}: expected name=value, e.g. {option} {example}")
        values[name] = json_or_text(value) if typed else value
    return values


def json_or_text(value: str) -> Any:
    """The JSON value the text spells, or the text itself (JSON has no NaN or Infinity: those stay text too)."""
    try:
        return json.loads(value, parse_constant=_not_json)
    except ValueError:
        return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")
