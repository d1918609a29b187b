"""The container-side packages the real framework images ship, for local framework containers only.

`toolkits/` holds small re-implementations of what published scripts import from the images' serving and training
toolkits, one folder per toolkit: `sagemaker_containers` (the scikit-learn and XGBoost images' serving stack),
`sagemaker_inference` (the inference toolkit) and `sagemaker_training` (the training toolkit). No folder is on the
host's `sys.path`: a framework container gets the toolkits its image ships (`IMAGE_TOOLKITS`): containers.py puts them
on the serving process's path when it loads the container, training jobs get them on PYTHONPATH (`paths_for`).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from ...algorithms import image_repository

TOOLKITS = Path(__file__).resolve().with_name("toolkits")
CONTAINERS, INFERENCE, TRAINING = "containers", "inference", "training"
# image repository -> the toolkits its images install (aws/sagemaker-scikit-learn-container and
# aws/sagemaker-xgboost-container requirements.txt; the PyTorch Deep Learning Containers run sagemaker_training to
# train and sagemaker_inference to serve).
IMAGE_TOOLKITS: dict[str, tuple[str, ...]] = {
    "sagemaker-scikit-learn": (CONTAINERS, INFERENCE, TRAINING),
    "sagemaker-xgboost": (CONTAINERS, INFERENCE),
    "pytorch-training": (TRAINING,),
    "pytorch-inference": (INFERENCE,),
    "pytorch-inference-arm64": (INFERENCE,),
}


def paths_for(image: str) -> list[str]:
    """The folders to put on the path of a container of `image` (none for an image that is not a framework's)."""
    return [str(TOOLKITS / toolkit) for toolkit in IMAGE_TOOLKITS.get(image_repository(image), ())]


def enable(*paths: str) -> None:
    """Put toolkit folders on this process's path (after the code folder, before site-packages)."""
    for path in paths:
        if path not in sys.path:
            sys.path.insert(1 if sys.path and sys.path[0] else 0, path)


def toolkit_module(toolkit: str, name: str) -> ModuleType:
    """A module of a toolkit, for the engine's own use (the scikit-learn image's default handlers)."""
    enable(str(TOOLKITS / toolkit))
    return importlib.import_module(name)


def toolkit_response_type() -> type | None:
    """`sagemaker_containers.beta.framework.worker.Response` once a handler imported it (a handler may return one,
    status and all); None before."""
    module = sys.modules.get("sagemaker_containers._worker")
    return module.Response if module else None


def inference_toolkit_error_type() -> type | None:
    """`sagemaker_inference.errors.BaseInferenceToolkitError` once a handler imported it (the inference toolkit
    answers its status_code); None before."""
    module = sys.modules.get("sagemaker_inference.errors")
    return module.BaseInferenceToolkitError if module else None
