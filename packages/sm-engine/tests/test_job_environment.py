"""What a job's processes find around them, as inside a real framework image (issue 13, issue 16 item 7): the
image's `python` and `pip` first on PATH whatever the entry point, the image's toolkits importable, and no AWS
credentials of the host."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from test_local_helpers import BUCKET, make_client, settle, training_request, upload_code, upload_data
from test_local_processing import processing_request

from sm_engine.local import environment, warm

pytestmark = pytest.mark.executor

HOST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAHOSTKEY",
    "AWS_SECRET_ACCESS_KEY": "host-secret",
    "AWS_SESSION_TOKEN": "host-token",
    "AWS_PROFILE": "host-profile",
}

# The shape of the SDK's FrameworkProcessor entry point (sagemaker/processing.py writes a runproc.sh that calls
# `python <script>`): a shell that resolves `python` and `pip` from PATH.
PROBE = """
import json, os, subprocess, sys
import joblib  # a package of the job's interpreter, missing from a system Python
from sagemaker_containers.beta.framework import encoders  # installed in the scikit-learn image
pip = subprocess.run(["pip", "--version"], capture_output=True, text=True, check=True).stdout
out = os.path.join(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"), "processing", "output", "result", "probe.json")
with open(out, "w") as handle:
    json.dump({"executable": sys.executable, "pip": pip, "aws": sorted(k for k in os.environ if k.startswith("AWS_"))
               , "credentials": os.environ.get("AWS_SHARED_CREDENTIALS_FILE")}, handle)
"""


def test_a_shell_entry_point_runs_the_jobs_interpreter_without_host_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aws/sagemaker-scikit-learn-container docker/*/final/Dockerfile.cpu installs everything into the image's one
    Python (requirements.txt: sagemaker-containers among them), so `python` and `pip` on PATH are that interpreter
    for any entry point; a job has only its role."""
    keys = {key: value for key, value in HOST_CREDENTIALS.items() if key != "AWS_PROFILE"}  # the host needs a profile
    for key, value in keys.items():
        monkeypatch.setenv(key, value)
    client = make_client(tmp_path)
    upload_data(client, {"raw/a.csv": "1\n", "code/process.py": PROBE})
    request = processing_request("shell-entry")
    request["AppSpecification"]["ContainerEntrypoint"] = [
        "/bin/sh",
        "-c",
        "python /opt/ml/processing/input/code/process.py",
    ]
    request["AppSpecification"].pop("ContainerArguments")
    client.create_processing_job(**request)
    description = settle(client, "processing", "shell-entry")
    assert description["ProcessingJobStatus"] == "Completed", description.get("FailureReason")
    probe = json.loads(client.storage.read_bytes(f"s3://{BUCKET}/processed/result/probe.json"))
    assert Path(probe["executable"]).resolve() == Path(sys.executable).resolve()
    assert "pip " in probe["pip"]
    assert not set(HOST_CREDENTIALS) & set(probe["aws"])
    assert probe["credentials"] == os.devnull


def test_the_host_environment_has_no_way_to_the_hosts_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A boto3 session in a job finds no credentials: not in variables, files or the instance metadata."""
    for key, value in HOST_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    env = environment.host_environment()
    assert not set(HOST_CREDENTIALS) & set(env)
    found = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.Session().get_credentials())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "None"


def test_openmp_threads_wait_passively_unless_the_machine_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert environment.host_environment()["OMP_WAIT_POLICY"] == "passive"
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    assert environment.host_environment()["OMP_WAIT_POLICY"] == "active"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the process environment from /proc")
def test_the_fork_server_itself_starts_with_passive_openmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenMP reads the policy when its library loads: in the warm fork server, which imports scikit-learn before any
    job forks from it, so its own environment must carry it (the jobs' alone changed nothing)."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    server = warm.Server()
    try:
        variables = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
        assert b"OMP_WAIT_POLICY=passive" in variables
    finally:
        server.close()


TRAIN = """
import json, os
from sagemaker_training import environment
from sagemaker_containers.beta.framework import encoders

env = environment.Environment()
with open(os.path.join(env.model_dir, "seen.json"), "w") as handle:
    json.dump({"channels": sorted(env.channel_input_dirs), "hps": env["hyperparameters"], "host": env.current_host,
               "csv": encoders.encode([[1, 2]], "text/csv")}, handle)
"""


def test_a_training_script_imports_the_images_toolkits(tmp_path: Path) -> None:
    """aws/sagemaker-training-toolkit src/sagemaker_training/environment.py: Environment exposes the training
    environment (channel_input_dirs, hyperparameters, current_host, model_dir) to the entry point."""
    client = make_client(tmp_path)
    source = upload_code(client, {"train.py": TRAIN}, tmp_path / "code")
    upload_data(client, {"data/train/a.csv": "1,2\n"})
    request = training_request(
        "toolkit-env", source, hyperparameters={"depth": "3"}, channels={"train": f"s3://{BUCKET}/data/train/"}
    )
    client.create_training_job(**request)
    description = settle(client, "training", "toolkit-env")
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    model = client.storage.read_bytes(description["ModelArtifacts"]["S3ModelArtifacts"])
    with tarfile.open(fileobj=io.BytesIO(model)) as archive:
        seen = json.load(archive.extractfile("seen.json"))
    assert seen == {"channels": ["train"], "hps": {"depth": 3}, "host": "algo-1", "csv": "1,2\n"}
