"""Run the project's Lambda handler (api/app.py) on this machine, with API Gateway's proxy event shape (§8)."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from .workflow import WorkflowError, rows_to_csv


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


def invoke_lambda(project_root: Path, endpoint_name: str, runtime: Any, rows: list[list[str]]) -> list[float]:
    """Send raw rows through the Lambda handler to the endpoint; return its predictions."""
    module = load_handler_module(project_root.resolve())
    event = api_gateway_event(rows_to_csv(rows).decode("utf-8"))
    response = module.handle(event, runtime, endpoint_name)
    if response.get("statusCode") != 200:
        raise WorkflowError(f"the Lambda handler answered {response.get('statusCode')}: {response.get('body')}")
    return json.loads(response["body"])["predictions"]
