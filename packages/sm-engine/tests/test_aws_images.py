"""Image URIs on the aws path: the SageMaker Python SDK's lookup when installed (the `aws` extra, also in `dev`), the
built-in table otherwise; and the local path never imports the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sm_engine.aws.images import SDK_MISSING, SdkImages, load_retrieve
from sm_engine.config import ProjectConfig
from sm_engine.images import ImageError, image_uri
from sm_engine.sagemaker_requests import RequestFactory

SKLEARN_US_EAST_1 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "example-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_sdk_lookup_gives_the_images_of_the_table() -> None:
    pytest.importorskip("sagemaker.core.image_uris", reason="the SDK is in the dev extra; installed in CI")
    logged: list[str] = []
    images = SdkImages(logged.append)
    assert images("sklearn", "1.2-1", "us-east-1", "processing", "ml.m5.large") == SKLEARN_US_EAST_1
    for region in ("eu-west-1", "ap-southeast-2", "cn-north-1"):
        for purpose in ("training", "inference"):
            expected = image_uri("sklearn", "1.2-1", region, purpose, "ml.m5.large")
            assert images("sklearn", "1.2-1", region, purpose, "ml.m5.large") == expected
    assert logged == []


def test_sdk_lookup_knows_versions_the_table_does_not() -> None:
    pytest.importorskip("sagemaker.core.image_uris", reason="the SDK is in the dev extra; installed in CI")
    with pytest.raises(ImageError):
        image_uri("xgboost", "0.90-2", "us-east-1", "training", "ml.m5.large")
    uri = SdkImages(lambda _line: None)("xgboost", "0.90-2", "us-east-1", "training", "ml.m5.large")
    assert uri.endswith("/sagemaker-xgboost:0.90-2-cpu-py3")


def test_sdk_errors_are_image_errors_naming_what_to_fix() -> None:
    def retrieve(**_kwargs: Any) -> str:
        raise ValueError("Unsupported sklearn version: 9.9. Supported sklearn version(s): 1.2-1.")

    images = SdkImages(lambda _line: None, loader=lambda: retrieve)
    with pytest.raises(ImageError, match=r"no AWS sklearn 9.9 training image .*Supported sklearn version.*image_uri"):
        images("sklearn", "9.9", "us-east-1", "training", "ml.m5.large")


def test_sdk_gets_the_scope_of_each_purpose() -> None:
    calls: list[dict[str, Any]] = []

    def retrieve(**kwargs: Any) -> str:
        calls.append(kwargs)
        return "sdk-image"

    images = SdkImages(lambda _line: None, loader=lambda: retrieve)
    for purpose in ("processing", "training", "inference"):
        assert images("sklearn", "1.2-1", "eu-west-1", purpose, "ml.c6g.large") == "sdk-image"
    assert [call["image_scope"] for call in calls] == ["training", "training", "inference"]
    assert calls[0] == {
        "framework": "sklearn",
        "region": "eu-west-1",
        "version": "1.2-1",
        "image_scope": "training",
        "instance_type": "ml.c6g.large",
    }


def test_without_the_sdk_the_table_is_used_and_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("sagemaker", "sagemaker.core", "sagemaker.core.image_uris"):
        monkeypatch.setitem(sys.modules, module, None)  # `import sagemaker.core` now raises ImportError
    assert load_retrieve() is None
    logged: list[str] = []
    images = SdkImages(logged.append)
    for purpose in ("processing", "inference"):
        assert images("sklearn", "1.2-1", "us-east-1", purpose, "ml.m5.large") == SKLEARN_US_EAST_1
    assert logged == [SDK_MISSING]
    with pytest.raises(ImageError, match="GPU"):
        images("sklearn", "1.2-1", "us-east-1", "training", "ml.p3.2xlarge")


def test_request_factory_asks_the_resolver_for_every_image(config: ProjectConfig) -> None:
    custom = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:custom"
    asked: list[tuple[str, ...]] = []

    def resolver(*arguments: str) -> str:
        asked.append(arguments)
        return custom

    factory = RequestFactory(config, BUCKET, ROLE, images=resolver)
    processing = factory.processing_job("p")["AppSpecification"]["ImageUri"]
    training = factory.training_job("t")["AlgorithmSpecification"]["TrainingImage"]
    own_image = factory.own_image  # the project's own image (training.mode container) is not an AWS image
    assert processing == custom and training == (own_image or custom)
    purposes = {purpose for _framework, _version, _region, purpose, _type in asked}
    assert purposes == ({"processing"} if own_image else {"processing", "training"})


LOCAL_SCRIPT = """
import sys
from pathlib import Path

from sm_engine.backends import local_backend
from sm_engine.cli import app  # the whole command line, its --aws code included
from sm_engine.config import load_config
from sm_engine.workflow import Workflow

project, state = Path(sys.argv[1]), Path(sys.argv[2])
config = load_config(project / "config" / "project.yaml")
config = config.model_copy(update={"local": config.local.model_copy(update={"root": state})})
workflow = Workflow(config, local_backend(config, project, print), project, print)
workflow.example_requests()
print(sorted(name for name in sys.modules if name == "sagemaker" or name.startswith("sagemaker.")))
"""


def test_the_local_path_never_imports_the_sdk(project_root: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOCAL_SCRIPT, str(project_root), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project_root,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
