"""Raw tabular values read by their column's kind, the same way in the processing job and at the endpoint.

The kinds are those of `data.columns` in config/project.yaml:
- numeric: a float;
- categorical: text; a number is written canonically, so that "8", 8 and 8.0 are the same category;
- boolean: 1.0 for true/yes/1/t/y, 0.0 for false/no/0/f/n (any case); anything else is an error.
Missing values (None, NaN, an empty field, or one of the data set's markers, data.missing_values) become NaN, which
the preprocessor's imputers fill. numpy only: the serving containers import this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping

import numpy as np

DATA_SCHEMA_FILE = "data_schema.json"
"""The column schema of config/project.yaml's `data:` that the engine puts beside the job scripts."""
KINDS = ("numeric", "categorical", "boolean")
TRUE_WORDS = frozenset({"true", "yes", "1", "t", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "f", "n"})


class ColumnValueError(ValueError):
    """A value that its column's kind cannot read: the row (0-based position in the batch), column and value."""

    def __init__(self, row: int, column: str, value: object, problem: str) -> None:
        self.row, self.column, self.value, self.problem = row, column, value, problem
        super().__init__(f"row {row + 1}, column {column!r}: {value!r} {problem}")


def typed_columns(rows: np.ndarray, columns: Mapping[str, str], missing: Collection[str]) -> dict[str, np.ndarray]:
    """A 2-D object array of raw values, one column per entry of `columns` (name -> kind) in that order, as one
    array per column: numeric and boolean as floats, categorical as text (object), NaN where a value is missing."""
    return {
        name: column_values(rows[:, position], kind, name, missing)
        for position, (name, kind) in enumerate(columns.items())
    }


def column_values(values: np.ndarray, kind: str, name: str, missing: Collection[str]) -> np.ndarray:
    """One column of raw values read as `kind` (ColumnValueError naming the first bad value)."""
    if kind == "numeric":
        numbers = _bulk_numbers(values, missing)
        if numbers is not None:
            return numbers
        return np.array([_number(value, row, name, missing) for row, value in enumerate(values)], dtype=float)
    if kind == "categorical" and _all_floats(values):
        return _float_categories(values, name, missing)
    read = _category if kind == "categorical" else _boolean
    result = np.empty(len(values), dtype=object if kind == "categorical" else float)
    if _all_text(values):
        result[:] = _read_distinct(values.tolist(), read, name, missing)
        return result
    seen: dict[object, object] = {}
    for row, value in enumerate(values):
        key = (type(value), value)
        if key not in seen:
            seen[key] = read(value, row, name, missing)
        result[row] = seen[key]
    return result


def _bulk_numbers(values: np.ndarray, missing: Collection[str]) -> np.ndarray | None:
    """A numeric column read at once when every value is a finite number, a missing value (NaN, None), or text that is
    one or a missing marker (NaN); None where the value-by-value path must decide (it names the first bad value)."""
    try:
        numbers = values.astype(float)
        return numbers if _finite_or_missing(values, numbers) else None
    except (TypeError, ValueError, OverflowError):
        pass
    if not _all_text(values):
        return None
    markers = {"", *missing}
    texts = values.tolist()
    absent_texts = {text for text in dict.fromkeys(texts) if text.strip() in markers}  # each distinct text once
    absent = np.fromiter(map(absent_texts.__contains__, texts), dtype=bool, count=len(texts))
    present = values.copy()
    present[absent] = "nan"
    try:
        numbers = present.astype(float)
    except (ValueError, OverflowError):
        return None
    return numbers if (np.isfinite(numbers) | absent).all() else None


def _finite_or_missing(values: np.ndarray, numbers: np.ndarray) -> bool:
    """Whether each of `numbers` (`values` as floats) is finite, or NaN read from a missing value that is not text
    (NaN, None: text such as "nan" is an error, which the value-by-value path words)."""
    unfinished = ~np.isfinite(numbers)
    if not unfinished.any():
        return True
    return bool(np.isnan(numbers[unfinished]).all()) and not any(isinstance(v, str) for v in values[unfinished])


def _all_text(values: np.ndarray) -> bool:
    return set(map(type, values.tolist())) == {str}


def _all_floats(values: np.ndarray) -> bool:
    return set(map(type, values.tolist())) == {float}


def _float_categories(values: np.ndarray, name: str, missing: Collection[str]) -> np.ndarray:
    """A categorical column of floats (a CSV column of numbers read in bulk), each distinct number read once."""
    distinct, inverse = np.unique(values.astype(float), return_inverse=True)
    categories = np.empty(len(distinct), dtype=object)
    categories[:] = [_category(number, 0, name, missing) for number in distinct.tolist()]
    return categories[inverse.ravel()]


Reader = Callable[[object, int, str, Collection[str]], object]


def _read_distinct(texts: list[str], read: Reader, name: str, missing: Collection[str]) -> list:
    """`read` of every text, run once per distinct text in the order of first appearance (so that an error names
    the first bad row, as the row-by-row read does)."""
    read_texts = {}
    for text in dict.fromkeys(texts):
        try:
            read_texts[text] = read(text, 0, name, missing)
        except ColumnValueError as error:
            raise ColumnValueError(texts.index(text), name, text, error.problem) from None
    return list(map(read_texts.__getitem__, texts))


def is_missing(value: object, missing: Collection[str]) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and (not value.strip() or value.strip() in missing)


def _number(value: object, row: int, name: str, missing: Collection[str]) -> float:
    if is_missing(value, missing):
        return math.nan
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer too large for a float
        raise ColumnValueError(row, name, value, "is not a number") from None
    if not math.isfinite(number):
        raise ColumnValueError(row, name, value, "is not a finite number")
    return number


def _category(value: object, row: int, name: str, missing: Collection[str]) -> object:
    if is_missing(value, missing):
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ColumnValueError(row, name, value, "is not a category (text or a number)")
    text = value.strip() if isinstance(value, str) else value
    try:
        number = float(text)
    except (ValueError, OverflowError):
        return text
    return canonical_number(number) if math.isfinite(number) else str(text)


def canonical_number(number: float) -> str:
    """8.0 -> "8", 2.5 -> "2.5": the text of a number used as a category."""
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _boolean(value: object, row: int, name: str, missing: Collection[str]) -> float:
    if is_missing(value, missing):
        return math.nan
    if isinstance(value, (bool, int, float)) and value in (0, 1):
        return float(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS or word in ("1.0",):
        return 1.0
    if word in FALSE_WORDS or word in ("0.0",):
        return 0.0
    raise ColumnValueError(row, name, value, "is not a boolean (true/false, yes/no, 1/0, t/f, y/n)")
