"""Faults in the local executor: a training process killed mid-job, a processing script that crashes, an endpoint
worker that dies mid-request. Each is reported (Failed with a reason, a ModelError), leaves no process behind, uploads
nothing, and the next job or request works."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from test_local_helpers import BUCKET, make_client, settle, training_request, upload_code, upload_data
from test_local_processing import processing_request
from test_local_serving import build_models

from sm_engine.local import endpoint_server
from sm_engine.local.containers import ContainerError, stage_container
from sm_engine.local.runtime import LocalSageMakerRuntimeClient
from sm_engine.local.state import process_alive

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

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


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("faults")
    containers = build_models(root)
    spec = {
        "endpoint_name": "ep",
        "host": "127.0.0.1",
        "port": 0,
        "workers": 1,
        "variants": [{"name": "direct", "weight": 1.0, "model": {"PrimaryContainer": containers["model"]}}],
        "storage_root": str(root),
    }
    handle = endpoint_server.start(spec, root / "endpoint")
    yield handle
    endpoint_server.stop(handle.pid)


def test_a_worker_dying_mid_request_is_a_model_error_and_the_next_request_is_served(endpoint) -> None:
    runtime = LocalSageMakerRuntimeClient(lambda name: endpoint.url if name == "ep" else None)
    with pytest.raises(runtime._client(endpoint.url).exceptions.ModelError) as caught:
        runtime.invoke_endpoint(EndpointName="ep", Body=b"-12345,1", ContentType="text/csv")  # the worker exits
    response = caught.value.response
    assert response["OriginalStatusCode"] == 0 and response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "could not get a response from the ep endpoint" in response["Error"]["Message"]
    for _ in range(3):  # gunicorn replaced the worker
        answer = runtime.invoke_endpoint(EndpointName="ep", Body=b"1,1", ContentType="text/csv")
        assert json.loads(answer["Body"].read()) == [pytest.approx(3.0)]
    assert endpoint_server.is_alive(endpoint.pid)


def test_stopping_an_endpoint_ends_its_processes_and_frees_its_port(tmp_path: Path) -> None:
    containers = build_models(tmp_path)
    spec = {
        "endpoint_name": "short",
        "host": "127.0.0.1",
        "port": 0,
        "workers": 2,
        "variants": [{"name": "direct", "weight": 1.0, "model": {"PrimaryContainer": containers["model"]}}],
        "storage_root": str(tmp_path),
    }
    handle = endpoint_server.start(spec, tmp_path / "endpoint")
    endpoint_server.stop(handle.pid)
    assert not endpoint_server.is_alive(handle.pid)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", handle.port), timeout=5):
        pass  # nothing listens there any more
    with socket.socket() as probe:  # and the port can be bound again (SO_REUSEADDR: past connections may linger)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", handle.port))
        probe.listen()


def test_an_interrupted_model_upload_leaves_no_half_archive_for_a_later_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": QUICK_TRAINING}, tmp_path / "code")
    write_bytes = Path.write_bytes

    def disk_full(path: Path, data: bytes) -> int:
        if path.name == ".model.tar.gz.partial":  # the runner packs /opt/ml/model under a temporary name
            write_bytes(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    client.create_training_job(**training_request("job-disk-full", source))
    description = settle(client, "training", "job-disk-full")
    assert description["TrainingJobStatus"] == "Failed"
    assert "No space left on device" in description["FailureReason"]
    assert "ModelArtifacts" not in description
    assert not client.storage.list_uris(f"s3://{BUCKET}/output/job-disk-full/")
    assert not [path for path in client.root.rglob("*") if path.name.endswith(".partial")]
    container = {"Image": "sklearn", "ModelDataUrl": f"s3://{BUCKET}/output/job-disk-full/output/model.tar.gz"}
    with pytest.raises(ContainerError, match="does not exist"):  # what CreateEndpoint would stage
        stage_container(container, client.storage, tmp_path / "staged")
