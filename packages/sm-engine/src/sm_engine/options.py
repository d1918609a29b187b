"""Command-line `name=value` options (`train --hyperparameter`, `pipeline start --parameter`), parsed in one place."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import UserError


class OptionError(UserError, ValueError):
    """A malformed command-line option; the message shows the expected form."""


def parse_assignments(pairs: list[str], option: str, example: str, *, typed: bool = False) -> dict[str, Any]:
    """`name=value` pairs as a dict; with `typed`, values are read as YAML scalars, as in the config (`8` is an int,
    `0.5` a float, anything unparsable stays a string). A pair without `=` or without a name is an OptionError."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise OptionError(f"{option} {pair!r}: expected name=value, e.g. {option} {example}")
        values[name] = _scalar(value) if typed else value
    return values


def _scalar(value: str) -> Any:
    if not value:
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value
