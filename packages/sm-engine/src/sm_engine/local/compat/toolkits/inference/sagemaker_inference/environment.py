"""The serving environment of the inference toolkit (as sagemaker_inference/environment.py)."""

from __future__ import annotations

import os

from sagemaker_inference import content_types

base_dir = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
model_dir = os.path.join(base_dir, "models" if os.environ.get("SAGEMAKER_MULTI_MODEL") == "true" else "model")
code_dir = os.path.join(model_dir, "code")


class Environment:
    """A read-only snapshot of the SAGEMAKER_* variables the toolkit reads."""

    def __init__(self) -> None:
        self.module_name = os.environ.get("SAGEMAKER_PROGRAM", "inference.py").removesuffix(".py")
        self.model_server_timeout = int(os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60"))
        self.model_server_workers = os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS")
        self.startup_timeout = int(os.environ.get("SAGEMAKER_STARTUP_TIMEOUT", "600"))
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", content_types.JSON)
        self.inference_http_port = os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")
        self.management_http_port = self.inference_http_port
        self.safe_port_range = os.environ.get("SAGEMAKER_SAFE_PORT_RANGE")
