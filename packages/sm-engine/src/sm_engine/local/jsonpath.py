"""The JSONPath subset of batch transform filters (contract §5).

Supported: `$`, `$[i]`, `$[a:b]` (END-INCLUSIVE, as SageMaker's filters), negative indices, unions of indices and
slices (`$[i,j]`, `$[0,5:]`: the API reference's "column 0 and columns 5 on"), `$.key`, `$['key']`, `$['a','b']`, and
chains of these (`$.features[0:2]`). A union of indices, slices or keys selects several values.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from ..errors import UserError

MAX_LENGTH = 63
_KEY = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_INDEX = re.compile(r"-?\d+")
_SLICE = re.compile(r"(-?\d*):(-?\d*)")
_QUOTED = re.compile(r"""'([^']*)'|"([^"]*)\"""")


class JsonPathError(UserError, ValueError):
    """The path is outside the supported subset or does not match the data."""


@dataclass(frozen=True)
class _Step:
    kind: str  # "key", "keys", "index", "slice", "union" (of index and slice steps)
    value: Any


def _bracket_step(path: str, content: str) -> _Step:
    content = content.strip()
    if _INDEX.fullmatch(content):
        return _Step("index", int(content))
    if slice_match := _SLICE.fullmatch(content):
        start, end = (int(part) if part else None for part in slice_match.groups())
        return _Step("slice", (start, end))
    parts = [part.strip() for part in content.split(",")]
    if len(parts) > 1 and all(_INDEX.fullmatch(part) or _SLICE.fullmatch(part) for part in parts):
        return _Step("union", [_bracket_step(path, part) for part in parts])
    keys = []
    for part in parts:
        quoted = _QUOTED.fullmatch(part)
        if not quoted:
            raise JsonPathError(f"unsupported JSONPath {path!r}: cannot read [{content}]")
        keys.append(quoted.group(1) if quoted.group(1) is not None else quoted.group(2))
    return _Step("key", keys[0]) if len(keys) == 1 else _Step("keys", keys)


@functools.lru_cache(maxsize=256)
def parse(path: str) -> tuple[_Step, ...]:
    """The steps of a path; JsonPathError for anything outside the subset."""
    if len(path) > MAX_LENGTH:
        raise JsonPathError(f"JSONPath {path!r} is longer than {MAX_LENGTH} characters")
    if not path.startswith("$"):
        raise JsonPathError(f"unsupported JSONPath {path!r}: it must start with '$'")
    steps, position = [], 1
    while position < len(path):
        if key := _KEY.match(path, position):
            steps.append(_Step("key", key.group(1)))
            position = key.end()
        elif bracket := _BRACKET.match(path, position):
            steps.append(_bracket_step(path, bracket.group(1)))
            position = bracket.end()
        else:
            raise JsonPathError(
                f"unsupported JSONPath {path!r} at {path[position:]!r} "
                "(supported: $, $[i], $[i,j], $[a:b], $[i,a:], $.key, $['key'], $['a','b'])"
            )
    return tuple(steps)


def _list(path: str, value: Any) -> list:
    if not isinstance(value, list):
        raise JsonPathError(f"JSONPath {path!r} indexes a {type(value).__name__}, not an array")
    return value


def _dict(path: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise JsonPathError(f"JSONPath {path!r} selects a key of a {type(value).__name__}, not an object")
    return value


def _index(path: str, values: list, index: int) -> Any:
    if not -len(values) <= index < len(values):
        raise JsonPathError(f"JSONPath {path!r}: index {index} is out of range for {len(values)} values")
    return values[index]


def _key(path: str, mapping: dict, key: str) -> Any:
    if key not in mapping:
        raise JsonPathError(f"JSONPath {path!r}: key {key!r} not found")
    return mapping[key]


def _apply_step(path: str, step: _Step, value: Any) -> Any:
    if step.kind == "key":
        return _key(path, _dict(path, value), step.value)
    if step.kind == "keys":
        mapping = _dict(path, value)
        return [_key(path, mapping, key) for key in step.value]
    values = _list(path, value)
    if step.kind == "index":
        return _index(path, values, step.value)
    if step.kind == "union":
        selected: list = []
        for part in step.value:
            picked = _apply_step(path, part, values)
            selected.extend(picked if part.kind == "slice" else [picked])
        return selected
    start, end = step.value
    stop = None if end is None or end == -1 else end + 1  # end-inclusive
    return values[start:stop]


def apply(path: str, value: Any) -> Any:
    """Select from `value` (parsed JSON, or a CSV row as a list) with a supported JSONPath."""
    result = value
    for step in parse(path):
        result = _apply_step(path, step, result)
    return result
