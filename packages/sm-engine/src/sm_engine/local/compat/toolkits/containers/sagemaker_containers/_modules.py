"""Importing the user module by name from a folder (the part of sagemaker_containers/_modules.py scripts call)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_module(uri: str, name: str) -> ModuleType:
    """`name` imported from the folder `uri` (the real one also downloads and pip-installs an S3 tarball)."""
    if uri not in sys.path:
        sys.path.insert(0, uri)
    return importlib.import_module(name)
