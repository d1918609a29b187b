"""The artefacts that jobs and serving exchange: file names, and reading one file out of a model.tar.gz.

A model directory (or a processing input) holds either `model.tar.gz` with the files at the archive root, as
SageMaker writes and downloads artefacts, or the files themselves, as they lie once extracted (contract §1, §3).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from .errors import ArtefactError

MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE = "model.joblib"
PREPROCESSOR_FILE = "preprocessor.joblib"
CLASSES_FILE = "classes.json"
"""The class labels of a classifier, in code order (code i = classes[i]), as a JSON list beside model.joblib."""


def read_optional(directory: Path, name: str) -> bytes | None:
    """The bytes of `name` from directory/model.tar.gz, else from directory/name; None when neither has it."""
    archive = directory / MODEL_ARCHIVE
    if archive.is_file():
        with tarfile.open(archive) as tar:
            try:
                member = tar.extractfile(name)
            except KeyError:
                return None
            return None if member is None else member.read()
    path = directory / name
    return path.read_bytes() if path.is_file() else None


def read_artefact(directory: Path, name: str) -> bytes:
    """read_optional, raising ArtefactError when the file is absent."""
    data = read_optional(directory, name)
    if data is None:
        where = directory / MODEL_ARCHIVE if (directory / MODEL_ARCHIVE).is_file() else directory
        raise ArtefactError(f"no {name} in {where}")
    return data


def read_classes(directory: Path) -> tuple[str, ...] | None:
    """The labels of classes.json (in model.tar.gz or in the folder), or None: the model is a regressor."""
    data = read_optional(directory, CLASSES_FILE)
    return None if data is None else tuple(json.loads(data))
