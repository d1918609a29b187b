"""The container-side packages the real framework images ship, for local framework containers only.

`site/` holds small re-implementations of what published scripts import from the images' serving and training
toolkits: `sagemaker_containers` (the scikit-learn and XGBoost images' serving stack), `sagemaker_inference` (the
inference toolkit of the scikit-learn and PyTorch images) and `sagemaker_training` (their training toolkit). The
folder is not on the host's `sys.path`: containers.py puts it on the serving process's path when it loads a framework
container, and training and processing jobs of framework images get it on PYTHONPATH (`SITE`).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

SITE = str(Path(__file__).resolve().with_name("site"))


def enable() -> None:
    """Put the compatibility packages on this process's path (after the code folder, before site-packages)."""
    if SITE not in sys.path:
        sys.path.insert(1 if sys.path and sys.path[0] else 0, SITE)


def toolkit_response_type() -> type:
    """`sagemaker_containers.beta.framework.worker.Response`: a handler may return one, status and all."""
    enable()
    return importlib.import_module("sagemaker_containers._worker").Response


def inference_toolkit_error_type() -> type:
    """`sagemaker_inference.errors.BaseInferenceToolkitError`: the inference toolkit answers its status_code."""
    enable()
    return importlib.import_module("sagemaker_inference.errors").BaseInferenceToolkitError
