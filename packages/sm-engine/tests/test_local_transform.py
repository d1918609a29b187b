"""Batch transform of the local executor (contract §5) against a tiny linear model y = x0 + 2*x1."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import random
import urllib.request
from pathlib import Path

import pytest
from test_local_helpers import SKLEARN_IMAGE
from test_local_serving import BUCKET, build_models

from sm_engine.local.transform import (
    REQUESTS_PER_CONCURRENT_TRANSFORM,
    Settings,
    TransformError,
    batches,
    plain_payloads,
    run_transform_job,
    settings_from,
    split_records,
)
from sm_engine.packaging import pack_directory
from sm_engine.storage import LocalStorage

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

ROWS = b"10,1,1\n20,2,0\n30,0,3\n"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LocalStorage, dict]:
    root = tmp_path_factory.mktemp("transform")
    containers = build_models(root)
    storage = LocalStorage(root)
    storage.upload_bytes(ROWS, "s3://bucket/input/a.csv")
    storage.upload_bytes(b"40,1,0\n", "s3://bucket/input/sub/b.csv")
    storage.upload_bytes(b"1,1\n2,0\n", "s3://bucket/features/f.csv")
    storage.upload_bytes(b'{"id": 7, "features": [1, 1]}\n{"id": 8, "features": [2, 2]}\n', "s3://bucket/json/r.jsonl")
    storage.upload_bytes(b"10,1,1,1\n", "s3://bucket/bad/bad.csv")
    return root, storage, {"PrimaryContainer": containers["model"]}


def request(name: str, source: str, output: str, **overrides: object) -> dict:
    job = {
        "TransformJobName": name,
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "MaxConcurrentTransforms": 1,
    }
    for key, value in overrides.items():
        job[key] = job[key] | value if isinstance(value, dict) and key in job else value
    return job


def run(setup: tuple[Path, LocalStorage, dict], job: dict) -> dict:
    root, storage, model = setup
    lines: list[str] = []
    result = run_transform_job(job, model, storage, root / "work" / job["TransformJobName"], lines.append)
    assert lines
    return result


def cells(data: bytes) -> list[list[float]]:
    return [[round(float(cell), 6) for cell in line.split(",")] for line in data.decode().splitlines()]


def test_multirecord_with_input_filter_and_join(setup) -> None:
    _, storage, _ = setup
    job = request(
        "join",
        "s3://bucket/input/",
        "s3://bucket/out/join",
        BatchStrategy="MultiRecord",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
    )
    assert run(setup, job) == {"records": 4, "objects": 2}
    assert cells(storage.read_bytes("s3://bucket/out/join/a.csv.out")) == [[10, 1, 1, 3], [20, 2, 0, 2], [30, 0, 3, 6]]
    assert cells(storage.read_bytes("s3://bucket/out/join/sub/b.csv.out")) == [[40, 1, 0, 1]]


def test_whole_line_and_record_by_record_paths_write_the_same_bytes(setup) -> None:
    """Plain CSV is filtered and joined on whole lines; a quoted field sends the object through the csv module."""
    _, storage, _ = setup
    storage.upload_bytes(b"x 1,1,1\r\n y,2,0\n", "s3://bucket/paths/plain/p.csv")
    storage.upload_bytes(b'"x 1",1,1\r\n y,2,0\n', "s3://bucket/paths/quoted/q.csv")
    outputs = []
    for name in ("plain", "quoted"):
        job = request(
            f"paths-{name}",
            f"s3://bucket/paths/{name}/",
            f"s3://bucket/out/paths/{name}",
            BatchStrategy="MultiRecord",
            DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
        )
        run(setup, job)
        outputs.append(storage.read_bytes(next(iter(storage.list_uris(f"s3://bucket/out/paths/{name}/")))))
    assert outputs[0] == outputs[1]
    rows = [line.rsplit(",", 1) for line in outputs[0].decode().splitlines()]
    assert [(source, round(float(output), 6)) for source, output in rows] == [("x 1,1,1", 3.0), (" y,2,0", 2.0)]


def test_single_record_with_output_filter(setup) -> None:
    _, storage, _ = setup
    job = request(
        "single",
        "s3://bucket/input/a.csv",
        "s3://bucket/out/single",
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=2,
        DataProcessing={"InputFilter": "$[1,2]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    assert run(setup, job) == {"records": 3, "objects": 1}
    assert cells(storage.read_bytes("s3://bucket/out/single/a.csv.out")) == [[10, 3], [20, 2], [30, 6]]


def test_split_none_sends_the_whole_object(setup) -> None:
    _, storage, _ = setup
    job = request(
        "whole",
        "s3://bucket/features",
        "s3://bucket/out/whole",
        TransformInput={"SplitType": "None"},
        TransformOutput={"AssembleWith": "None", "Accept": "application/json"},
    )
    assert run(setup, job) == {"records": 1, "objects": 1}
    assert json.loads(storage.read_bytes("s3://bucket/out/whole/f.csv.out")) == pytest.approx([3.0, 2.0])


def test_json_records_join_under_sagemaker_output(setup) -> None:
    _, storage, _ = setup
    job = request(
        "json",
        "s3://bucket/json/",
        "s3://bucket/out/json",
        BatchStrategy="SingleRecord",
        TransformInput={"ContentType": "application/json"},
        TransformOutput={"Accept": "application/json"},
        DataProcessing={
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )
    run(setup, job)
    lines = storage.read_bytes("s3://bucket/out/json/r.jsonl.out").decode().splitlines()
    assert [json.loads(line) for line in lines] == [[7, pytest.approx([3.0])], [8, pytest.approx([6.0])]]


def test_a_failing_object_fails_the_job_and_stops_the_server(setup) -> None:
    root, _, _ = setup
    job = request("bad", "s3://bucket/bad/", "s3://bucket/out/bad", DataProcessing={"InputFilter": "$[1:]"})
    with pytest.raises(TransformError, match=r"s3://bucket/bad/bad.csv: the model answered 400: expected 2 columns"):
        run(setup, job)
    port = (root / "work" / "bad" / "server" / "port").read_text()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)


def test_a_record_over_the_payload_limit_fails(setup) -> None:
    _, storage, _ = setup
    storage.upload_bytes(b"1," + b"1" * (1024 * 1024) + b"\n", "s3://bucket/big/big.csv")
    job = request("big", "s3://bucket/big/", "s3://bucket/out/big", MaxPayloadInMB=1, BatchStrategy="SingleRecord")
    with pytest.raises(TransformError, match="exceeds MaxPayloadInMB"):
        run(setup, job)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"BatchStrategy": "MultiRecord", "TransformInput": {"SplitType": "None"}}, "MultiRecord needs a SplitType"),
        ({"DataProcessing": {"JoinSource": "Input"}, "TransformOutput": {"AssembleWith": "None"}}, "AssembleWith Line"),
        ({"DataProcessing": {"InputFilter": "$..x"}}, "unsupported JSONPath"),
        ({"MaxConcurrentTransforms": 20, "MaxPayloadInMB": 6}, "at most 100"),
    ],
)
def test_invalid_settings_fail_before_any_server_starts(setup, overrides: dict, message: str) -> None:
    root, storage, model = setup
    job = request("invalid", "s3://bucket/input/", "s3://bucket/out/invalid", **overrides)
    with pytest.raises(TransformError, match=message):
        run_transform_job(job, model, storage, root / "work" / "invalid", print)
    assert not (root / "work" / "invalid").exists()


def _settings(max_payload: int, concurrency: int) -> Settings:
    request = {
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://b/in"}}, "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": "s3://b/out"},
        "BatchStrategy": "MultiRecord",
        "MaxConcurrentTransforms": concurrency,
    }
    return dataclasses.replace(settings_from(request), max_payload=max_payload)


def test_payloads_cut_from_the_bytes_are_those_of_the_record_by_record_split() -> None:
    """plain_payloads (an object without blank lines or carriage returns) gives the requests and record count of
    split_records + batches, a too-long record's failure included; it declines every other object."""
    rng = random.Random(7)
    cut = 0
    for _ in range(3000):
        lines = [rng.choice([b"x" * rng.choice([1, 5, 30, 200]), b"", b" ", b"a b"]) for _ in range(rng.randint(1, 25))]
        data = b"\n".join(lines) + rng.choice([b"", b"\n"])
        settings = _settings(rng.choice([50, 100, 300, 10**6]), rng.randint(1, 8))
        try:
            records = split_records(data)
            expected: object = ([b"\n".join(group) for group in batches(records, settings, "o")], len(records))
        except TransformError:
            expected = "fails"
        try:
            payloads = plain_payloads(data, settings, "o")
        except TransformError:
            payloads = "fails"
        if payloads is not None:
            cut += 1
            assert payloads == expected, data
        else:
            assert b"\r" in data or any(not line.strip() for line in data.removesuffix(b"\n").split(b"\n"))
    assert cut > 100


def script_model(storage: LocalStorage, folder: Path, name: str, script: str) -> dict:
    """A CreateModel request whose scikit-learn container serves `script` (its own `<name>_inference.py`)."""
    (folder / "code").mkdir(parents=True)
    (folder / "code" / f"{name}_inference.py").write_text(script)
    submitted = f"{BUCKET}/{name}/sourcedir.tar.gz"
    pack_directory(folder / "code", storage.path_for(submitted))
    environment = {"SAGEMAKER_PROGRAM": f"{name}_inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": submitted}
    container = {"Image": SKLEARN_IMAGE, "ModelDataUrl": f"{BUCKET}/model/model.tar.gz", "Environment": environment}
    return {"PrimaryContainer": container}


PID_SCRIPT = """
import os
import time


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept):
    time.sleep(0.2)  # every request outlasts a worker's start
    return "".join(f"{os.getpid()}\\n" for line in data.splitlines() if line.strip()), "text/csv"
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one worker per core: this machine would start one")
def test_the_mini_batches_spread_over_every_worker(setup, tmp_path: Path) -> None:
    """Each of the server's workers takes a request only when it is free, so MaxConcurrentTransforms concurrent
    mini-batches keep every worker busy (a threaded worker took every connection it saw: the first worker up served
    the whole job), and each worker gets several (REQUESTS_PER_CONCURRENT_TRANSFORM per concurrent transform)."""
    root, storage, _ = setup
    model = script_model(storage, tmp_path, "pid", PID_SCRIPT)
    storage.upload_bytes(b"".join(b"%d,1,1\n" % index for index in range(40)), "s3://bucket/spread/rows.csv")
    job = request("spread", "s3://bucket/spread/", "s3://bucket/out/spread", BatchStrategy="MultiRecord")
    job["MaxConcurrentTransforms"] = 2
    result = run_transform_job(job, model, storage, root / "work" / "spread", lambda line: None)
    assert result == {"records": 40, "objects": 1}
    pids = storage.read_bytes("s3://bucket/out/spread/rows.csv.out").decode().split()
    assert len(pids) == 40
    assert len(set(pids)) == 2
    requests = [len(list(group)) for _, group in itertools.groupby(pids)]
    assert len(requests) >= 2 * REQUESTS_PER_CONCURRENT_TRANSFORM - 1  # neighbouring batches may share a worker


SLOW_SCRIPT = """
import time


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept):
    time.sleep(30)
    return data, "text/csv"
"""


def test_a_request_longer_than_the_invocation_timeout_fails_the_job(setup, tmp_path: Path) -> None:
    """The server's worker ends a request at InvocationsTimeoutInSeconds; the job fails and says so."""
    root, storage, _ = setup
    model = script_model(storage, tmp_path, "slow", SLOW_SCRIPT)
    job = request(
        "slow", "s3://bucket/features/", "s3://bucket/out/slow", ModelClientConfig={"InvocationsTimeoutInSeconds": 1}
    )
    with pytest.raises(TransformError, match=r"did not answer within InvocationsTimeoutInSeconds \(1 s\)"):
        run_transform_job(job, model, storage, root / "work" / "slow", lambda line: None)
