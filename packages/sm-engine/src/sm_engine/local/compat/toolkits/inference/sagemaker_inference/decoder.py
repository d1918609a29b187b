"""JSON / CSV / NPY / NPZ -> array of the inference toolkit (behaviour of sagemaker_inference/decoder.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import scipy.sparse

from sagemaker_inference import content_types, errors


def _json_to_numpy(string_like: str | bytes, dtype: Any = None) -> np.ndarray:
    return np.array(json.loads(string_like), dtype=dtype)


def _csv_to_numpy(string_like: str, dtype: Any = None) -> np.ndarray:
    return np.genfromtxt(io.StringIO(string_like), dtype=dtype, delimiter=",")


def _npy_to_numpy(npy_array: bytes) -> np.ndarray:
    return np.load(io.BytesIO(npy_array), allow_pickle=True)


def _npz_to_sparse(npz_bytes: bytes) -> scipy.sparse.spmatrix:
    return scipy.sparse.load_npz(io.BytesIO(npz_bytes))


_DECODERS = {
    content_types.NPY: _npy_to_numpy,
    content_types.CSV: _csv_to_numpy,
    content_types.JSON: _json_to_numpy,
    content_types.NPZ: _npz_to_sparse,
}


def decode(obj: Any, content_type: str) -> Any:
    if content_type not in _DECODERS:
        raise errors.UnsupportedFormatError(content_type)
    return _DECODERS[content_type](obj)
