"""What each framework image version ships (Python and the libraries a script depends on), and how this machine
differs from it.

A local job or endpoint runs on this machine's Python and libraries, not the image's; `version_note(image)` says in
the job's or the endpoint's log where they differ by major or minor version, the usual reason a script that passes
here fails on SageMaker (an argument removed since: `mean_squared_error(squared=False)`) or the other way round.

Sources, per image version (the branch of that version in the container's repository): aws/sagemaker-scikit-learn-
container `requirements.txt` and `docker/<version>/base/Dockerfile.cpu` (PYTHON_VERSION); aws/sagemaker-xgboost-
container the same files (XGBOOST_VERSION; 3.2-0: its master branch); the versions built in aws/deep-learning-
containers (scikit-learn 1.4-2-py312, 1.9-0; XGBoost 3.0-5, 3.2-0): `docker/sklearn/<version>/pyproject.toml` or
`requirements.txt` and `docker/xgboost/...` there (requires-python, the pins); the PyTorch Deep Learning Container's tag
(`2.6.0-cpu-py312`). The newest versions follow the SageMaker Python SDK's image_uri_config (sklearn.json,
xgboost.json, pytorch.json).
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from .algorithms import image_repository


@dataclass(frozen=True)
class ImageContents:
    python: str
    packages: Mapping[str, str]  # import name (sklearn, numpy, ...) -> version


def _sklearn(python: str, scikit_learn: str, numpy: str, pandas: str) -> ImageContents:
    return ImageContents(python, {"sklearn": scikit_learn, "numpy": numpy, "pandas": pandas})


def _xgboost(python: str, xgboost: str, scikit_learn: str, numpy: str | None, pandas: str) -> ImageContents:
    packages = {"xgboost": xgboost, "sklearn": scikit_learn, "pandas": pandas}
    return ImageContents(python, packages | ({"numpy": numpy} if numpy else {}))


# (image repository, version) -> what it ships; training, processing and inference images of a version alike.
IMAGE_CONTENTS: dict[tuple[str, str], ImageContents] = {
    ("sagemaker-scikit-learn", "0.20.0"): _sklearn("3.7", "0.20", "1.19.5", "0.25"),
    ("sagemaker-scikit-learn", "0.23-1"): _sklearn("3.7", "0.23.2", "1.19.2", "1.1.3"),
    ("sagemaker-scikit-learn", "1.0-1"): _sklearn("3.8", "1.0.2", "1.24.1", "1.1.3"),
    ("sagemaker-scikit-learn", "1.2-1"): _sklearn("3.9", "1.2.1", "1.24.1", "1.1.3"),
    ("sagemaker-scikit-learn", "1.4-2"): _sklearn("3.10", "1.4.2", "2.1.0", "2.2.3"),
    ("sagemaker-scikit-learn", "1.4-2-py312"): _sklearn("3.12", "1.4.2", "2.1.0", "2.3.2"),
    ("sagemaker-scikit-learn", "1.9-0"): _sklearn("3.12", "1.9.0", "2.5.1", "2.2.3"),
    ("sagemaker-xgboost", "1.0-1"): _xgboost("3.7", "1.0.0", "0.24.1", None, "1.1.3"),
    ("sagemaker-xgboost", "1.2-1"): _xgboost("3.7", "1.2.0", "0.23.2", "1.21.6", "1.1.3"),
    ("sagemaker-xgboost", "1.2-2"): _xgboost("3.7", "1.2.0", "0.23.2", "1.21.6", "1.1.3"),
    ("sagemaker-xgboost", "1.3-1"): _xgboost("3.7", "1.3.3", "0.24.1", "1.21.6", "1.2.4"),
    ("sagemaker-xgboost", "1.5-1"): _xgboost("3.8", "1.5.2", "0.24.1", "1.24.4", "1.5.3"),
    ("sagemaker-xgboost", "1.7-1"): _xgboost("3.9", "1.7.4", "0.24.1", "1.24.1", "1.2.4"),
    ("sagemaker-xgboost", "3.0-5"): _xgboost("3.10", "3.0.5", "1.5.2", "2.1.0", "2.2.3"),
    ("sagemaker-xgboost", "3.2-0"): _xgboost("3.12", "3.2.0", "1.8.0", "2.1.0", "2.2.3"),
    ("pytorch-training", "2.6.0"): ImageContents("3.12", {"torch": "2.6.0"}),
    ("pytorch-training", "2.10.0"): ImageContents("3.13", {"torch": "2.10.0"}),
    ("pytorch-inference", "2.6.0"): ImageContents("3.12", {"torch": "2.6.0"}),
    ("pytorch-inference-arm64", "2.6.0"): ImageContents("3.12", {"torch": "2.6.0"}),
}
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:-\d+)?(?:-py\d+(?=-))?")


def image_version(image: str) -> str:
    """`.../sagemaker-scikit-learn:1.2-1-cpu-py3` -> `1.2-1`; `...:1.4-2-py312-cpu-py3` -> `1.4-2-py312`;
    `.../pytorch-training:2.6.0-cpu-py312` -> `2.6.0`."""
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    match = _VERSION.match(tag)
    return match.group(0) if match else ""


def contents_of(image: str) -> ImageContents | None:
    return IMAGE_CONTENTS.get((image_repository(image), image_version(image)))


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(re.split(r"[.+-]", version)[:2])


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _host_version(module: str) -> str | None:
    """The version of `module` when it is imported already (a model server has scikit-learn, numpy and pandas), else
    of the installed distribution that provides it (xgboost may come as xgboost-cpu; finding it reads every installed
    distribution's file list, ~0.3 s)."""
    imported = getattr(sys.modules.get(module), "__version__", None)
    if isinstance(imported, str):
        return imported
    for distribution in _distributions().get(module, []):
        return importlib.metadata.version(distribution)
    return None


def version_note(image: str) -> str | None:
    """One log line naming what differs (major or minor) between what `image` ships and this machine; None when
    nothing does or the image version is not in IMAGE_CONTENTS."""
    contents = contents_of(image)
    if contents is None:
        return None
    host_python = f"{sys.version_info.major}.{sys.version_info.minor}"
    pairs = [("Python", contents.python, host_python)]
    pairs += [(module, version, _host_version(module) or "none") for module, version in contents.packages.items()]
    differing = [(name, ours, host) for name, ours, host in pairs if _major_minor(ours) != _major_minor(host)]
    if not differing:
        return None
    shipped = ", ".join(f"{name} {ours}" for name, ours, _host in differing)
    here = ", ".join(f"{name} {host}" for name, _ours, host in differing)
    return (
        f"local executor: image {image_repository(image)}:{image_version(image)} ships {shipped}; this machine runs "
        f"{here}: a script may behave differently on SageMaker"
    )


def request_image(request: Mapping) -> str:
    """The image of a CreateTrainingJob or CreateProcessingJob request."""
    training = request.get("AlgorithmSpecification") or {}
    processing = request.get("AppSpecification") or {}
    return str(training.get("TrainingImage") or processing.get("ImageUri") or "")
