"""Run one training job on this machine: stage /opt/ml, run the script per host, capture metrics, upload the model."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..algorithms import has_program, image_repository, metric_definitions
from ..errors import ValidationException
from ..metric_capture import MetricCapture, MetricListener
from ..packaging import pack_directory
from ..storage import s3_join
from . import compat, environment, jobs, own_image
from .jobs import HostResult, Launch
from .processes import exit_code_text
from .state import StateStore, now

KIND = "training-jobs"
INSTALL_REQUIREMENTS = "SM_LOCAL_INSTALL_REQUIREMENTS"
FAILURE_LIMIT = 1024
CODE_DIR = "/opt/ml/code"


def script_command(program: str, args: list[str]) -> list[str]:
    """How the sklearn toolkit runs the entry point: `*.sh` through /bin/sh, anything else with this Python."""
    if program.endswith(".sh"):
        return ["/bin/sh", program, *args]
    return [sys.executable, program, *args]


def script_mode(
    request: dict[str, Any], host: str, hosts: list[str], *, region: str, job_arn: str
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a framework (script mode) container, with /opt/ml paths."""
    program, _source = environment.program_and_source(request)
    env = environment.training_environment(request, host, hosts, region=region, job_arn=job_arn)
    user, _framework = environment.split_hyperparameters(
        environment.decode_hyperparameters(request.get("HyperParameters", {}))
    )
    image = request["AlgorithmSpecification"]["TrainingImage"]
    env["PYTHONPATH"] = os.pathsep.join([CODE_DIR, *compat.paths_for(image)])  # the image's toolkits
    return script_command(program, environment.to_cli_args(user)), env


_master_ports: dict[str, int] = {}
_master_ports_lock = threading.Lock()


def master_port(job_name: str) -> int:
    """A free loopback port for the process group of one job, the same for each of its hosts."""
    with _master_ports_lock:
        if job_name not in _master_ports:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                _master_ports[job_name] = probe.getsockname()[1]
        return _master_ports[job_name]


def pytorch_script_mode(
    request: dict[str, Any], host: str, hosts: list[str], *, region: str, job_arn: str
) -> tuple[list[str], dict[str, str]]:
    """script_mode; the hosts of a multi-instance job meet on this machine's loopback (MASTER_ADDR, a free
    MASTER_PORT per job), where SageMaker resolves the first host's name (jobs/torch_cluster.py)."""
    command, env = script_mode(request, host, hosts, region=region, job_arn=job_arn)
    if len(hosts) > 1:
        env |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(master_port(request["TrainingJobName"]))}
    return command, env


XGBOOST_ALGORITHM = Path(__file__).parent / "emulators" / "xgboost_algorithm.py"


def xgboost_container(
    request: dict[str, Any], host: str, hosts: list[str], *, region: str, job_arn: str
) -> tuple[list[str], dict[str, str]]:
    """The XGBoost image: script mode with a sagemaker_program, else the built-in algorithm's stand-in, which reads
    /opt/ml/input/config like the real one (the container's environment, without the toolkit's SM_* variables)."""
    if has_program(request):
        return script_mode(request, host, hosts, region=region, job_arn=job_arn)
    env = {**request.get("Environment", {}), "TRAINING_JOB_NAME": request["TrainingJobName"]}
    env["TRAINING_JOB_ARN"] = job_arn
    return [sys.executable, str(XGBOOST_ALGORITHM)], env


Runner = Callable[..., tuple[list[str], dict[str, str]]]

# image repository -> how a container of that image runs a training job; built-in algorithms are more rows.
RUNNERS: dict[str, Runner] = {
    "sagemaker-scikit-learn": script_mode,
    "pytorch-training": pytorch_script_mode,
    "sagemaker-xgboost": xgboost_container,
}


def own_image_runner(project: Path) -> Runner:
    """The project's own image: its `train` program (own_image.training_command)."""

    def run(
        request: dict[str, Any], host: str, hosts: list[str], *, region: str, job_arn: str
    ) -> tuple[list[str], dict[str, str]]:
        return own_image.training_command(project, request, job_arn)

    return run


def runner_for(request: dict[str, Any], own_images: own_image.OwnImages | None = None) -> Runner:
    """The runner of the request's training image (the project's own image among them), or ValidationException naming
    what is supported."""
    image = request["AlgorithmSpecification"].get("TrainingImage")
    if not image:
        raise ValidationException("the local executor needs AlgorithmSpecification.TrainingImage (no AlgorithmName)")
    repository = image_repository(image)
    project = own_image.project_of(image, own_images)
    if project is None and repository not in RUNNERS:
        supported = ", ".join(sorted([*RUNNERS, *(own_images or {})]))
        raise ValidationException(f"image {image} is not supported locally; supported image repositories: {supported}")
    for definition in request["AlgorithmSpecification"].get("MetricDefinitions", []):
        try:
            re.compile(definition["Regex"])
        except re.error as error:
            raise ValidationException(
                f"metric {definition['Name']}: invalid Regex {definition['Regex']!r}: {error}"
            ) from None
    return RUNNERS[repository] if project is None else own_image_runner(project)


def request_stop(store: StateStore, name: str) -> bool:
    """Mark an InProgress job Stopping and SIGTERM its processes; False when it was not running."""
    return jobs.request_stop(
        store, KIND, name, "TrainingJobStatus", mark=lambda d: _transition(d, "Stopping", "Stopping the training job.")
    )


def _transition(description: dict[str, Any], status: str, message: str) -> None:
    transitions = description.setdefault("SecondaryStatusTransitions", [])
    moment = now()
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = moment
    transitions.append({"Status": status, "StartTime": moment, "StatusMessage": message})
    description["SecondaryStatus"] = status


def failure_text(exit_code: int, stderr_tail: list[str], command: list[str]) -> str:
    """The toolkit's ExecuteUserScriptError text (contract §1)."""
    message = "\n".join(stderr_tail[-10:])
    code = exit_code_text(exit_code)
    return f'ExecuteUserScriptError:\n{code}\nErrorMessage "{message}"\nCommand "{" ".join(command)}"'


class TrainingRun(jobs.HostJobRun):
    """The whole life of one training job; `run()` never raises, the record says how it ended."""

    kind = KIND
    name_key = "TrainingJobName"
    status_key = "TrainingJobStatus"
    start_key = "TrainingStartTime"
    folder_name = "training"

    def __init__(
        self,
        request: dict[str, Any],
        context: jobs.JobContext,
        *,
        region: str,
        listener: MetricListener | None = None,
        own_images: own_image.OwnImages | None = None,
    ) -> None:
        super().__init__(request, context)
        self.region = region
        self.own_images = own_images
        self.metrics = MetricCapture(metric_definitions(request), listener)

    def instance_count(self) -> int:
        return self.request["ResourceConfig"].get("InstanceCount", 1)

    def _update(self, **fields: Any) -> dict[str, Any]:
        return self.store.update_description(KIND, self.name, **fields)["description"]

    def _set_secondary(self, status: str, message: str) -> None:
        def change(record: dict[str, Any]) -> None:
            _transition(record["description"], status, message)
            record["description"]["LastModifiedTime"] = now()

        self.store.update(KIND, self.name, change)

    def line(self, host: str, line: str) -> None:
        self.metrics.feed(line)
        super().line(host, line)

    def set_up(self) -> Launch:
        runner = runner_for(self.request, self.own_images)
        self._set_secondary("Downloading", "Downloading input data and the training code")
        for host in self.hosts:
            environment.stage_training(self.request, self.storage, self.job_dir(host), host, self.hosts)
        self._install_requirements()

        def launch(host: str) -> tuple[list[str], dict[str, str], str]:
            arn = self.store.read(KIND, self.name)["description"]["TrainingJobArn"]
            command, env = runner(self.request, host, self.hosts, region=self.region, job_arn=arn)
            return command, env, CODE_DIR

        return launch

    def run_hosts(self, launch: Launch) -> list[HostResult]:
        self._set_secondary("Training", "Training image download completed. Training in progress.")
        return super().run_hosts(launch)

    def _install_requirements(self) -> None:
        wanted = self.request.get("Environment", {}).get(INSTALL_REQUIREMENTS) or os.environ.get(INSTALL_REQUIREMENTS)
        requirements = self.job_dir(self.hosts[0]) / "code" / "requirements.txt"
        if wanted not in {"1", "true", "True"} or not requirements.is_file():
            return
        command = [sys.executable, "-m", "pip", "install", "-r", str(requirements)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        for line in (result.stdout + result.stderr).splitlines():
            self.line(self.hosts[0], line)
        if result.returncode != 0:
            raise environment.JobSetupError(f"pip install -r requirements.txt failed (exit {result.returncode})")

    def conclude(self, results: list[HostResult]) -> None:
        if self.status() == "Stopping":
            self._upload()
            self.finish("Stopped")
            return
        if any(result.finished.timed_out for result in results):
            self._upload()
            self.finish("Stopped", secondary="MaxRuntimeExceeded")
            return
        failed = [result for result in results if result.finished.returncode != 0]
        if failed:
            self.finish("Failed", self._failure_reason(failed[0]))
            return
        self._set_secondary("Uploading", "Uploading generated training model")
        self._upload()
        self.finish("Completed")

    def _failure_reason(self, result: HostResult) -> str:
        failure = result.job_dir / "output" / "failure"
        if failure.is_file() and failure.stat().st_size:
            return failure.read_text(encoding="utf-8", errors="replace")[:FAILURE_LIMIT]
        finished = result.finished
        return failure_text(finished.returncode, finished.stderr_tail, result.command)[:FAILURE_LIMIT]

    def _upload(self) -> None:
        """model/ of algo-1 -> <S3OutputPath>/<job>/output/model.tar.gz; output/data -> output.tar.gz beside it."""
        output = s3_join(self.request["OutputDataConfig"]["S3OutputPath"], self.name, "output")
        job_dir = self.job_dir(self.hosts[0])
        model_uri = s3_join(output, "model.tar.gz")
        pack_directory(job_dir / "model", self.storage.path_for(model_uri))
        data = job_dir / "output" / "data"
        if data.is_dir() and any(data.iterdir()):
            pack_directory(data, self.storage.path_for(s3_join(output, "output.tar.gz")))
        self._update(ModelArtifacts={"S3ModelArtifacts": model_uri})

    def finish(self, status: str, reason: str | None = None, *, secondary: str | None = None) -> None:
        """`secondary`: the last SecondaryStatus, `status` unless said otherwise (MaxRuntimeExceeded)."""

        def change(record: dict[str, Any]) -> None:
            description = record["description"]
            ended = now()
            _transition(description, secondary or status, f"Training job {status.lower()}")
            description["SecondaryStatusTransitions"][-1]["EndTime"] = ended
            description["TrainingJobStatus"] = status
            description["TrainingEndTime"] = ended
            description["LastModifiedTime"] = ended
            seconds = max(1, round((ended - description.get("TrainingStartTime", ended)).total_seconds()))
            description["TrainingTimeInSeconds"] = seconds
            description["BillableTimeInSeconds"] = seconds
            description["FinalMetricDataList"] = self.metrics.final()
            if reason:
                description["FailureReason"] = reason
            record["private"]["metrics"] = [
                {"MetricName": e.name, "Value": e.value, "Timestamp": e.timestamp} for e in self.metrics.emissions
            ]

        self.store.update(KIND, self.name, change)
        self.log(f"[{self.name}] training job {status.lower()}" + (f": {reason}" if reason else ""))
