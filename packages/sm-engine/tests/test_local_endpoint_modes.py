"""Asynchronous and serverless local endpoints through the REAL boto3 sagemaker-runtime client (contract §7):
InvokeEndpointAsync with its S3 input, output and failure objects, the queue of MaxConcurrentInvocationsPerInstance,
and a serverless endpoint's MaxConcurrency (429 ThrottlingException beyond it)."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from test_local_serving import BUCKET, build_models, runtime

from sm_engine.backends import LocalBackend
from sm_engine.config import load_config
from sm_engine.local import endpoint_server
from sm_engine.local.runtime import LocalSageMakerRuntimeClient
from sm_engine.packaging import pack_directory
from sm_engine.storage import LocalStorage
from sm_engine.workflow import Workflow, WorkflowError

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

SLOW_SCRIPT = """
    import time


    def model_fn(model_dir):
        return None


    def transform_fn(model, data, content_type, accept):
        time.sleep(float(data))  # the payload is the number of seconds to take
        return data, "text/csv"
"""
OUTPUT = f"{BUCKET}/async/output"
FAILURE = f"{BUCKET}/async/failure"


def with_slow_container(root: Path) -> dict:
    """build_models' containers plus `slow`, whose answer takes as many seconds as its payload says."""
    containers = build_models(root)
    code = root / "src" / "code"
    (code / "slow_inference.py").write_text(textwrap.dedent(SLOW_SCRIPT))
    pack_directory(code, LocalStorage(root).path_for(f"{BUCKET}/code/sourcedir.tar.gz"))
    slow = {**containers["transform"], "Environment": {**containers["transform"]["Environment"]}}
    slow["Environment"]["SAGEMAKER_PROGRAM"] = "slow_inference.py"
    return {**containers, "slow": slow}


def start(root: Path, name: str, variants: list[dict], **extra: object) -> endpoint_server.ServerHandle:
    spec = {"endpoint_name": name, "workers": 2, "variants": variants, "storage_root": str(root), **extra}
    return endpoint_server.start(spec, root / name)


def wait_for_object(storage: LocalStorage, *uris: str, timeout: float = 20.0) -> str:
    """The first of `uris` that appears (the async result or its failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for uri in uris:
            if storage.exists(uri):
                return uri
        time.sleep(0.05)
    raise AssertionError(f"none of {uris} appeared within {timeout} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("modes")
    containers = with_slow_container(root)
    async_config = {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
        "OutputConfig": {"S3OutputPath": OUTPUT, "S3FailurePath": FAILURE},
    }
    handles = {
        "async": start(
            root,
            "async-ep",
            [
                {"name": "model", "weight": 1, "model": {"PrimaryContainer": containers["model"]}},
            ],
            async_inference=async_config,
        ),
        "async-slow": start(
            root,
            "slow-ep",
            [{"name": "slow", "weight": 1, "model": {"PrimaryContainer": containers["slow"]}}],
            async_inference=async_config,
        ),
        "serverless": start(
            root,
            "serverless-ep",
            [
                {
                    "name": "AllTraffic",
                    "weight": 1,
                    "model": {"PrimaryContainer": containers["slow"]},
                    "serverless": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
                }
            ],
        ),
    }
    yield LocalStorage(root), handles
    for handle in handles.values():
        endpoint_server.stop(handle.pid)


def test_invoke_endpoint_async_writes_the_result_under_the_output_path(served) -> None:
    storage, handles = served
    storage.upload_bytes(b"3,2\n1,1\n", f"{BUCKET}/async/input/rows.csv")
    client = runtime(handles["async"].url)
    reply = client.invoke_endpoint_async(
        EndpointName="async-ep",
        InputLocation=f"{BUCKET}/async/input/rows.csv",
        ContentType="text/csv",
        Accept="application/json",
    )
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 202
    inference_id = reply["InferenceId"]
    assert reply["OutputLocation"] == f"{OUTPUT}/{inference_id}.out"
    assert reply["FailureLocation"] == f"{FAILURE}/{inference_id}-error.out"
    assert wait_for_object(storage, reply["OutputLocation"], reply["FailureLocation"]) == reply["OutputLocation"]
    assert json.loads(storage.read_bytes(reply["OutputLocation"])) == pytest.approx([7.0, 3.0])


def test_inference_id_filename_and_path_extension_name_the_output(served) -> None:
    storage, handles = served
    storage.upload_bytes(b"[[1, 1]]", f"{BUCKET}/async/input/one.json")
    client = LocalSageMakerRuntimeClient({"async-ep": handles["async"].url}.get)
    reply = client.invoke_endpoint_async(
        EndpointName="async-ep",
        InputLocation=f"{BUCKET}/async/input/one.json",
        InferenceId="my-id",
        Filename="answer.json",
        S3OutputPathExtension="daily",
    )
    assert reply["InferenceId"] == "my-id"
    assert reply["OutputLocation"] == f"{OUTPUT}/daily/answer.json"
    assert reply["FailureLocation"] == f"{FAILURE}/my-id-error.out"
    wait_for_object(storage, reply["OutputLocation"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"1,2,3\n", "expected 2 columns"), (None, "cannot read the input")],
    ids=["model-error", "missing-input"],
)
def test_a_failed_invocation_writes_its_error_under_the_failure_path(served, body: bytes | None, fragment: str) -> None:
    storage, handles = served
    location = f"{BUCKET}/async/input/{fragment.replace(' ', '-')}.csv"
    if body is not None:
        storage.upload_bytes(body, location)
    reply = runtime(handles["async"].url).invoke_endpoint_async(
        EndpointName="async-ep", InputLocation=location, ContentType="text/csv"
    )
    assert wait_for_object(storage, reply["OutputLocation"], reply["FailureLocation"]) == reply["FailureLocation"]
    failure = json.loads(storage.read_bytes(reply["FailureLocation"]))
    assert fragment in failure["error"] and failure["inferenceId"] == reply["InferenceId"]


def test_async_requests_are_validated_and_the_modes_do_not_mix(served) -> None:
    _, handles = served
    client = runtime(handles["async"].url)
    for kwargs in ({"InputLocation": "rows.csv"}, {"InputLocation": f"{BUCKET}/x", "InferenceId": "a/b"}):
        with pytest.raises(ClientError) as error:
            client.invoke_endpoint_async(EndpointName="async-ep", **kwargs)
        assert error.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as error:
        client.invoke_endpoint(EndpointName="async-ep", Body=b"1,1", ContentType="text/csv")
    assert "InvokeEndpointAsync" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        runtime(handles["serverless"].url).invoke_endpoint_async(
            EndpointName="serverless-ep", InputLocation=f"{BUCKET}/x"
        )
    assert "not an asynchronous endpoint" in error.value.response["Error"]["Message"]


def test_async_requests_beyond_max_concurrent_invocations_wait_in_the_queue(served) -> None:
    storage, handles = served
    storage.upload_bytes(b"1.0", f"{BUCKET}/async/input/slow.csv")
    client = runtime(handles["async-slow"].url)
    started = time.monotonic()
    replies = [
        client.invoke_endpoint_async(EndpointName="slow-ep", InputLocation=f"{BUCKET}/async/input/slow.csv")
        for _ in range(2)
    ]
    assert time.monotonic() - started < 1.0  # both accepted at once (202) ...
    for reply in replies:
        wait_for_object(storage, reply["OutputLocation"])
    assert time.monotonic() - started >= 2.0  # ... and run one after the other (MaxConcurrentInvocationsPerInstance 1)


def test_a_serverless_endpoint_throttles_beyond_its_max_concurrency(served) -> None:
    _, handles = served
    client = runtime(handles["serverless"].url)
    results: list[bytes] = []
    slow = threading.Thread(
        target=lambda: results.append(
            client.invoke_endpoint(EndpointName="serverless-ep", Body=b"2.0", ContentType="text/csv")["Body"].read()
        )
    )
    slow.start()
    time.sleep(0.7)  # the slow request now holds the only slot (the server has 2 workers)
    with pytest.raises(ClientError) as error:
        client.invoke_endpoint(EndpointName="serverless-ep", Body=b"0", ContentType="text/csv")
    assert error.value.response["Error"]["Code"] == "ThrottlingException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    slow.join(10)
    assert results == [b"2.0"]
    reply = client.invoke_endpoint(EndpointName="serverless-ep", Body=b"0", ContentType="text/csv")
    assert reply["Body"].read() == b"0"  # the slot is free again


def async_workflow(root: Path, project_root: Path) -> Workflow:
    config = load_config(project_root / "config" / "project.yaml")
    config.endpoint.async_inference.poll_timeout_seconds = 1
    backend = LocalBackend(None, None, LocalStorage(root), "bucket", "arn:aws:iam::000000000000:role/x", root)
    return Workflow(config, backend, project_root, lambda _line: None)


def test_waiting_for_an_async_result_ends_with_a_clear_error(tmp_path: Path, project_root: Path) -> None:
    workflow = async_workflow(tmp_path, project_root)
    output, failure = "s3://bucket/out/1.out", "s3://bucket/failure/1-error.out"
    with pytest.raises(WorkflowError, match=r"no result at s3://bucket/out/1.out after 1 s.*poll_timeout_seconds"):
        workflow.async_result(output, failure)
    workflow.backend.storage.upload_bytes(b'{"error": "bad row"}', failure)
    with pytest.raises(WorkflowError, match=r"the asynchronous invocation failed .*bad row"):
        workflow.async_result(output, failure)
    workflow.backend.storage.upload_bytes(b'{"predictions": [1.5]}', output)
    assert workflow.async_result(output, failure) == b'{"predictions": [1.5]}'
