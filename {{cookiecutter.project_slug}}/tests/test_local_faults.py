"""Faults in the local executor: a training process killed mid-job, a processing script that crashes, an endpoint
worker that dies mid-request. Each is reported (Failed with a reason, a ModelError), leaves no process behind, uploads
nothing, and the next job or request works."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from test_local_helpers import BUCKET, make_client, settle, training_request, upload_code, upload_data
from test_local_processing import processing_request

from {{ cookiecutter.project_slug }}.local.state import process_alive

SLOW_TRAINING = "import time\nprint('training', flush=True)\ntime.sleep(60)\n"
QUICK_TRAINING = "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('ok')\n"


def running_pids(client, kind: str, name: str, timeout: float = 30.0) -> list[int]:
    """The pids the executor recorded for a running job, once the job has printed its first line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = client.store.read(kind, name)
        pids = record["private"].get("pids") if record else None
        logs = client.root / "jobs" / ("training" if kind == "training-jobs" else "processing") / name / "logs.txt"
        if pids and logs.is_file() and logs.read_text().strip():
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{name} did not start")


def wait_gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(process_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_training_process_killed_mid_job_fails_the_job_and_the_next_job_completes(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": SLOW_TRAINING}, tmp_path / "slow")
    client.create_training_job(**training_request("job-killed", source))
    pids = running_pids(client, "training-jobs", "job-killed")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
    description = settle(client, "training", "job-killed")
    assert description["TrainingJobStatus"] == "Failed"
    first_line = description["FailureReason"].splitlines()[0]
    assert first_line == "ExecuteUserScriptError:", description["FailureReason"]
    assert "killed by signal SIGKILL" in description["FailureReason"]
    assert "ModelArtifacts" not in description
    assert not client.storage.list_uris(f"s3://{BUCKET}/output/job-killed/")
    assert wait_gone(pids)

    source = upload_code(client, {"train.py": QUICK_TRAINING}, tmp_path / "quick", key="quick")
    client.create_training_job(**training_request("job-after", source))
    after = settle(client, "training", "job-after")
    assert after["TrainingJobStatus"] == "Completed"
    assert client.storage.exists(after["ModelArtifacts"]["S3ModelArtifacts"])


HALF_DONE = (
    "import os, signal\n"
    "base = os.environ.get('SAGEMAKER_BASE_DIR', '/opt/ml')\n"
    "open(os.path.join(base, 'processing', 'output', 'result', 'half.json'), 'w').write('{')\n"
    "print('crashing', flush=True)\n"
)
CRASHING = {
    "segfault": HALF_DONE + "os.kill(os.getpid(), signal.SIGSEGV)\n",
    "exception": HALF_DONE + "raise RuntimeError('the disk is on fire')\n",
}


@pytest.mark.parametrize("crash", sorted(CRASHING))
def test_a_crashing_processing_script_fails_the_job_uploads_nothing_and_the_next_job_completes(
    tmp_path: Path, crash: str
) -> None:
    client = make_client(tmp_path / "root")
    upload_data(client, {"raw/a.csv": "1\n", "code/process.py": CRASHING[crash]})
    client.create_processing_job(**processing_request("proc-crash"))
    description = settle(client, "processing", "proc-crash")
    assert description["ProcessingJobStatus"] == "Failed"
    reason = description["FailureReason"]
    assert reason.startswith("AlgorithmError: See job logs for more information. ExitCode ")
    expected = "killed by signal SIGSEGV" if crash == "segfault" else "RuntimeError: the disk is on fire"
    assert expected in reason
    assert not client.storage.list_uris(f"s3://{BUCKET}/processed/")
    record = client.store.read("processing-jobs", "proc-crash")
    assert wait_gone(record["private"].get("pids", []))

    upload_data(client, {"code/process.py": "print('fine')\n"})
    client.create_processing_job(**processing_request("proc-after"))
    assert settle(client, "processing", "proc-after")["ProcessingJobStatus"] == "Completed"
