"""The serving environment of the stack (what sagemaker_containers/_env.py ServingEnv gives scripts)."""

from __future__ import annotations

import json
import os

from sagemaker_containers import _content_types

base_dir = os.environ.get("BASE_PATH", "/opt/ml")
model_dir = os.path.join(base_dir, "model")
code_dir = os.path.join(model_dir, "code")
output_dir = os.path.join(base_dir, "output")
input_dir = os.path.join(base_dir, "input")


def read_hyperparameters() -> dict:
    """The training job's hyperparameters (SM_HPS, as the local executor and the training toolkit set it)."""
    return json.loads(os.environ.get("SM_HPS") or "{}")


class ServingEnv:
    """What the serving container was started with (SAGEMAKER_* variables)."""

    def __init__(self) -> None:
        self.module_name = os.environ.get("SAGEMAKER_PROGRAM", "").removesuffix(".py")
        self.module_dir = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", code_dir)
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or _content_types.JSON
        self.use_nginx = os.environ.get("SAGEMAKER_USE_NGINX", "true").lower() == "true"
        self.model_server_timeout = int(os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60"))
        self.model_server_workers = int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS") or os.cpu_count() or 1)
        self.framework_module = os.environ.get("SAGEMAKER_SERVING_MODULE")
        self.http_port = os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")
        self.safe_port_range = os.environ.get("SAGEMAKER_SAFE_PORT_RANGE")
        self.log_level = int(os.environ.get("SAGEMAKER_CONTAINER_LOG_LEVEL", "20"))
