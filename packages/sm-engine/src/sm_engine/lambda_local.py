"""Run the project's Lambda handler (api/app.py) on this machine, with API Gateway's proxy event shape (§8)."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from .storage import Storage, s3_join
from .workflow import WorkflowError, rows_to_csv


class StorageS3Client:
    """The one S3 call of the handler (put_object) onto a Storage: the local S3 folder, or S3 itself."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_options: Any) -> dict[str, Any]:
        self.storage.upload_bytes(Body, s3_join(f"s3://{Bucket}", Key))
        return {}


@cache
def load_handler_module(project_root: Path) -> ModuleType:
    """Import api/app.py by path, as the Lambda runtime imports the deployed handler file."""
    path = project_root / "api" / "app.py"
    if not path.is_file():
        raise WorkflowError(f"{path} does not exist: the project was generated without the API (api=no)")
    spec = importlib.util.spec_from_file_location("project_lambda_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def api_gateway_event(body: str | None, content_type: str = "text/csv", method: str = "POST") -> dict[str, Any]:
    """A REST API proxy-integration event, as API Gateway sends it to the function."""
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    return {
        "resource": "/predict",
        "path": "/predict",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"resourcePath": "/predict", "httpMethod": method, "stage": "local"},
        "body": body,
        "isBase64Encoded": False,
    }


def invoke_lambda(project_root: Path, endpoint_name: str, runtime: Any, rows: list[list[str]]) -> list[Any]:
    """Send raw rows through the Lambda handler to the endpoint; return its predictions."""
    module = load_handler_module(project_root.resolve())
    event = api_gateway_event(rows_to_csv(rows).decode("utf-8"))
    response = _expect(module.handle(event, runtime, endpoint_name), 200)
    return json.loads(response["body"])["predictions"]


def invoke_lambda_async(
    project_root: Path, endpoint_name: str, runtime: Any, storage: Storage, input_prefix: str, rows: list[list[str]]
) -> dict[str, str]:
    """Send raw rows through the handler of an async endpoint; return its 202 body (inferenceId, outputLocation,
    failureLocation)."""
    module = load_handler_module(project_root.resolve())
    event = api_gateway_event(rows_to_csv(rows).decode("utf-8"))
    response = module.handle_async(event, runtime, StorageS3Client(storage), endpoint_name, input_prefix)
    return json.loads(_expect(response, 202)["body"])


def _expect(response: dict[str, Any], status: int) -> dict[str, Any]:
    if response.get("statusCode") != status:
        raise WorkflowError(f"the Lambda handler answered {response.get('statusCode')}: {response.get('body')}")
    return response
