"""`local.environments: pinned`: local jobs and endpoints run in a cached virtualenv with the Python and library
versions of their image (issue 13), and the default image versions follow the SageMaker Python SDK's image data.

The jobs here ask for the scikit-learn image 1.4-2 (aws/sagemaker-scikit-learn-container tag v1.4.2:
requirements.txt pins scikit-learn==1.4.2, numpy==2.1.0; docker/1.4-2/base/Dockerfile.cpu PYTHON_VERSION=3.10): its
pins have wheels for Python 3.10 and for this machine's 3.11, so the environment builds whether or not Python 3.10 is
installed here. Tests marked `network` install those wheels from PyPI (through uv's cache: ~75 MB the first time).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
import sklearn
from pydantic import ValidationError
from test_local_helpers import ROLE, settle, training_request, upload_code

from sm_engine import config, image_versions, images
from sm_engine.local import pinned_env
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.local.runtime import LocalSageMakerRuntimeClient

pytestmark = pytest.mark.executor

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
IMAGE_SKLEARN = "1.4.2"
OLD_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
REPORT_SCRIPT = "import sys, sklearn\nprint('sklearn', sklearn.__version__, 'python', sys.executable)\n"


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environments folder for this module's jobs: the 1.4-2 environment is built once for them all."""
    return tmp_path_factory.mktemp("envs")


def run_training(root: Path, environments: str, name: str, image: str = IMAGE) -> tuple[dict, list[str]]:
    """A training job on `image` that prints its scikit-learn version; its description and log lines."""
    lines: list[str] = []
    client = LocalSageMakerClient(root, log=lines.append, environments=environments)
    source = upload_code(client, {"train.py": REPORT_SCRIPT}, root.parent / f"{name}-code")
    request = training_request(name, source)
    request["AlgorithmSpecification"]["TrainingImage"] = image
    client.create_training_job(**request)
    return settle(client, "training", name, timeout=600), lines


def printed_version(lines: list[str]) -> str:
    return next(line.split()[2] for line in lines if line.split()[1:2] == ["sklearn"])


def test_the_table_has_the_sdks_newest_versions_and_the_defaults_are_those() -> None:
    """The SDK's image_uri_config (sagemaker-core: sklearn.json, xgboost.json) lists scikit-learn 1.9-0 and XGBoost
    3.2-0 as newest. Their contents: aws/deep-learning-containers docker/sklearn/1.9-0/pyproject.toml
    (requires-python >=3.12, scikit-learn==1.9.0, numpy==2.5.1, pandas==2.2.3) and docker/xgboost/pyproject.toml
    (version 3.2.0, requires-python >=3.12, scikit-learn==1.8.0, numpy==2.1.0, pandas==2.2.3)."""
    sdk = Path(pytest.importorskip("sagemaker.core.image_uris").__file__).with_name("image_uri_config")
    newest = {
        framework: list(json.loads((sdk / f"{framework}.json").read_text())["training"]["versions"])[-1]
        for framework in ("sklearn", "xgboost")
    }
    assert newest == {"sklearn": "1.9-0", "xgboost": "3.2-0"}
    assert config.JobSection.model_fields["framework_version"].default == newest["sklearn"]
    sklearn_uri = images.image_uri("sklearn", newest["sklearn"], "us-east-1", "training", "ml.m5.large")
    xgboost_uri = images.image_uri("xgboost", newest["xgboost"], "us-east-1", "training", "ml.m5.large")
    assert sklearn_uri.endswith("/sagemaker-scikit-learn:1.9-0-cpu-py3") and xgboost_uri.endswith(":3.2-0")
    assert image_versions.contents_of(sklearn_uri) == image_versions.ImageContents(
        "3.12", {"sklearn": "1.9.0", "numpy": "2.5.1", "pandas": "2.2.3"}
    )
    xgboost = image_versions.contents_of(xgboost_uri)
    assert xgboost is not None and (xgboost.python, xgboost.packages["xgboost"]) == ("3.12", "3.2.0")


def test_the_setting_is_host_by_default_and_checked() -> None:
    assert config.LocalSection().environments == "host"
    assert config.LocalSection(environments="pinned").environments == "pinned"
    with pytest.raises(ValidationError, match="'host' or 'pinned'"):
        config.LocalSection(environments="conda")


def test_an_image_without_a_version_table_runs_on_this_machine() -> None:
    lines: list[str] = []
    assert pinned_env.interpreter_for("123456789012.dkr.ecr.us-east-1.amazonaws.com/own:latest", lines.append) is None
    assert lines == [
        "pinned environment: no version table for image 123456789012.dkr.ecr.us-east-1.amazonaws.com/own:latest: "
        "running on this machine's Python"
    ]


@pytest.mark.network
def test_host_mode_logs_the_difference_and_pinned_runs_the_images_version(
    tmp_path: Path, envs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host: the job runs this machine's scikit-learn and its log names the image's; pinned: the image's 1.4.2."""
    assert sklearn.__version__.split(".")[:2] != IMAGE_SKLEARN.split(".")[:2]
    monkeypatch.setenv(pinned_env.CACHE_VARIABLE, str(envs))
    host, host_lines = run_training(tmp_path / "host", "host", "host-job")
    assert host["TrainingJobStatus"] == "Completed"
    assert printed_version(host_lines) == sklearn.__version__
    assert any(f"ships Python 3.10, sklearn {IMAGE_SKLEARN}" in line for line in host_lines)

    started = time.monotonic()
    pinned, pinned_lines = run_training(tmp_path / "pinned", "pinned", "pinned-job")
    assert pinned["TrainingJobStatus"] == "Completed", pinned.get("FailureReason")
    assert printed_version(pinned_lines) == IMAGE_SKLEARN
    assert any(f"python {envs}/sagemaker-scikit-learn-1.4-2-py" in line for line in pinned_lines)
    assert not any("ships Python" in line for line in pinned_lines)  # the note is about this machine's versions
    print(f"pinned job (environment built or reused): {time.monotonic() - started:.1f} s")


@pytest.mark.network
def test_parallel_jobs_build_the_environment_once_and_later_jobs_reuse_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pinned_env.CACHE_VARIABLE, str(tmp_path / "envs"))
    results: dict[str, tuple[dict, list[str]]] = {}
    jobs = [
        threading.Thread(target=lambda name=name: results.update({name: run_training(tmp_path / name, "pinned", name)}))
        for name in ("first", "second")
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    lines = results["first"][1] + results["second"][1]
    assert [description["TrainingJobStatus"] for description, _lines in results.values()] == ["Completed"] * 2
    assert sum("building the environment of sagemaker-scikit-learn 1.4-2" in line for line in lines) == 1
    assert sum("running in the pinned environment" in line for line in lines) == 1

    started = time.monotonic()
    later, later_lines = run_training(tmp_path / "later", "pinned", "later")
    assert later["TrainingJobStatus"] == "Completed" and printed_version(later_lines) == IMAGE_SKLEARN
    assert not any("building" in line for line in later_lines)
    print(f"pinned job, environment cached: {time.monotonic() - started:.1f} s")


def test_without_the_images_python_the_environment_uses_this_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uv python install` needs GitHub; where neither it nor a found Python gives 3.10, one line says so and the
    environment is built on this machine's Python."""
    monkeypatch.setenv(pinned_env.CACHE_VARIABLE, str(tmp_path / "envs"))
    monkeypatch.setattr(pinned_env, "_find_python", lambda version: None)
    builds: list[tuple[str, str]] = []
    monkeypatch.setattr(
        pinned_env, "_build", lambda folder, python, *_rest, **_kw: builds.append((folder.name, python))
    )
    lines: list[str] = []
    interpreter = pinned_env.interpreter_for(IMAGE, lines.append)
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert builds == [(f"sagemaker-scikit-learn-1.4-2-py{host}", sys.executable)]
    assert interpreter is not None and interpreter.folder.name == builds[0][0]
    assert lines[0] == (
        "pinned environment: Python 3.10 is not available here (uv finds none and `uv python install 3.10` failed): "
        f"using this machine's Python {host}"
    )


@pytest.mark.network
def test_versions_without_wheels_fail_the_job_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1.2-1 image pins pandas 1.1.3 (no wheel for Python 3.10+) on Python 3.9, older than the engine runs."""
    monkeypatch.setenv(pinned_env.CACHE_VARIABLE, str(tmp_path / "envs"))
    failed, lines = run_training(tmp_path / "old", "pinned", "old-job", image=OLD_IMAGE)
    assert failed["TrainingJobStatus"] == "Failed"
    reason = failed["FailureReason"]
    assert reason.startswith("ClientError: local.environments pinned: the versions of sagemaker-scikit-learn 1.2-1")
    assert "pandas==1.1.3" in reason and "set local.environments: host" in reason
    assert not any("Traceback" in line for line in lines)
    assert not (tmp_path / "envs" / "sagemaker-scikit-learn-1.2-1-py3.10").exists()  # no half-built environment


@pytest.mark.network
def test_a_pinned_endpoint_serves_with_the_images_version(
    tmp_path: Path, envs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint server (the engine's gunicorn stack and the toolkits' stand-ins) runs inside the environment."""
    monkeypatch.setenv(pinned_env.CACHE_VARIABLE, str(envs))
    client = LocalSageMakerClient(tmp_path / "local", environments="pinned")
    handler = "import sklearn\ndef model_fn(model_dir):\n    return None\n"
    handler += "def transform_fn(model, body, content_type, accept):\n    return sklearn.__version__\n"
    source = upload_code(client, {"inference.py": handler}, tmp_path / "code")
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": source}
    client.create_model(
        ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "Environment": environment}
    )
    variant = {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    client.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    client.create_endpoint(EndpointName="e", EndpointConfigName="c")
    deadline = time.monotonic() + 600
    while (status := client.describe_endpoint(EndpointName="e"))["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    try:
        assert status["EndpointStatus"] == "InService", status.get("FailureReason")
        runtime = LocalSageMakerRuntimeClient(client.endpoint_url)
        reply = runtime.invoke_endpoint(EndpointName="e", Body=b"1", ContentType="text/csv")
        assert reply["Body"].read().decode() == IMAGE_SKLEARN
    finally:
        client.delete_endpoint(EndpointName="e")
