"""What each framework image version ships, and the log line of a local job or endpoint whose image differs from
this machine (issue 13)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from test_local_helpers import SKLEARN_IMAGE, settle, training_request, upload_code

from sm_engine import image_versions
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.local.containers import load_container, stage_container
from sm_engine.packaging import pack_directory
from sm_engine.storage import LocalStorage

pytestmark = pytest.mark.executor

HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_table_follows_the_containers_repositories() -> None:
    """aws/sagemaker-scikit-learn-container branch 1.2-1: requirements.txt pins scikit-learn==1.2.1, numpy==1.24.1,
    pandas==1.1.3 and docker/1.2-1/base/Dockerfile.cpu PYTHON_VERSION=3.9; aws/sagemaker-xgboost-container branch
    1.7-1: XGBOOST_VERSION=1.7.4, PYTHON_VERSION=3.9."""
    sklearn = image_versions.contents_of(SKLEARN_IMAGE)
    assert sklearn == image_versions.ImageContents("3.9", {"sklearn": "1.2.1", "numpy": "1.24.1", "pandas": "1.1.3"})
    xgboost = image_versions.contents_of("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1")
    assert xgboost is not None and (xgboost.python, xgboost.packages["xgboost"]) == ("3.9", "1.7.4")
    assert (
        image_versions.image_version("763104351884.dkr.ecr.x.amazonaws.com/pytorch-training:2.6.0-cpu-py312") == "2.6.0"
    )
    assert image_versions.contents_of("my-registry/own-image:latest") is None


def test_the_note_names_only_major_or_minor_differences(monkeypatch: pytest.MonkeyPatch) -> None:
    host = {"sklearn": "1.2.2", "numpy": "1.24.4", "pandas": "2.2.0"}
    monkeypatch.setattr(image_versions, "_host_version", host.get)
    note = image_versions.version_note(SKLEARN_IMAGE)
    assert note is not None
    assert "sklearn" not in note and "numpy" not in note  # 1.2.1 / 1.2.2 and 1.24.1 / 1.24.4: same minor
    assert "pandas 1.1.3" in note and "pandas 2.2.0" in note
    assert ("Python 3.9" in note) == (HOST_PYTHON != "3.9")


def test_a_job_whose_image_differs_logs_it(tmp_path: Path) -> None:
    """A job asking for the 1.2-1 scikit-learn image runs on this machine's libraries: its log says which differ."""
    lines: list[str] = []
    client = LocalSageMakerClient(tmp_path / "local", log=lines.append)
    source = upload_code(client, {"train.py": "print('trained')\n"}, tmp_path / "code")
    client.create_training_job(**training_request("versions-job", source))
    assert settle(client, "training", "versions-job")["TrainingJobStatus"] == "Completed"
    expected = image_versions.version_note(SKLEARN_IMAGE)
    assert expected is not None  # this machine runs Python 3.11+ and a scikit-learn newer than 1.2
    assert f"[versions-job] {expected}" in lines
    assert expected in next((tmp_path / "local" / "jobs").rglob("logs.txt")).read_text()


def test_an_endpoint_whose_image_differs_logs_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    storage = LocalStorage(tmp_path)
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    pack_directory(code, storage.path_for("s3://bucket/code/sourcedir.tar.gz"))
    environment = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "s3://bucket/code/sourcedir.tar.gz",
    }
    with caplog.at_level(logging.WARNING):
        load_container(stage_container({"Image": SKLEARN_IMAGE, "Environment": environment}, storage, tmp_path / "s"))
    assert image_versions.version_note(SKLEARN_IMAGE) in caplog.text
