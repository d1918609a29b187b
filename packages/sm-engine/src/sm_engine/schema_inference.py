"""Infer the `data:` section of config/project.yaml from a CSV file: each column's kind, the problem type, the labels.

Standard library only (`csv`, no pandas): the template's bake hook loads this very file from the template checkout,
where neither the engine nor pandas may be installed. Unusable data raises DataError, whose message names the
column and the fix.

The rules, in order (missing values, see MISSING_MARKERS, are left out before any rule looks at a column):
- a column without values, or with one value in every row, is ignored (and reported);
- two values, one of true/yes/1/t/y and one of false/no/0/f/n (any case): boolean;
- numbers: integers that differ in every row and count up one by one or sit in a column named like an ID are
  ignored as ID-like; integers with at most MAX_CODE_VALUES distinct values are codes: categorical; else numeric;
- text: a different value in every row is ignored (ID-like, or free text when it has spaces); more than
  MAX_TEXT_CATEGORIES distinct values, and more than half as many as rows, is free text, ignored; else categorical.
Problem type: 2 target labels -> binary_classification; integers with at most MAX_CODE_VALUES distinct values, or
text -> multiclass_classification; other numbers -> regression. Classes: sorted (numerically when every label is a
number); of 2 labels a recognisable positive one (1, yes, true, positive, ...) goes second, the positive class.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROBLEM_TYPES = ("regression", "binary_classification", "multiclass_classification")
MISSING_MARKERS = ("", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A")
TRUE_WORDS = frozenset({"true", "yes", "1", "t", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "f", "n"})
POSITIVE_LABELS = TRUE_WORDS | {"positive", "pos", "+1", "1.0"}
NEGATIVE_LABELS = FALSE_WORDS | {"negative", "neg", "-1", "0.0"}
MAX_CODE_VALUES = 10
MAX_TEXT_CATEGORIES = 20
MAX_CLASSES = 100
DEFAULT_SPLIT: dict[str, float | int] = {"validation_fraction": 0.15, "test_fraction": 0.15, "seed": 42}
NUMBER_PATTERN = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")
ID_NAME_PATTERN = re.compile(r"(.*[^a-z])?(id|key|uuid|guid|index)", re.IGNORECASE)
PLAIN_PATTERN = re.compile(r"[A-Za-z_]([A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?")
SECTION_COMMENTS = {
    "classes": "code = position in this list; of two labels the second is the positive class",
    "columns": "the feature columns in the order rows reach the endpoint: numeric | categorical | boolean",
    "ignore": "columns of the CSV that the model does not read (IDs, constants, free text)",
    "missing_values": "text that means missing, in the CSV and in request rows",
}
"""The comment each of these keys of the written data section gets."""
YAML_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})
BINARY_SIGNATURES = {b"PK\x03\x04": "a ZIP archive or an Excel .xlsx workbook", b"\x1f\x8b": "a gzip archive"}
CONVERT_HINT = "export or save it as comma-separated text (CSV, UTF-8) with a header line"


class DataError(Exception):
    """The CSV cannot be used as it is; the message says what, where, and how to fix it. `about_target` tells a
    problem of the target column apart from one of the file."""

    def __init__(self, message: str, about_target: bool = False) -> None:
        super().__init__(message)
        self.about_target = about_target


@dataclass(frozen=True)
class Table:
    """A CSV file's header and rows of text, with the line number each row starts on."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        position = self.header.index(name)
        return [row[position] for row in self.rows]


@dataclass(frozen=True)
class DataSchema:
    """What a CSV says about itself: the agreed `data:` keys, plus a note per ignored column."""

    problem_type: str
    target: str
    classes: list[str] | None
    columns: dict[str, str]
    ignore: list[str]
    missing_values: list[str]
    notes: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def section(self, local_path: str, split: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data:` mapping in the agreed key order."""
        return {
            "local_path": local_path,
            "problem_type": self.problem_type,
            "target": self.target,
            "classes": self.classes,
            "columns": dict(self.columns),
            "ignore": list(self.ignore),
            "missing_values": list(self.missing_values),
            "split": dict(split or DEFAULT_SPLIT),
        }


def read_table(path: Path) -> Table:
    """The header and rows of a comma-separated UTF-8 file; DataError for anything else."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror or error}); check the path") from None
    if not raw.strip():
        raise DataError(f"{name} is empty; {CONVERT_HINT}")
    for signature, kind in BINARY_SIGNATURES.items():
        if raw.startswith(signature):
            raise DataError(f"{name} is {kind}, not a CSV file; {CONVERT_HINT}")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} is a binary file (it holds NUL bytes), not a CSV file; {CONVERT_HINT}")
    text = decoded(raw, name)
    try:
        records = list(_records(text))
    except csv.Error as error:
        raise DataError(f"{name} is not a readable CSV file ({error}); {CONVERT_HINT}") from None
    if not records:
        raise DataError(f"{name} is empty; {CONVERT_HINT}")
    (_, header), body = records[0], records[1:]
    check_header(header, name)
    for line, row in body:
        if len(row) != len(header):
            raise DataError(
                f"{name}: line {line} has {len(row)} fields but the header has {len(header)}; quote values that "
                'hold commas ("a, b"), or fix the line'
            )
    if not body:
        raise DataError(f"{name} has a header but no rows of data; add the rows")
    return Table(header, [row for _, row in body], [line for line, _ in body])


def decoded(raw: bytes, name: str) -> str:
    """The file's text (a UTF-8 byte-order mark dropped); DataError naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        stem = name.rsplit(".", 1)[0]
        raise DataError(
            f"{name} is not UTF-8 text (byte 0x{raw[error.start]:02x} on line {line}); convert it, e.g. "
            f"`iconv -f latin1 -t utf-8 {name} > {stem}-utf8.csv` (latin1, or the encoding it was saved in), "
            "and use the converted file"
        ) from None


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    line = 1
    for row in reader:
        if any(value.strip() for value in row):
            records.append((line, row))
        line = reader.line_num + 1
    return records


def check_header(header: list[str], name: str) -> None:
    """A header line: named columns, at least two, each name once, not a line of data."""
    if len(header) < 2:
        separator = next((label for sep, label in ((";", "semicolons"), ("\t", "tabs")) if sep in header[0]), None)
        cause = f"it looks separated by {separator}" if separator else "a table needs the target and features"
        raise DataError(f"{name} has one column only ({cause}); save it comma-separated with a header line")
    for position, column in enumerate(header, start=1):
        if not column.strip():
            raise DataError(f"{name}: column {position} of the header has no name; name it in the first line")
        if is_number(column):
            raise DataError(
                f"{name} has no header: its first line looks like data (column {position} is {column!r}, a number); "
                "add a first line with the column names"
            )
    seen: dict[str, int] = {}
    for position, column in enumerate(header, start=1):
        if column in seen:
            raise DataError(
                f"{name}: the column name {column!r} appears twice (columns {seen[column]} and {position}); "
                "rename one of them in the header"
            )
        seen[column] = position


def is_number(text: str) -> bool:
    return NUMBER_PATTERN.fullmatch(text) is not None


def is_integer(text: str) -> bool:
    return is_number(text) and float(text).is_integer()


def missing_markers(table: Table) -> list[str]:
    """The markers of MISSING_MARKERS that occur in the rows; "" (an empty field) always."""
    present = {value for row in table.rows for value in row}
    return [marker for marker in MISSING_MARKERS if marker == "" or marker in present]


def column_kind(name: str, values: list[str], n_rows: int) -> tuple[str | None, str]:
    """(kind, "") of a feature column, or (None, why it is ignored); `values` are its non-missing ones."""
    distinct = Counter(values)
    if not distinct:
        return None, "no values: every row is missing"
    if len(distinct) == 1:
        return None, f"constant: {next(iter(distinct))!r} in every row"
    if is_boolean(distinct):
        return "boolean", ""
    unique_per_row = len(distinct) == n_rows
    if all(is_number(value) for value in distinct):
        if unique_per_row and all(is_integer(value) for value in distinct) and is_id_like(name, distinct):
            return None, "ID-like: a different integer in every row"
        if all(is_integer(value) for value in distinct) and len(distinct) <= MAX_CODE_VALUES:
            return "categorical", ""
        return "numeric", ""
    if unique_per_row:
        spaced = any(" " in value.strip() for value in distinct)
        return None, "free text: a different text in every row" if spaced else "ID-like: a different value in every row"
    if len(distinct) > MAX_TEXT_CATEGORIES and len(distinct) > len(values) / 2:
        return None, (
            f"free text: {len(distinct)} distinct values in {len(values)} rows, too many categories; list it under "
            "columns as categorical to use it anyway"
        )
    return "categorical", ""


def is_boolean(distinct: Counter[str]) -> bool:
    words = {value.strip().lower() for value in distinct}
    return len(distinct) == 2 and len(words & TRUE_WORDS) == 1 and len(words & FALSE_WORDS) == 1


def is_id_like(name: str, distinct: Counter[str]) -> bool:
    """Integers unique per row that count up one by one, or sit in a column named like an ID."""
    numbers = sorted(int(float(value)) for value in distinct)
    return ID_NAME_PATTERN.fullmatch(name.strip()) is not None or numbers[-1] - numbers[0] + 1 == len(numbers)


def target_labels(table: Table, target: str, missing: list[str]) -> list[str]:
    """The target's values, one per row; DataError when the column is absent or a row has none."""
    if target not in table.header:
        raise DataError(
            f"target {target!r} is not a column of the file; choose one of: {', '.join(table.header)}",
            about_target=True,
        )
    labels = table.column(target)
    empty = [line for line, label in zip(table.lines, labels, strict=True) if label in missing]
    if len(empty) == len(labels):
        raise DataError(f"target {target!r} is empty: no row has a value; choose another column", about_target=True)
    if empty:
        shown = ", ".join(str(line) for line in empty[:5]) + (", ..." if len(empty) > 5 else "")
        raise DataError(
            f"target {target!r} has no value in {len(empty)} row(s) (line {shown}); fill them in or remove those rows",
            about_target=True,
        )
    return labels


def guess_problem_type(labels: list[str]) -> str:
    distinct = set(labels)
    if len(distinct) <= 2:
        return "binary_classification"
    if all(is_number(label) for label in distinct):
        codes = all(is_integer(label) for label in distinct) and len(distinct) <= MAX_CODE_VALUES
        return "multiclass_classification" if codes else "regression"
    return "multiclass_classification"


def check_problem_type(target: str, labels: list[str], problem_type: str) -> None:
    """DataError when the target's values cannot be that problem type."""
    distinct = set(labels)
    count = len(distinct)
    if problem_type not in PROBLEM_TYPES:
        raise DataError(f"problem type {problem_type!r} is unknown; choose one of {', '.join(PROBLEM_TYPES)}")
    if count == 1:
        raise DataError(
            f"target {target!r} has a single value ({labels[0]!r}) in every row: there is nothing to learn; add rows "
            "of the other class(es) or choose another target",
            about_target=True,
        )
    if problem_type == "regression":
        text = next((label for label in labels if not is_number(label)), None)
        if text is not None:
            raise DataError(
                f"target {target!r} is not a number in every row (e.g. {text!r}), so a regression cannot predict "
                f"it; choose problem type {guess_problem_type(labels)}",
                about_target=True,
            )
        if count == 2:
            raise DataError(
                f"target {target!r} has two values only, a regression does not fit; choose problem type "
                "binary_classification",
                about_target=True,
            )
    elif problem_type == "binary_classification" and count != 2:
        raise DataError(
            f"target {target!r} has {count} distinct values, binary_classification needs exactly 2; choose problem "
            f"type {guess_problem_type(labels)}",
            about_target=True,
        )
    elif problem_type == "multiclass_classification" and not 3 <= count <= MAX_CLASSES:
        fitting = "binary_classification" if count == 2 else "regression (a number to predict)"
        raise DataError(
            f"target {target!r} has {count} distinct values, multiclass_classification takes 3 to {MAX_CLASSES}; "
            f"choose problem type {fitting}",
            about_target=True,
        )


def ordered_classes(labels: list[str]) -> list[str]:
    """The labels in code order: sorted (numerically when all are numbers); of two, the positive one second."""
    distinct = set(labels)
    if all(is_number(label) for label in distinct):
        ordered = sorted(distinct, key=lambda label: (float(label), label))
    else:
        ordered = sorted(distinct, key=lambda label: (label.casefold(), label))
    if len(ordered) == 2:
        first, second = (label.strip().lower() for label in ordered)
        if (first in POSITIVE_LABELS and second not in POSITIVE_LABELS) or (
            second in NEGATIVE_LABELS and first not in NEGATIVE_LABELS
        ):
            ordered.reverse()
    return ordered


def check_classes(target: str, labels: list[str], classes: list[str], split: dict[str, Any]) -> None:
    """Labels the config can hold, and enough rows of each for the stratified split to give every split one."""
    for label in classes:
        if label != label.strip():
            raise DataError(
                f"target {target!r}: the label {label!r} has leading or trailing spaces; remove them in the file",
                about_target=True,
            )
    smallest = min(float(split["validation_fraction"]), float(split["test_fraction"]))
    needed = max(3, math.ceil(1 / smallest))
    counts = Counter(labels)
    scarce = [label for label in classes if counts[label] < needed]
    if scarce:
        shown = ", ".join(f"{label!r} ({counts[label]} rows)" for label in scarce[:5])
        raise DataError(
            f"target {target!r}: class {shown} has too few rows for the stratified split (validation "
            f"{split['validation_fraction']}, test {split['test_fraction']}), which needs {needed} per class; add "
            "rows of that class, merge it with another, or remove its rows",
            about_target=True,
        )


def check_row_count(table: Table, split: dict[str, Any], name: str) -> None:
    """Enough rows for a train, a validation and a test split (the processing job's own rule)."""
    n_rows = len(table.rows)
    n_validation = max(1, round(n_rows * float(split["validation_fraction"])))
    n_test = max(1, round(n_rows * float(split["test_fraction"])))
    if n_rows - n_validation - n_test < 1:
        raise DataError(f"{name} has {n_rows} row(s), too few to split into train, validation and test; add rows")


def infer_schema(
    path: Path | str, target: str, problem_type: str | None = None, split: dict[str, Any] | None = None
) -> DataSchema:
    """The data section that `path` supports with `target` as the target; `problem_type` None: inferred."""
    path = Path(path)
    split = dict(split or DEFAULT_SPLIT)
    table = read_table(path)
    missing = missing_markers(table)
    labels = target_labels(table, target, missing)
    problem_type = problem_type or guess_problem_type(labels)
    check_problem_type(target, labels, problem_type)
    check_row_count(table, split, path.name)
    classes = None
    if problem_type != "regression":
        classes = ordered_classes(labels)
        check_classes(target, labels, classes, split)
    columns: dict[str, str] = {}
    notes: dict[str, str] = {}
    for name in table.header:
        if name == target:
            continue
        values = [value for value in table.column(name) if value not in missing]
        kind, note = column_kind(name, values, len(table.rows))
        if kind is None:
            notes[name] = note
        else:
            columns[name] = kind
    if not columns:
        reasons = "; ".join(f"{name!r}: {note}" for name, note in notes.items()) or "there is none"
        raise DataError(
            f"{path.name} has no usable feature column besides the target {target!r} ({reasons}); add feature columns"
        )
    return DataSchema(problem_type, target, classes, columns, list(notes), missing, notes, len(table.rows))


def needs_quotes(text: str) -> bool:
    """True when a plain YAML scalar would not read back as this very string (YAML 1.1 words, numbers, symbols)."""
    return PLAIN_PATTERN.fullmatch(text) is None or text.lower() in YAML_WORDS


def yaml_scalar(value: Any) -> str:
    """One YAML scalar: null, a number, or a string, quoted where needed (JSON's double quotes are valid YAML)."""
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if needs_quotes(text) else text


def section_yaml(section: dict[str, Any], notes: dict[str, str]) -> str:
    """The `data:` block as YAML text, with a comment saying why each ignored column is ignored."""
    lines = ["data:"]
    for key, value in section.items():
        comment = f"   # {SECTION_COMMENTS[key]}" if key in SECTION_COMMENTS and value is not None else ""
        if isinstance(value, dict):
            lines.append(f"  {key}:{comment}")
            lines += [f"    {yaml_scalar(name)}: {yaml_scalar(item)}" for name, item in value.items()]
        elif key == "ignore" and value:
            lines.append(f"  {key}:{comment}")
            lines += [f"    - {yaml_scalar(name)}   # {notes[name]}" for name in value]
        elif isinstance(value, list):
            lines.append(f"  {key}: [{', '.join(yaml_scalar(item) for item in value)}]{comment}")
        else:
            lines.append(f"  {key}: {yaml_scalar(value)}")
    return "\n".join(lines) + "\n"
