"""Array -> JSON / CSV / NPY of the inference toolkit (behaviour of sagemaker_inference/encoder.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from sagemaker_inference import content_types, errors


def _array_to_json(array_like: Any) -> str:
    def default(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        return json.JSONEncoder().default(value)

    return json.dumps(array_like, default=default)


def _array_to_npy(array_like: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array_like)
    return buffer.getvalue()


def _array_to_csv(array_like: Any) -> str:
    """numpy.savetxt layout: a 1-D array is one value per line."""
    stream = io.StringIO()
    np.savetxt(stream, array_like, delimiter=",", fmt="%s")
    return stream.getvalue()


_ENCODERS = {content_types.NPY: _array_to_npy, content_types.CSV: _array_to_csv, content_types.JSON: _array_to_json}
SUPPORTED_CONTENT_TYPES = set(_ENCODERS)


def encode(array_like: Any, content_type: str) -> Any:
    if content_type not in _ENCODERS:
        raise errors.UnsupportedFormatError(content_type)
    return _ENCODERS[content_type](array_like)
