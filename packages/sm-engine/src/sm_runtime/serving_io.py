"""Request decoding, response encoding and payload validation shared by the inference modules (contract §3, §4).

Accepted request bodies: `text/csv` (no header, `; charset=...` allowed) and `application/json`: a list of rows, a
list of objects keyed by column name, one row (a flat list or one object), or any of these under `{"instances": ...}`;
rows of numbers (preprocessed features) also as `application/x-npy` (a 2-D array in numpy's .npy format, what the
inference pipeline's preprocessor container sends the model container: no text between the two).
Responses: `application/json` or `text/csv` (and `application/x-npy` for a feature matrix), negotiated from the Accept
header (q-values and wildcards understood; absent or `*/*` -> SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else
application/json).

Raw rows (what a preprocessor reads) come in the order of its columns (CSV), or as JSON objects keyed by column name;
their values are read by each column's kind (sm_runtime.tabular). Preprocessed rows are numbers only.

Errors raise PayloadError(status, message): 415 unsupported content type, 406 unsupported accept, 400 bad payload.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from .errors import PayloadError
from .tabular import ColumnValueError

CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
SUPPORTED_TYPES: tuple[str, ...] = (CSV, JSON, NPY)
TEXT_TYPES: tuple[str, ...] = (CSV, JSON)
DEFAULT_ACCEPT_VARIABLE = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
MISSING_TEXTS = ("", "?")


# -- content negotiation -------------------------------------------------------------------------------------------


def split_media_type(header: str) -> tuple[str, dict[str, str]]:
    """`Text/CSV; charset=utf-8` -> ("text/csv", {"charset": "utf-8"})."""
    media_type, *parameters = header.split(";")
    parsed = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"')
    return media_type.strip().lower(), parsed


def request_content_type(header: str | None) -> tuple[str, str]:
    """(media type, charset) of a request; no header means application/json (the sklearn container's default)."""
    media_type, parameters = split_media_type(header or JSON)
    if media_type not in SUPPORTED_TYPES:
        raise PayloadError(415, f"unsupported content type {header!r}: send {CSV} or {JSON}")
    if media_type == NPY:
        return media_type, ""
    charset = parameters.get("charset", "utf-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        raise PayloadError(415, f"unsupported charset {charset!r}: send utf-8") from None
    return media_type, charset


def default_accept() -> str:
    return os.environ.get(DEFAULT_ACCEPT_VARIABLE) or JSON


def response_content_type(accept: str | None, types: Sequence[str] = TEXT_TYPES) -> str:
    """The type of `types` the Accept header prefers (highest q, then header order)."""
    if not accept or not accept.strip():
        accept = default_accept()
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(accept.split(",")):
        media_type, parameters = split_media_type(item)
        quality = _quality(parameters.get("q", "1"))
        choice = _match(media_type, types)
        if choice and quality > 0 and (best is None or (quality, -position) > best[:2]):
            best = (quality, -position, choice)
    if best is None:
        raise PayloadError(406, f"unsupported accept {accept!r}: ask for {' or '.join(types)}")
    return best[2]


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _match(media_type: str, types: Sequence[str]) -> str | None:
    if media_type == "*/*":
        return _match(split_media_type(default_accept())[0], types) or JSON
    if media_type in types:
        return media_type
    wildcard_matches = {"text/*": CSV, "application/*": JSON}
    return wildcard_matches.get(media_type)


# -- decoding ------------------------------------------------------------------------------------------------------


def decode_rows(
    body: object, content_type: str | None, columns: Sequence[str] | None = None
) -> list[list] | np.ndarray:
    """The request body as rows of raw values (strings for CSV, JSON scalars for JSON): a list of rows, or for CSV
    whose lines all have the same number of fields and no quote, a 2-D object array of its fields (read in bulk).

    `columns` names the expected columns: JSON objects are read in that order (keys match case-insensitively,
    `_` standing for a space); without it objects are refused.
    """
    media_type, charset = request_content_type(content_type)
    if media_type == NPY:
        raise PayloadError(415, f"unsupported content type {content_type!r} for raw rows: send {CSV} or {JSON}")
    text = _text(body, charset)
    if not text.strip():
        raise PayloadError(400, "empty request body: send at least one row")
    if media_type == CSV:
        lines = _plain_csv_lines(text)
        rows = _csv_rows(text) if lines is None else _plain_csv_fields(lines)
    else:
        rows = _json_rows(text, columns)
    if not len(rows):
        raise PayloadError(400, "the request has no rows")
    return rows


def decode_matrix(
    body: object,
    content_type: str | None,
    *,
    names: Sequence[str] | None = None,
    width: int | None = None,
    allow_missing: bool = False,
) -> np.ndarray:
    """Rows of numbers (preprocessed features): decode_rows + check_width (when `width` is given) + to_matrix, with a
    vectorised path for plain CSV numbers and .npy arrays. `names` are the column names in error messages. The fast
    path never decides an error: when it cannot read the body, the precise row-by-row path builds the 400.
    """
    media_type, charset = request_content_type(content_type)
    if media_type == NPY:
        return _npy_matrix(body, width, allow_missing, names)
    if media_type == CSV:
        lines = _plain_csv_lines(_text(body, charset))
        matrix = None if lines is None else _fast_csv_matrix(lines, width, allow_missing)
        if matrix is not None:
            return matrix
    rows = decode_rows(body, content_type)
    if width is not None:
        check_width(rows, width, names)
    return to_matrix(rows, allow_missing, names)


def _plain_csv_lines(text: str) -> list[str] | None:
    """The non-blank lines of CSV text without quotes, carriage returns or NUL (where csv.reader splits each line at
    every comma), when all have the same number of fields; else None."""
    text = text.replace("\r\n", "\n")
    if '"' in text or "\r" in text or "\0" in text:
        return None
    body = text[:-1] if text.endswith("\n") else text
    if _may_have_blank_line(body):
        lines = [line for line in text.split("\n") if line.replace(",", "").strip()]
    else:
        lines = body.split("\n")
    return lines if len(set(map(str.count, lines, itertools.repeat(",")))) == 1 else None


BLANK_LINE_START = re.compile(r"\n[\s,]")
ASCII_SPACES = tuple(character for character in map(chr, range(128)) if character.isspace())
SPACE = re.compile(r"\s")
"""What str.strip removes (str.isspace): re's \\s in a str pattern."""


def _may_have_blank_line(body: str) -> bool:
    """Whether a line of `body` (text without its final newline) may hold only commas and whitespace: it is empty,
    or starts with a comma or whitespace (a blank line does)."""
    if not body or body.endswith("\n") or body[0] == "," or body[0].isspace():
        return True
    return BLANK_LINE_START.search(body) is not None


def _has_space(text: str) -> bool:
    if text.isascii():  # a search for each ASCII space character (memchr) instead of a scan of the text in re
        return any(space in text for space in ASCII_SPACES)
    return SPACE.search(text) is not None


def _plain_csv_fields(lines: list[str]) -> np.ndarray:
    """The stripped fields of plain CSV lines (_plain_csv_lines) as a (rows, fields) object array."""
    joined = ",".join(lines)
    fields = joined.split(",")
    if _has_space(joined):
        fields = [field.strip() for field in fields]
    array = np.empty(len(fields), dtype=object)
    array[:] = fields
    return array.reshape(len(lines), -1)


BULK_CSV_ROWS = 2_000
"""Rows from which a plain CSV body of raw rows is read by pandas' C reader (bulk_csv_rows)."""
IRREGULAR_CSV = ('"', "\0", *(space for space in ASCII_SPACES if space != "\n"))
"""What sends a body to the row-by-row path: a quote, a NUL, any whitespace but the line ends."""


def bulk_csv_rows(body: object, content_type: str | None, width: int) -> np.ndarray | None:
    """A CSV body of BULK_CSV_ROWS rows or more, ASCII, without quote, whitespace, NUL or blank line, with `width`
    fields on every line, read by pandas' C reader: a (rows, width) object array whose columns of numbers hold finite
    floats (exactly float() of each field) and the others the text of their fields, which the columns' kinds read as
    they read the fields of decode_rows. None for any other body: decode_rows reads it (and words its errors)."""
    try:
        media_type, charset = request_content_type(content_type)
        text = _text(body, charset) if media_type == CSV else ""
    except PayloadError:
        return None
    body_text = text[:-1] if text.endswith("\n") else text
    lines = body_text.count("\n") + 1
    if lines < BULK_CSV_ROWS or not text.isascii() or any(character in text for character in IRREGULAR_CSV):
        return None
    if body_text.count(",") != (width - 1) * lines or f"\n{',' * (width - 1)}\n" in f"\n{body_text}\n":
        return None  # a blank row (the row-by-row read drops it); pandas skips an empty line, refuses a wider one
    return _bulk_columns(text, lines, width)


def _bulk_columns(text: str, lines: int, width: int) -> np.ndarray | None:
    import pandas as pd  # only the preprocessor container (scikit-learn's) reads raw rows

    try:
        frame = pd.read_csv(
            io.StringIO(text), header=None, keep_default_na=False, na_values=[""], low_memory=False, **_exact_floats(pd)
        )
    except ValueError:  # pandas' ParserError: a line wider than the first
        return None
    if frame.shape != (lines, width):
        return None
    empty = frame.isna().to_numpy()
    if empty.any() and "nan" in text.lower():
        return None  # a NaN may be the number read from "nan" (a bad value), not an empty field
    rows = np.empty(frame.shape, dtype=object)
    for position, (_, column) in enumerate(frame.items()):
        values = _bulk_column(column, empty[:, position])
        if values is None:
            return None
        rows[:, position] = values
    return rows


def _exact_floats(pd: object) -> dict[str, str]:
    """read_csv's option for float() of every number: the round-trip converter before pandas 3.1 (which uses one
    exact converter for all)."""
    version = tuple(int(part) for part in re.findall(r"\d+", pd.__version__)[:2])
    return {} if version >= (3, 1) else {"float_precision": "round_trip"}


def _bulk_column(column: object, empty: np.ndarray) -> np.ndarray | None:
    """One column read by pandas as floats (NaN for an empty field) or as text; None for anything else, for an
    infinite number, and for numbers that are all 0 or 1, which a boolean column reads by their text ("1.0", not
    "1.00")."""
    if column.dtype.kind in "if":
        numbers = column.to_numpy(dtype=float)
        present = numbers[~empty]
        if not np.isfinite(present).all() or np.isin(present, (0.0, 1.0)).all():
            return None
        return numbers.astype(object)
    values = column.to_numpy(dtype=object)
    values[empty] = ""
    return values if set(map(type, values.tolist())) == {str} else None


def _fast_csv_matrix(lines: list[str], width: int | None, allow_missing: bool) -> np.ndarray | None:
    """Plain CSV lines of numbers (and missing markers if allowed) as a float matrix, or None to take the slow path."""
    if width is not None and lines[0].count(",") != width - 1:
        return None
    try:
        matrix = np.loadtxt(lines, dtype=float, delimiter=",", comments=None, ndmin=2)
        missing = None
    except ValueError:
        if not allow_missing:
            return None
        stripped = [field.strip() for field in ",".join(lines).split(",")]
        missing = np.array([field in MISSING_TEXTS for field in stripped])
        try:
            matrix = np.array(["nan" if field in MISSING_TEXTS else field for field in stripped], dtype=float)
        except ValueError:
            return None
    finite = np.isfinite(matrix) if missing is None else np.isfinite(matrix) | missing
    return matrix.reshape(len(lines), -1) if finite.all() else None


def _npy_matrix(body: object, width: int | None, allow_missing: bool, names: Sequence[str] | None) -> np.ndarray:
    """A .npy body: a 2-D (or one row's 1-D) array of real numbers, without pickled objects."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise PayloadError(400, f"an {NPY} body must be bytes")
    if bytes(body[:6]) != b"\x93NUMPY":
        raise PayloadError(400, f"malformed {NPY} body: not a .npy array (numpy.save writes one)")
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise PayloadError(400, f"malformed {NPY} body: {error}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf" or array.ndim not in (1, 2):
        raise PayloadError(400, f"an {NPY} body must hold a 1-D or 2-D array of real numbers")
    matrix = np.atleast_2d(array).astype(float, copy=False)
    if not len(matrix):
        raise PayloadError(400, "the request has no rows")
    if width is not None:
        check_width(matrix, width, names)
    refused = np.isinf(matrix) if allow_missing else ~np.isfinite(matrix)
    if refused.any():
        row, column = np.argwhere(refused)[0]
        name = f" ({names[column]})" if names and column < len(names) else ""
        where = f"row {row + 1}, column {column + 1}{name}"
        raise PayloadError(400, f"{where}: {matrix[row, column]} is not a finite number")
    return matrix


def _text(body: object, charset: str) -> str:
    if isinstance(body, str):
        return body
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise PayloadError(400, "the request body must be text")
    try:
        return bytes(body).decode("utf-8-sig" if charset.lower().replace("_", "-") == "utf-8" else charset)
    except UnicodeDecodeError:
        raise PayloadError(400, f"the request body is not valid {charset} text") from None


def _csv_rows(text: str) -> list[list]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise PayloadError(400, f"malformed CSV: {error}") from None
    return [[field.strip() for field in row] for row in rows if row and any(field.strip() for field in row)]


def _json_rows(text: str, columns: Sequence[str] | None) -> list[list]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(400, f"malformed JSON: {error}") from None
    except ValueError:  # an integer longer than sys.get_int_max_str_digits()
        raise PayloadError(400, "JSON holds an integer with too many digits; send numbers a float can hold") from None
    except RecursionError:
        raise PayloadError(400, "JSON nested too deeply; send a list of rows") from None
    if isinstance(payload, dict) and "instances" in payload:
        payload = payload["instances"]
    if isinstance(payload, dict) or (isinstance(payload, list) and payload and all(_is_scalar(v) for v in payload)):
        payload = [payload]
    if not isinstance(payload, list):
        raise PayloadError(400, 'JSON must be a list of rows, a list of objects, or {"instances": [...]}')
    return [_json_row(item, number, columns) for number, item in enumerate(payload, start=1)]


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float))


def _json_row(item: object, number: int, columns: Sequence[str] | None) -> list:
    if isinstance(item, list):
        if not all(_is_scalar(value) for value in item):
            raise PayloadError(400, f"row {number}: values must be numbers, not nested lists or objects")
        return item
    if isinstance(item, dict):
        if columns is None:
            raise PayloadError(400, f"row {number}: send rows as lists of numbers, not objects")
        return _object_row(item, number, columns)
    raise PayloadError(400, f"row {number}: expected a list of values or an object keyed by column name")


def _object_row(item: dict, number: int, columns: Sequence[str]) -> list:
    values = {_key(str(key)): value for key, value in item.items()}
    absent = [column for column in columns if _key(column) not in values]
    if absent:
        raise PayloadError(400, f"row {number}: missing key(s) {', '.join(map(repr, absent))}")
    known = {_key(column) for column in columns}
    extra = [str(key) for key in item if _key(str(key)) not in known]
    if extra:
        raise PayloadError(
            400, f"row {number}: unknown key(s) {', '.join(map(repr, extra))}; the columns are {', '.join(columns)}"
        )
    row = [values[_key(column)] for column in columns]
    if not all(_is_scalar(value) for value in row):
        raise PayloadError(400, f"row {number}: values must be numbers, not nested lists or objects")
    return row


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


# -- validation ----------------------------------------------------------------------------------------------------


def check_width(rows: Sequence[Sequence[object]], expected: int, columns: Sequence[str] | None = None) -> None:
    """Every row must have `expected` values."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        rows = rows[:1]  # every row of an array has the same width
    for number, row in enumerate(rows, start=1):
        if len(row) != expected:
            names = f": {', '.join(columns)}, in this order" if columns else ""
            raise PayloadError(400, f"row {number} has {len(row)} values, expected {expected}{names}")


def to_matrix(
    rows: Sequence[Sequence[object]], allow_missing: bool = False, columns: Sequence[str] | None = None
) -> np.ndarray:
    """Rows of raw values -> a 2-D float array. Missing values (empty, `?`, null) become NaN if allowed; text that is
    not a number and non-finite numbers are refused with the row and column named."""
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        check_width(rows, len(rows[0]), columns)
    try:
        matrix = np.array(rows, dtype=float)
        if np.isfinite(matrix).all():
            return matrix
    except (TypeError, ValueError, OverflowError):
        pass  # the row-by-row path names the cell
    return np.array(
        [[_value(v, r, c, allow_missing, columns) for c, v in enumerate(values)] for r, values in enumerate(rows)]
    )


def _value(value: object, row: int, column: int, allow_missing: bool, columns: Sequence[str] | None) -> float:
    name = f" ({columns[column]})" if columns and column < len(columns) else ""
    where = f"row {row + 1}, column {column + 1}{name}"
    if value is None or (isinstance(value, str) and value.strip() in MISSING_TEXTS):
        if allow_missing:
            return math.nan
        raise PayloadError(400, f"{where}: missing value")
    if not isinstance(value, (str, int, float)):
        raise PayloadError(400, f"{where}: {value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(400, f"{where}: {value!r} is not a number") from None
    except OverflowError:
        raise PayloadError(400, f"{where}: an integer of {len(str(value))} digits is too large for a number") from None
    if not math.isfinite(number):
        raise PayloadError(400, f"{where}: {value!r} is not a finite number")
    return number


def missing_cells(matrix: np.ndarray) -> str | None:
    """`row R, column C` of the first NaN, or None."""
    positions = np.argwhere(np.isnan(matrix))
    if not len(positions):
        return None
    row, column = positions[0]
    return f"row {row + 1}, column {column + 1}"


# -- encoding ------------------------------------------------------------------------------------------------------


def encode_csv(values: object) -> bytes:
    """A 2-D matrix as one CSV line per row, a 1-D sequence as one value per line; shortest round-trip float text."""
    matrix = np.asarray(values, dtype=float)
    if not matrix.size:
        return b""
    # str() of the (nested) list writes every float with repr (shortest round-trip text) at C speed
    if matrix.ndim == 1:
        text = str(matrix.tolist())[1:-1].replace(", ", "\n")
    else:
        text = str(matrix.tolist())[2:-2].replace("], [", "\n").replace(", ", ",")
    return (text + "\n").encode("utf-8")


def encode_labels(labels: Sequence[str]) -> bytes:
    """One label per line, quoted as CSV where a label needs it (a comma, a quote)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([label] for label in labels)
    return buffer.getvalue().encode("utf-8")


def encode_json(payload: object) -> bytes:
    return json.dumps(payload).encode("utf-8")


def encode_npy(values: object) -> bytes:
    """A matrix in numpy's .npy format (float64, exact)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(values, dtype=float), allow_pickle=False)
    return buffer.getvalue()


def encode_features(matrix: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    """output_fn of a preprocessor container, per Accept: one CSV line per row, `{"instances": [[...], ...]}` (JSON),
    or the .npy array (what the inference pipeline passes to the model container)."""
    content_type = response_content_type(accept, SUPPORTED_TYPES)
    if content_type == CSV:
        return encode_csv(matrix), content_type
    if content_type == NPY:
        return encode_npy(matrix), content_type
    return encode_json({"instances": np.asarray(matrix, dtype=float).tolist()}), content_type


# -- model answers (every framework's model container) -------------------------------------------------------------


class Request(NamedTuple):
    """A request body with its content type (checked: 415), decoded in predict_fn, where the loaded model tells
    whether rows are raw (a preprocessor's columns) or preprocessed features."""

    body: object
    content_type: str | None


def read_request(body: object, content_type: str | None) -> Request:
    """input_fn of every handler chain: the content type is checked now, the body once the model is known."""
    request_content_type(content_type)
    return Request(body, content_type)


class RawRowReader(Protocol):
    """A fitted preprocessor as serving uses it (fast_sklearn.RawPreprocessor)."""

    columns: tuple[str, ...]
    transform: Callable[[list[list] | np.ndarray], np.ndarray]


def raw_features(request: Request, preprocessor: RawRowReader) -> np.ndarray:
    """Raw rows (CSV in the preprocessor's column order, JSON objects by column name) -> the feature matrix; a row
    of the wrong width or a value its column's kind cannot read is a 400 naming the column. A big plain CSV body is
    read in bulk first (bulk_csv_rows); any body or value that path does not take is read by the path below, which
    words every error."""
    bulk_rows = bulk_csv_rows(request.body, request.content_type, len(preprocessor.columns))
    if bulk_rows is not None:
        try:
            return preprocessor.transform(bulk_rows)
        except ColumnValueError:
            pass  # the row-by-row path names the value
    rows = decode_rows(request.body, request.content_type, preprocessor.columns)
    check_width(rows, len(preprocessor.columns), preprocessor.columns)
    try:
        return preprocessor.transform(rows)
    except ColumnValueError as error:
        raise PayloadError(400, str(error)) from None


def model_features(request: Request, n_features: int, preprocessor: RawRowReader | None = None) -> np.ndarray:
    """The matrix a model predicts on: raw rows through the bundled preprocessor when there is one, else
    preprocessed rows of numbers; exactly `n_features` columns without a missing value (400 otherwise)."""
    if preprocessor is None:
        data = decode_matrix(request.body, request.content_type, allow_missing=True)
    else:
        data = raw_features(request, preprocessor)
    check_width(data, n_features)
    missing = missing_cells(data)
    if missing:
        raise PayloadError(400, f"{missing}: missing value (the model expects {n_features} preprocessed features)")
    return data


class Classified(NamedTuple):
    """A classifier's answer: one label per row, and the (rows, classes) probabilities."""

    labels: list[str]
    probabilities: np.ndarray
    classes: tuple[str, ...]


def classified(probabilities: np.ndarray, classes: tuple[str, ...]) -> Classified:
    """The most probable class of each row, with every class's probability (column i = classes[i])."""
    return Classified([classes[code] for code in probabilities.argmax(axis=1)], probabilities, classes)


def encode_prediction(prediction: np.ndarray | Classified, accept: str | None) -> tuple[bytes, str]:
    """output_fn of a model container, per Accept. A regressor: `{"predictions": [...]}` or one value per CSV line.
    A classifier: `{"predictions": [labels], "probabilities": [[...]], "classes": [...]}` or one label per line."""
    content_type = response_content_type(accept)
    if isinstance(prediction, Classified):
        if content_type == CSV:
            return encode_labels(prediction.labels), content_type
        payload = {
            "predictions": prediction.labels,
            "probabilities": prediction.probabilities.tolist(),
            "classes": list(prediction.classes),
        }
        return encode_json(payload), content_type
    values = np.asarray(prediction, dtype=float).ravel()
    if content_type == CSV:
        return encode_csv(values), content_type
    return encode_json({"predictions": values.tolist()}), content_type
