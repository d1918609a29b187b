"""Array <-> JSON / CSV / NPY of the serving stack (behaviour of sagemaker_containers/_encoders.py)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from sagemaker_containers import _content_types, _errors


def array_to_npy(array_like: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array_like)
    return buffer.getvalue()


def npy_to_numpy(npy_array: bytes) -> np.ndarray:
    return np.load(io.BytesIO(npy_array), allow_pickle=True)


def array_to_json(array_like: Any) -> str:
    def default(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        return json.JSONEncoder().default(value)

    return json.dumps(array_like, default=default)


def json_to_numpy(string_like: str | bytes, dtype: Any = None) -> np.ndarray:
    return np.array(json.loads(string_like), dtype=dtype)


def csv_to_numpy(string_like: str, dtype: Any = None) -> np.ndarray:
    """CSV rows -> array, squeezed (one row -> 1-D); a failed decoding is a ClientError."""
    try:
        reader = csv.reader(io.StringIO(string_like), delimiter=",", quotechar='"', doublequote=True, strict=True)
        return np.array(list(reader)).squeeze().astype(dtype)
    except Exception as error:
        raise _errors.ClientError(f"Error while decoding csv: {error}") from error


def array_to_csv(array_like: Any) -> str:
    """One line per row; a 1-D array is one value per line."""
    array = np.array(array_like)
    if array.ndim == 1:
        array = array.reshape(array.shape[0], 1)
    stream = io.StringIO()
    try:
        csv.writer(stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True).writerows(
            array
        )
    except csv.Error as error:
        raise _errors.ClientError(f"Error while encoding csv: {error}") from error
    return stream.getvalue()


_ENCODERS = {_content_types.NPY: array_to_npy, _content_types.CSV: array_to_csv, _content_types.JSON: array_to_json}
_DECODERS = {_content_types.NPY: npy_to_numpy, _content_types.CSV: csv_to_numpy, _content_types.JSON: json_to_numpy}


def decode(obj: Any, content_type: str) -> np.ndarray:
    """The exact content type picks the decoder (no parameters); another one is UnsupportedFormatError."""
    if content_type not in _DECODERS:
        raise _errors.UnsupportedFormatError(content_type)
    return _DECODERS[content_type](obj)


def encode(array_like: Any, content_type: str) -> Any:
    if content_type not in _ENCODERS:
        raise _errors.UnsupportedFormatError(content_type)
    return _ENCODERS[content_type](array_like)
