"""Stand-in for the SageMaker built-in XGBoost algorithm's serving stack: a handler chain for containers.py.

Used for a model container whose image is `sagemaker-xgboost` and that sets no SAGEMAKER_PROGRAM: containers.py
loads it in place of a user module (model_fn, then transform_fn per request). It answers as the real container's
algorithm mode (aws/sagemaker-xgboost-container, src/sagemaker_xgboost_container/algorithm_mode/serve.py and
serve_utils.py), in the same order of checks:

- the request: `text/csv` rows without the label (the delimiter sniffed from the first line, empty cells missing) or
  `text/libsvm` / `text/x-libsvm` (the default when the request has no Content-Type); any other type, or a body that
  does not parse, answers 415 (recordio-protobuf is not emulated and answers 415 too);
- the booster's raw prediction per row; a row whose feature count differs from the model's answers 400;
- the Accept: none or `*/*` means SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else `text/csv`; a type outside
  json / jsonlines / recordio-protobuf / csv answers 406; jsonlines and recordio-protobuf pass that check but have no
  encoder in the container's non-selectable path, which fails with 500;
- the answer: under batch transform (SAGEMAKER_BATCH set) one value per line whatever the Accept; otherwise
  `application/json` -> `{"predictions": [{"score": 0.87}, ...]}` and `text/csv` -> one row per prediction.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xgboost as xgb
from scipy.sparse import csr_matrix

from ...errors import ServingError

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"
LIBSVM_TYPES = ("libsvm", "text/libsvm", "text/x-libsvm")
SUPPORTED_ACCEPTS = (JSON, JSONLINES, RECORDIO, CSV)
# What the real container assumes for a request without Content-Type / Accept (read by containers.py).
DEFAULT_CONTENT_TYPE = "text/libsvm"
DEFAULT_ACCEPT = CSV


class LoadedBooster(NamedTuple):
    booster: xgb.Booster
    batch: bool


def model_fn(model_dir: str) -> LoadedBooster:
    """The one model file of the model directory, as the algorithm wrote it (SAGEMAKER_BATCH read once here)."""
    files = sorted(path for path in Path(model_dir).iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        raise ServingError(500, f"no model file in {model_dir}")
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(files[0].read_bytes()))
    except xgb.core.XGBoostError as error:
        raise ServingError(500, f"Unable to load model {files[0].name}: {' '.join(str(error).split())[:300]}") from None
    booster.set_param({"nthread": 1})
    return LoadedBooster(booster, bool(os.environ.get("SAGEMAKER_BATCH")))


def _header(value: str | None) -> tuple[str, dict[str, str]]:
    """`text/csv; label_size=0` -> ("text/csv", {"label_size": "0"}), lower-cased."""
    kind, *parameters = (value or "").lower().split(";")
    pairs = (parameter.split("=", 1) for parameter in parameters if "=" in parameter)
    return kind.strip(), {key.strip(): item.strip().strip('"') for key, item in pairs}


def _csv_matrix(text: str) -> np.ndarray:
    first_line = text.split("\n", 1)[0][:512]
    sniffed = csv.Sniffer().sniff(first_line).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [["nan" if cell == "" else cell for cell in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(float)


def _libsvm_matrix(text: str) -> csr_matrix:
    entries = [
        (row, int(item.split(":", 1)[0]), float(item.split(":", 1)[1]))
        for row, line in enumerate(text.split("\n"))
        for item in line.split(" ")
        if ":" in item
    ]
    rows, columns, values = (np.array(part) for part in zip(*entries, strict=True)) if entries else ([], [], [])
    columns = np.asarray(columns, dtype=int)
    if len(columns) and columns.min() >= 1:  # 1-based libsvm indices
        columns = columns - 1
    return csr_matrix((np.asarray(values, dtype=float), (np.asarray(rows, dtype=int), columns)))


def decode(input_data: bytes | str, content_type: str | None) -> np.ndarray | csr_matrix:
    """The request as a dense (CSV) or sparse (libsvm) matrix; 415 when the type or the body is not readable."""
    kind, parameters = _header(content_type or DEFAULT_CONTENT_TYPE)
    text = (input_data.decode("utf-8", "replace") if isinstance(input_data, bytes) else input_data).strip()
    if kind == CSV:
        if parameters.get("label_size", "1") != "1":
            raise ServingError(415, f"{content_type} is not an accepted csv ContentType: label_size must be 1")
        reader = _csv_matrix
    elif kind in LIBSVM_TYPES:
        reader = _libsvm_matrix
    else:
        raise ServingError(415, f"Content-type {content_type} is not supported.")
    try:
        return reader(text)
    except (ValueError, csv.Error) as error:
        name = "csv" if kind == CSV else "libsvm"
        raise ServingError(
            415, f"Loading {name} data failed with Exception, please ensure data is in {name} format: {error}"
        ) from None


def predict(data: np.ndarray | csr_matrix, model: LoadedBooster) -> np.ndarray:
    """Raw predictions; 400 when the feature count does not fit the model (more features, for libsvm)."""
    expected, found = model.booster.num_features(), data.shape[1]
    libsvm = isinstance(data, csr_matrix)
    if (found > expected) if libsvm else (found != expected):
        raise ServingError(
            400,
            f"Unable to evaluate payload provided: Feature size of {'libsvm' if libsvm else 'csv'} inference data "
            f"{found} is not consistent with feature size of trained model {expected}.",
        )
    if libsvm and found < expected:
        data = csr_matrix((data.data, data.indices, data.indptr), shape=(data.shape[0], expected))
    return np.asarray(model.booster.predict(xgb.DMatrix(data)), dtype=float)


def response_type(accept: str | None) -> str:
    """The Accept as the container reads it: the default for none or `*/*`; 406 outside SUPPORTED_ACCEPTS."""
    kind, _ = _header(accept)
    if not kind or kind == "*/*":
        return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or DEFAULT_ACCEPT
    if kind not in SUPPORTED_ACCEPTS:
        raise ServingError(
            406, f"Accept type {accept} is not supported. Please use supported accept types: {list(SUPPORTED_ACCEPTS)}."
        )
    return kind


def encode(prediction: np.ndarray, accept: str, batch: bool) -> tuple[bytes, str]:
    values = prediction.tolist()
    if batch:
        return ("\n".join(map(str, values)) + "\n").encode("utf-8"), accept
    if accept == JSON:
        return json.dumps({"predictions": [{"score": value} for value in values]}).encode("utf-8"), JSON
    if accept == CSV:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            value if isinstance(value, list) else [value] for value in values
        )
        return buffer.getvalue().encode("utf-8"), CSV
    raise ServingError(500, f"Content type {accept} is not supported by this framework.")


def transform_fn(model: LoadedBooster, data: bytes | str, content_type: str | None, accept: str | None) -> tuple:
    """The whole chain, in the container's order: decode (415), predict (400), Accept (406), encode."""
    prediction = predict(decode(data, content_type), model)
    return encode(prediction, response_type(accept), model.batch)
