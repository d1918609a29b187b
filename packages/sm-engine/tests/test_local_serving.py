"""Serving side of the local executor: containers, handler chain, pipelines and the endpoint server."""

from __future__ import annotations

import gc
import glob
import json
import shutil
import socket
import sys
import textwrap
import types
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import joblib
import numpy as np
import pytest
from botocore.config import Config
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler
from test_local_helpers import SKLEARN_IMAGE

import sm_runtime
from sm_engine.local import endpoint_server
from sm_engine.local.containers import (
    ContainerError,
    Pipeline,
    load_container,
    stage_container,
)
from sm_engine.packaging import pack_directory
from sm_engine.storage import LocalStorage

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

BUCKET = "s3://bucket"
SLOW_BODY_TIMEOUT_S = 3.0
SLOW_HEADER_TIMEOUT_S = 3.0
SLOW_HEADER_CLIENTS = 20  # more than the server's threads (2 workers x 8)
SCRIPTS = {
    "features.py": "N_FEATURES = 2\n",
    "model_inference.py": """
        import json
        import os

        import joblib
        import numpy as np
        from features import N_FEATURES
        from sagemaker_containers.beta.framework import content_types, encoders, worker


        def model_fn(model_dir):
            return joblib.load(os.path.join(model_dir, "model.joblib"))


        def refuse(status, message):
            return worker.Response(json.dumps({"error": message}), status=status, mimetype=content_types.JSON)


        def transform_fn(model, body, content_type, accept):
            if content_type not in content_types.UTF8_TYPES:
                return refuse(415, f"unsupported content type {content_type}")
            if accept not in content_types.UTF8_TYPES:
                return refuse(406, f"unsupported accept {accept}")
            try:
                data = np.asarray(encoders.decode(body, content_type), dtype=float)
            except Exception as error:
                return refuse(400, f"cannot decode: {error}")
            data = data.reshape(-1, N_FEATURES) if data.size % N_FEATURES == 0 else data
            if data.ndim != 2 or data.shape[1] != N_FEATURES:
                return refuse(400, f"expected {N_FEATURES} columns")
            if (data == 999).any():
                raise RuntimeError("secret internal detail")
            if (data == -12345).any():
                os._exit(1)
            return worker.Response(encoders.encode(model.predict(data), accept), mimetype=accept)
    """,
    "scaler_inference.py": """
        import os

        import joblib


        def model_fn(model_dir):
            return joblib.load(os.path.join(model_dir, "model.joblib"))


        def predict_fn(data, model):
            return model.transform(data)
    """,
    "transform_inference.py": """
        def model_fn(model_dir):
            return "model"


        def transform_fn(model, data, content_type, accept):
            return f"{model}:{content_type}:{accept}:{data}", "text/plain"
    """,
    "both_inference.py": """
        def model_fn(model_dir):
            return None


        def transform_fn(model, data, content_type, accept):
            return b""


        def input_fn(body, content_type):
            return body
    """,
}


def build_models(root: Path) -> dict:
    """A linear model y = x0 + 2*x1 and a scaler (x - 1), packed in a LocalStorage; returns the container dicts."""
    storage = LocalStorage(root)
    code = root / "src" / "code"
    code.mkdir(parents=True)
    for name, text in SCRIPTS.items():
        (code / name).write_text(textwrap.dedent(text))
    # the code upload carries a copy of sm_runtime (packaging.code_members)
    shutil.copytree(Path(sm_runtime.__file__).parent, code / "sm_runtime", ignore=shutil.ignore_patterns("__pycache__"))
    pack_directory(code, storage.path_for(f"{BUCKET}/code/sourcedir.tar.gz"))
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    for name, model in {
        "model": LinearRegression().fit(x, x[:, 0] + 2 * x[:, 1]),
        "scaler": StandardScaler().fit(np.array([[0.0, 0.0], [2.0, 2.0]])),
    }.items():
        folder = root / "src" / name
        folder.mkdir()
        joblib.dump(model, folder / "model.joblib")
        pack_directory(folder, storage.path_for(f"{BUCKET}/{name}/model.tar.gz"))

    def container(model: str, program: str, **env: str) -> dict:
        environment = {"SAGEMAKER_PROGRAM": program, "SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/code/sourcedir.tar.gz"}
        model_data = f"{BUCKET}/{model}/model.tar.gz"
        return {"Image": SKLEARN_IMAGE, "ModelDataUrl": model_data, "Environment": environment | env}

    return {
        "model": container("model", "model_inference.py"),
        "scaler": container("scaler", "scaler_inference.py", SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT="text/csv"),
        "transform": container("model", "transform_inference.py"),
        "both": container("model", "both_inference.py"),
    }


def loaded(root: Path, container: dict, name: str):
    return load_container(stage_container(container, LocalStorage(root), root / "staged" / name, name))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("serving")
    return root, build_models(root)


def test_stage_container_extracts_model_and_code(models: tuple[Path, dict]) -> None:
    root, containers = models
    staged = stage_container(containers["model"], LocalStorage(root), root / "stage-test")
    assert (staged.model_dir / "model.joblib").is_file()
    assert (staged.code_dir / "model_inference.py").is_file()
    assert staged.program == "model_inference.py"


def test_stage_container_uses_the_models_code_folder_when_repacked(models: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = models
    folder = tmp_path / "repacked"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return 1\n")
    storage = LocalStorage(root)
    pack_directory(folder, storage.path_for(f"{BUCKET}/repacked/model.tar.gz"))
    container = {
        "ModelDataUrl": f"{BUCKET}/repacked/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    }
    staged = stage_container(container, storage, tmp_path / "staged")
    assert staged.code_dir == staged.model_dir / "code"
    assert load_container(staged).model == 1


def test_stage_container_reports_a_missing_model(models: tuple[Path, dict], tmp_path: Path) -> None:
    root, containers = models
    container = containers["model"] | {"ModelDataUrl": f"{BUCKET}/missing/model.tar.gz"}
    with pytest.raises(ContainerError, match="does not exist"):
        stage_container(container, LocalStorage(root), tmp_path / "x")


def test_the_code_folders_modules_shadow_modules_imported_elsewhere(
    models: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, containers = models
    other = types.ModuleType("features")
    monkeypatch.setitem(sys.modules, "features", other)
    model = loaded(root, containers["model"], "shadow")
    assert json.loads(model.invoke(b"1,1", "text/csv", None).body) == pytest.approx([3.0])
    assert sys.modules["features"] is other


def test_default_handlers_are_the_scikit_learn_images(models: tuple[Path, dict]) -> None:
    """The defaults of aws/sagemaker-scikit-learn-container src/sagemaker_sklearn_container/serving.py: the exact
    content type picks the decoder of sagemaker_containers/_encoders.py (csv squeezed, json, npy; as float32), the
    exact accept the encoder (csv: one line per row); a parameter (`; charset=utf-8`), an unknown type or a single
    CSV row (squeezed to 1-D) fails in the handlers, which the image answers with 500."""
    root, containers = models
    scaler = loaded(root, containers["scaler"], "defaults")
    csv_reply = scaler.invoke(b"3,1\n1,1", "text/csv", "text/csv")
    assert (csv_reply.status, csv_reply.content_type, csv_reply.body) == (200, "text/csv", b"2.0,0.0\n0.0,0.0\n")
    json_reply = scaler.invoke(b"[[3, 1]]", "application/json", "application/json")
    assert (json_reply.status, json.loads(json_reply.body)) == (200, [[2.0, 0.0]])
    for body, content_type, accept in [
        (b"3,1\n1,1", "text/csv; charset=utf-8", "text/csv"),
        (b"3,1", "text/csv", "text/csv"),
        (b"3,1\n1,1", "text/plain", "text/csv"),
        (b"3,1\n1,1", "text/csv", "application/xml"),
    ]:
        assert scaler.invoke(body, content_type, accept).status == 500


def test_default_accept_comes_from_the_environment(models: tuple[Path, dict]) -> None:
    root, containers = models
    scaler = loaded(root, containers["scaler"], "scaler-accept")
    reply = scaler.invoke(b"[[3, 1]]", "application/json", None)
    assert (reply.status, reply.content_type, reply.body) == (200, "text/csv", b"2.0,0.0\n")


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"1,2", "text/plain", "text/csv", 415, "unsupported content type"),
        (b"1,2", "text/csv", "application/xml", 406, "unsupported accept"),
        (b"1,x", "text/csv", "text/csv", 400, "cannot decode"),
        (b"[[1, 2", "application/json", "text/csv", 400, "cannot decode"),
        (b"\xff\xfe", "text/csv", "text/csv", 400, "UTF-8"),
        (b"1,2,3", "text/csv", "text/csv", 400, "expected 2 columns"),
        (b"999,1", "text/csv", "text/csv", 500, "internal error"),
    ],
)
def test_a_returned_response_keeps_its_status_and_a_raised_error_is_a_500(
    models: tuple[Path, dict], body: bytes, content_type: str, accept: str, status: int, message: str
) -> None:
    """sagemaker_containers/_transformer.py Transformer.transform: a worker.Response from transform_fn is the answer,
    status included; any exception of a user handler is re-raised as ClientError (_functions.error_wrapper) and
    reaches Flask, which answers 500 without the exception's text."""
    root, containers = models
    model = loaded(root, containers["model"], f"errors-{status}-{len(body)}")
    reply = model.invoke(body, content_type, accept)
    assert reply.status == status
    assert message in json.loads(reply.body)["error"]
    assert "secret" not in reply.body.decode()


def test_transform_fn_and_tuple_content_type(models: tuple[Path, dict]) -> None:
    root, containers = models
    reply = loaded(root, containers["transform"], "transform").invoke(b"abc", "text/csv", None)
    assert (reply.status, reply.content_type, reply.body) == (200, "text/plain", b"model:text/csv:application/json:abc")


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        ("1,2".encode("utf-16"), "text/csv; charset=utf-16", "1,2"),
        ("é,1".encode("latin-1"), 'text/csv; Charset="ISO-8859-1"', "é,1"),
        ('{"a": "ü"}'.encode("utf-16-le"), "application/json; charset=UTF-16LE", '{"a": "ü"}'),
        ("é,1".encode(), "text/csv", "é,1"),
    ],
)
def test_a_text_body_is_decoded_by_its_charset(
    models: tuple[Path, dict], body: bytes, content_type: str, text: str
) -> None:
    """The handler of a CSV or JSON request gets text decoded by the Content-Type's charset (UTF-8 without one)."""
    root, containers = models
    reply = loaded(root, containers["transform"], "charset").invoke(body, content_type, None)
    assert (reply.status, reply.body) == (200, f"model:{content_type}:application/json:{text}".encode())


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"1,2", "text/csv; charset=klingon", 415, "unsupported charset 'klingon'"),
        (b"1,2", "text/csv; charset=base64", 415, "unsupported charset 'base64'"),
        (b"\xff", "text/csv; charset=utf-16", 400, "not valid utf-16 text"),
    ],
)
def test_an_unknown_charset_is_a_415_and_a_body_it_cannot_decode_a_400(
    models: tuple[Path, dict], body: bytes, content_type: str, status: int, message: str
) -> None:
    root, containers = models
    reply = loaded(root, containers["transform"], "charset-errors").invoke(body, content_type, None)
    assert (reply.status, message in json.loads(reply.body)["error"]) == (status, True)


def test_transform_fn_with_input_fn_fails_at_load(models: tuple[Path, dict]) -> None:
    root, containers = models
    with pytest.raises(ContainerError, match="transform_fn together with input_fn"):
        loaded(root, containers["both"], "both")


def test_pipeline_feeds_each_response_to_the_next_container(models: tuple[Path, dict]) -> None:
    root, containers = models
    pipeline = Pipeline([loaded(root, containers["scaler"], "p1"), loaded(root, containers["model"], "p2")])
    reply = pipeline.invoke(b"3,2\n1,1", "text/csv", "application/json")
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == pytest.approx([4.0, 0.0])
    first = pipeline.invoke(b"3,x", "text/csv", "application/json")
    assert first.status == 500
    assert json.loads(first.body)["error"].startswith("container 1 (p1): internal error")
    second = pipeline.invoke(b"1000,1\n1,1", "text/csv", "application/json")
    assert second.status == 500
    assert json.loads(second.body)["error"].startswith("container 2 (p2): internal error")


# --- the endpoint server -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(models: tuple[Path, dict]):
    root, containers = models
    spec = {
        "endpoint_name": "ep",
        "host": "127.0.0.1",
        "port": 0,
        "workers": 2,
        "variants": [
            {"name": "pipe", "weight": 1.0, "model": {"Containers": [containers["scaler"], containers["model"]]}},
            {"name": "direct", "weight": 1.0, "model": {"PrimaryContainer": containers["model"]}},
        ],
        "data_capture": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"{BUCKET}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
        "storage_root": str(root),
        "body_timeout_s": SLOW_BODY_TIMEOUT_S,
        "header_timeout_s": SLOW_HEADER_TIMEOUT_S,
    }
    handle = endpoint_server.start(spec, root / "endpoint")
    yield root, handle
    endpoint_server.stop(handle.pid)


def post(url: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def runtime(url: str):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


def test_ping_and_container_route(server) -> None:
    _, handle = server
    with urllib.request.urlopen(f"{handle.url}/ping", timeout=5) as reply:
        assert reply.status == 200
    status, headers, body = post(
        f"{handle.url}/invocations", b"1,1", {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "direct"}
    )
    assert (status, headers["X-Amzn-Invoked-Production-Variant"]) == (200, "direct")
    assert json.loads(body) == pytest.approx([3.0])
    pipe = {"Content-Type": "text/plain", "X-Amzn-SageMaker-Target-Variant": "pipe"}
    status, _, body = post(f"{handle.url}/invocations", b"1,1", pipe)
    assert status == 500
    assert json.loads(body)["error"].startswith("container 1 (container-1): internal error")


def test_container_route_statuses(server) -> None:
    _, handle = server
    target = {"X-Amzn-SageMaker-Target-Variant": "direct"}
    assert post(f"{handle.url}/invocations", b"1,1", {"Content-Type": "text/csv", "Accept": "x/y"} | target)[0] == 406
    assert post(f"{handle.url}/invocations", b"1,a", {"Content-Type": "text/csv"} | target)[0] == 400
    assert post(f"{handle.url}/invocations", b"0" * 6_291_457, {"Content-Type": "text/csv"})[0] == 413


def test_runtime_path_through_boto3_with_variants(server) -> None:
    _, handle = server
    client = runtime(handle.url)
    seen = set()
    for _ in range(30):
        # two rows: the scaler's default input_fn squeezes a single CSV row to 1-D (as the image's does)
        reply = client.invoke_endpoint(EndpointName="ep", Body=b"3,2\n3,2", ContentType="text/csv", Accept="text/csv")
        seen.add((reply["InvokedProductionVariant"], round(float(reply["Body"].read().split()[0]), 6)))
    assert seen == {("pipe", 4.0), ("direct", 7.0)}
    reply = client.invoke_endpoint(EndpointName="ep", Body=b"[[1,1]]", TargetVariant="pipe", CustomAttributes="a=1")
    assert reply["InvokedProductionVariant"] == "pipe"
    assert reply["ContentType"] == "application/json"
    assert reply["CustomAttributes"] == "a=1"


def test_runtime_errors_are_the_services_exceptions(server) -> None:
    _, handle = server
    client = runtime(handle.url)
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName="ep", Body=b"1,2,3", ContentType="text/csv", TargetVariant="direct")
    assert caught.value.response["OriginalStatusCode"] == 400
    assert "expected 2 columns" in caught.value.response["OriginalMessage"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    for kwargs in ({"EndpointName": "other"}, {"EndpointName": "ep", "TargetVariant": "nope"}):
        with pytest.raises(client.exceptions.ClientError) as error:
            client.invoke_endpoint(Body=b"1,1", ContentType="text/csv", **kwargs)
        assert error.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(client.exceptions.ClientError) as error:
        client.invoke_endpoint(EndpointName="ep", Body=b"0" * 6_291_457, ContentType="text/csv")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_server_survives_bad_input_and_a_dying_worker(server) -> None:
    _, handle = server
    target = {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "direct"}
    status, _, body = post(f"{handle.url}/invocations", b"999,1", target)
    assert (status, json.loads(body)) == (500, {"error": json.loads(body)["error"]})
    assert "secret" not in body.decode()
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        post(f"{handle.url}/invocations", b"-12345,1", target)
    for _ in range(5):
        assert post(f"{handle.url}/invocations", b"1,1", target)[0] == 200
    assert endpoint_server.is_alive(handle.pid)


def test_slow_clients_get_408_while_everyone_else_is_served(server) -> None:
    _, handle = server
    port = int(handle.url.rsplit(":", 1)[1])
    slow = []
    for _ in range(3):  # more stalled connections than the server has workers
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 40\r\n\r\n1,"
        )
        slow.append(connection)
    target = {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "direct"}
    assert post(f"{handle.url}/invocations", b"1,1", target)[0] == 200
    for connection in slow:  # served while the slow ones still wait for their answer
        connection.setblocking(False)
        with pytest.raises(BlockingIOError):
            connection.recv(1)
        connection.setblocking(True)
    for connection in slow:
        with connection, connection.makefile("rb") as stream:
            reply = stream.read().decode()  # until the server closes the connection
        assert reply.startswith("HTTP/1.1 408"), reply[:200]
        assert json.loads(reply.split("\r\n\r\n", 1)[1]) == {"error": "the request body did not arrive within 3 s"}
    assert post(f"{handle.url}/invocations", b"1,1", target)[0] == 200


def test_clients_trickling_their_headers_get_408_and_hold_no_thread(server) -> None:
    _, handle = server
    port = int(handle.url.rsplit(":", 1)[1])
    slow = []
    for _ in range(SLOW_HEADER_CLIENTS):
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n")  # never ends
        slow.append(connection)
    target = {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "direct"}
    assert post(f"{handle.url}/invocations", b"1,1", target)[0] == 200
    for connection in slow:
        with connection, connection.makefile("rb") as stream:
            reply = stream.read().decode()  # until the server closes the connection
        assert reply.startswith("HTTP/1.1 408"), reply[:200]
    assert post(f"{handle.url}/invocations", b"1,1", target)[0] == 200


def test_data_capture_writes_jsonl(server) -> None:
    root, handle = server
    # a body no other test sends: each worker appends every request it serves (a 406 too) to its own file
    runtime(handle.url).invoke_endpoint(EndpointName="ep", Body=b"2,1", ContentType="text/csv", TargetVariant="direct")
    files = glob.glob(str(root / "s3" / "bucket" / "capture" / "ep" / "direct" / "*" / "*" / "*" / "*" / "*.jsonl"))
    assert files
    records = [json.loads(line) for path in files for line in Path(path).read_text().splitlines()]
    expected_input = {"observedContentType": "text/csv", "mode": "INPUT", "data": "2,1", "encoding": "CSV"}
    record = next(r for r in records if r["captureData"]["endpointInput"] == expected_input)
    assert record["captureData"]["endpointOutput"]["encoding"] == "JSON"
    assert json.loads(record["captureData"]["endpointOutput"]["data"]) == pytest.approx([4.0])
    assert record["eventVersion"] == "0"


def test_start_reports_a_model_that_cannot_load(models: tuple[Path, dict]) -> None:
    root, containers = models
    spec = {
        "endpoint_name": "broken",
        "workers": 1,
        "variants": [{"name": "v", "weight": 1, "model": {"PrimaryContainer": containers["both"]}}],
        "storage_root": str(root),
    }
    with pytest.raises(endpoint_server.EndpointServerError, match="transform_fn together") as caught:
        endpoint_server.start(spec, root / "broken", timeout=60)
    assert "Traceback" not in str(caught.value)
    spec["variants"][0]["model"] = {"PrimaryContainer": containers["model"] | {"ModelDataUrl": f"{BUCKET}/no/m.tar.gz"}}
    with pytest.raises(endpoint_server.EndpointServerError, match=r"cannot stage the model: .*does not exist"):
        endpoint_server.start(spec, root / "broken-data", timeout=60)


def test_stop_ends_the_server(models: tuple[Path, dict]) -> None:
    root, containers = models
    spec = {
        "endpoint_name": "short",
        "workers": 1,
        "variants": [{"name": "v", "weight": 1, "model": {"PrimaryContainer": containers["transform"]}}],
        "storage_root": str(root),
    }
    handle = endpoint_server.start(spec, root / "short")
    assert endpoint_server.is_alive(handle.pid)
    endpoint_server.stop(handle.pid)
    assert not endpoint_server.is_alive(handle.pid)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{handle.url}/ping", timeout=2)


def test_a_worker_moves_what_it_loaded_out_of_the_collectors_scans() -> None:
    """After model_fn, a worker freezes its objects: a full collection then skips the models and libraries (136 ms
    for the default project's, once every ~20,000 requests)."""
    application = endpoint_server._gunicorn_application(lambda: "the app", {"workers": 1})
    gc.unfreeze()
    try:
        assert application.load() == "the app"
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
