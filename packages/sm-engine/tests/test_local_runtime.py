"""LocalSageMakerRuntimeClient: invoke_endpoint through the real botocore client against a local endpoint server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from test_local_serving import build_models

from sm_engine.local import endpoint_server
from sm_engine.local.runtime import LocalSageMakerRuntimeClient

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runtime")
    containers = build_models(root)
    spec = {
        "endpoint_name": "ep",
        "workers": 1,
        "variants": [{"name": "AllTraffic", "weight": 1, "model": {"PrimaryContainer": containers["model"]}}],
        "storage_root": str(root),
    }
    handle = endpoint_server.start(spec, Path(root) / "ep")
    yield LocalSageMakerRuntimeClient({"ep": handle.url}.get)
    endpoint_server.stop(handle.pid)


def test_invoke_endpoint_returns_botocores_response(client: LocalSageMakerRuntimeClient) -> None:
    reply = client.invoke_endpoint(
        EndpointName="ep", Body=b"1,1\n2,2", ContentType="text/csv", Accept="application/json"
    )
    assert isinstance(reply["Body"], StreamingBody)
    assert json.loads(reply["Body"].read()) == pytest.approx([3.0, 6.0])
    assert reply["ContentType"] == "application/json"
    assert reply["InvokedProductionVariant"] == "AllTraffic"
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_model_errors_arrive_as_model_error(client: LocalSageMakerRuntimeClient) -> None:
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="ep", Body=b"1,2,3", ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert caught.value.response["OriginalStatusCode"] == 400


def test_unknown_endpoint_is_a_validation_error(client: LocalSageMakerRuntimeClient) -> None:
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="nope", Body=b"1,1", ContentType="text/csv")
    assert caught.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint nope of account 000000000000 not found.",
    }


def test_requests_are_validated_by_botocore(client: LocalSageMakerRuntimeClient) -> None:
    with pytest.raises(Exception, match="Missing required parameter"):
        client.invoke_endpoint(EndpointName="ep", ContentType="text/csv")
