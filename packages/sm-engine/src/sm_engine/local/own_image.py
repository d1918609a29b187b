"""The project's own image (training.mode container) without Docker: its `train` and `serve` programs, run from the
project folder with the environment container/Dockerfile gives them (PYTHONPATH = jobs/ and src/).

SageMaker runs `docker run <image> train` for a training job and `docker run <image> serve` for a model container;
here `python container/train` runs as the job's process (in its /opt/ml, like any local job) and `python
container/serve` runs per model container on a free loopback port, answering /ping and /invocations.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .containers import JSON, ContainerError, Response, StagedContainer, error_response, image_repository

PROGRAMS_DIR = "container"
PYTHONPATH_DIRS = ("jobs", "src")  # /opt/program/jobs and /opt/program/src in the image
START_TIMEOUT_S = 60.0
INVOCATION_TIMEOUT_S = 60.0
LOOPBACK = "127.0.0.1"

OwnImages = dict[str, str]
"""ECR repository of the project's own image -> the project folder that holds container/, jobs/ and src/."""


def project_of(image: str, own_images: OwnImages | None) -> Path | None:
    """The project folder of an own image, or None for any other image."""
    root = (own_images or {}).get(image_repository(image))
    return Path(root) if root else None


def image_environment(project: Path) -> dict[str, str]:
    """What the Dockerfile's ENV gives the programs."""
    return {"PYTHONPATH": os.pathsep.join(str(project / folder) for folder in PYTHONPATH_DIRS)}


def program(project: Path, name: str) -> Path:
    path = project / PROGRAMS_DIR / name
    if not path.is_file():
        raise ContainerError(f"the project's image has no {PROGRAMS_DIR}/{name} program ({path} is missing)")
    return path


def training_command(project: Path, request: dict[str, Any], job_arn: str) -> tuple[list[str], dict[str, str]]:
    """`train` with the container's environment: the request's Environment and what the service sets; no toolkit,
    so no SM_* variables (the program reads /opt/ml/input/config/hyperparameters.json itself)."""
    env = {
        **request.get("Environment", {}),
        **image_environment(project),
        "TRAINING_JOB_NAME": request["TrainingJobName"],
        "TRAINING_JOB_ARN": job_arn,
    }
    return [sys.executable, str(program(project, "train"))], env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def serve_environment(staged: StagedContainer, project: Path, port: int) -> dict[str, str]:
    """The environment of `serve` on this machine: the container's, a loopback port, the staged model as /opt/ml."""
    return {
        **os.environ,
        **staged.environment,
        **image_environment(project),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_BASE_DIR": str(staged.model_dir.parent),  # stands for /opt/ml: the model is at <base>/model
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",  # one serve process per worker of the local endpoint server
        "LOCAL_BIND_HOST": LOOPBACK,  # on the host, not every interface as inside the container
    }


@dataclass
class ServedProgram:
    """A model container of the own image: its `serve` program on a loopback port, with /opt/ml/model = the staged
    model folder; `invoke` forwards a request to /invocations (the shape of LoadedContainer.invoke)."""

    staged: StagedContainer
    process: subprocess.Popen
    port: int

    @property
    def name(self) -> str:
        return self.staged.name

    @property
    def default_accept(self) -> str:
        return self.staged.default_accept

    @classmethod
    def start(cls, staged: StagedContainer, project: Path, log: IO[bytes] | None = None) -> ServedProgram:
        """`serve` started and answering /ping; its log to `log`, else to this process's stderr."""
        port = _free_port()
        env = serve_environment(staged, project, port)
        process = subprocess.Popen(
            [sys.executable, str(program(project, "serve"))],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,  # None: inherited, the endpoint's server.log
            start_new_session=False,  # in the endpoint server's process group: stopping the server stops it too
        )
        served = cls(staged, process, port)
        served._wait_until_ready()
        return served

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ContainerError(f"{self.name}: serve exited with code {self.process.returncode} (see the log)")
            try:
                if self._request("GET", "/ping", b"", {}, timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ContainerError(f"{self.name}: serve did not answer /ping within {START_TIMEOUT_S:.0f} s")

    def _request(self, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            return Response(reply.status, reply.read(), reply.getheader("Content-Type") or JSON)
        finally:
            connection.close()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Response:
        headers = {key: value for key, value in (("Content-Type", content_type), ("Accept", accept)) if value}
        try:
            return self._request("POST", "/invocations", body, headers, timeout=INVOCATION_TIMEOUT_S)
        except OSError as error:
            return error_response(500, f"{self.name}: the serve program did not answer ({type(error).__name__})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
