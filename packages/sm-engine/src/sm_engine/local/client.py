"""LocalSageMakerClient: boto3's SageMaker client, method for method, running everything on this machine.

Requests are validated against botocore's service model, records persist under `<root>/state/` (another process on
the same root sees them), jobs run as subprocesses started from background threads, endpoints as server processes.
"""

from __future__ import annotations

import atexit
import copy
import functools
import os
import shutil
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ResourceInUse, ResourceNotFound, ServiceError, ValidationException
from ..storage import LocalStorage
from . import containers, jobs, pinned_env, processing, training, tuning
from .processes import terminate
from .state import StateStore, now, process_alive
from .validation import arn, operation_model, response_metadata, validate

if TYPE_CHECKING:
    from .own_image import OwnImages

Log = Callable[[str], None]
Method = Callable[..., dict[str, Any]]

JOB_STATUS = {
    processing.KIND: "ProcessingJobStatus",
    training.KIND: "TrainingJobStatus",
    tuning.KIND: "HyperParameterTuningJobStatus",
    "transform-jobs": "TransformJobStatus",
}
RUNNING = {"InProgress", "Stopping"}
RUNNER_STOPPED = "the local runner stopped before the job finished (the process that ran it exited)"


def _silent(_message: str) -> None:
    """The default log callback."""


def api(method: Method) -> Method:
    """A boto3 method: its keyword arguments are validated against the operation of its name (create_model ->
    CreateModel), and the ServiceErrors it raises reach the caller as the ClientError boto3 raises for them."""
    operation = "".join(part.capitalize() for part in method.__name__.split("_"))

    @functools.wraps(method)
    def call(self: LocalSageMakerClient, **params: Any) -> dict[str, Any]:
        try:
            validate(operation, params)
            return method(self, **params)
        except ServiceError as error:
            raise error.client_error(operation) from None

    return call


class LocalSageMakerClient:
    """A drop-in for `boto3.client("sagemaker")` backed by `<root>` (S3 under `<root>/s3`, state, job folders)."""

    def __init__(
        self,
        root: Path,
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 2,
        log: Log | None = None,
        own_images: OwnImages | None = None,
        environments: pinned_env.Environments = pinned_env.HOST,
    ) -> None:
        """`own_images`: the project's own image (ECR repository -> project folder), run without Docker;
        `environments`: `host` or `pinned` (config local.environments, pinned_env.py)."""
        self.root = Path(root).resolve()
        self.own_images = dict(own_images or {})
        self.region = region
        self.host = host
        self.port = port
        self.workers = workers
        self.log = log or _silent
        self.store = StateStore(self.root)
        self.storage = LocalStorage(self.root)
        self.job_context = jobs.JobContext(self.store, self.storage, self.root, self.log, environments)
        self._threads: list[threading.Thread] = []
        atexit.register(self._abandon_jobs)

    # -- plumbing ----------------------------------------------------------------------------------------------------

    def _respond(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return {**(body or {}), "ResponseMetadata": response_metadata()}

    def _arn(self, kind: str, name: str) -> str:
        return arn(self.region, kind, name)

    def _background(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _abandon_jobs(self) -> None:
        """At exit: jobs this process still runs cannot finish; stop their processes and record them Failed."""
        for kind, status_key in JOB_STATUS.items():
            for record in self.store.records(kind):
                description, private = record["description"], record["private"]
                if description[status_key] not in RUNNING or private.get("runner_pid") != os.getpid():
                    continue
                for pid in private.get("pids", []):
                    terminate(pid, grace_seconds=2.0)
                name = description[status_key.replace("Status", "Name")]
                self.store.update_description(kind, name, **{status_key: "Failed", "FailureReason": RUNNER_STOPPED})

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for the background work started by this client (tests and the CLI's clean exit)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _new_record(
        self,
        kind: str,
        description: dict[str, Any],
        label: str,
        arn_key: str,
        private: dict[str, Any] | None = None,
    ) -> None:
        """Store a new job record; ResourceInUse (worded as the service words it) when the name is taken."""
        name = description[arn_key.replace("Arn", "Name")]
        if self.store.exists(kind, name):
            resource_arn = description[arn_key]
            message = (
                f"{label.capitalize()} names must be unique within an AWS account and region, and a {label} with "
                f"this name already exists ({resource_arn})"
            )
            raise ResourceInUse(message)
        record = {"description": description, "private": {"runner_pid": os.getpid(), **(private or {})}}
        self.store.write(kind, name, record)

    def _job_record(self, kind: str, name: str) -> dict[str, Any]:
        record = self.store.read(kind, name)
        if record is None:
            raise ValidationException("Requested resource not found.")
        status_key = JOB_STATUS[kind]
        description = record["description"]
        if description[status_key] in RUNNING and not process_alive(record["private"].get("runner_pid")):
            record = self.store.update_description(
                kind, name, **{status_key: "Failed", "FailureReason": RUNNER_STOPPED}
            )
        return record

    def _describe(self, kind: str, name: str) -> dict[str, Any]:
        return self._respond(copy.deepcopy(self._job_record(kind, name)["description"]))

    def _list(
        self,
        kind: str,
        operation: str,
        params: dict[str, Any],
        *,
        name_key: str,
        status_key: str | None = None,
        records: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The list_* operations: filters, sort, MaxResults (default 10) and NextToken pages."""
        output = operation_model(operation).output_shape
        list_key = next(key for key, shape in output.members.items() if shape.type_name == "list")
        members = output.members[list_key].member.members
        items = [record["description"] for record in (records if records is not None else self.store.records(kind))]
        items = [item for item in items if self._matches(item, params, name_key, status_key)]
        sort_by = params.get("SortBy", "CreationTime")
        key_for = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key}
        items.sort(key=lambda item: item.get(key_for.get(sort_by) or "CreationTime"), reverse=_descending(params))
        start = int(params.get("NextToken") or 0)
        size = params.get("MaxResults", 10)
        page = [
            {key: copy.deepcopy(item[key]) for key in members if key in item} for item in items[start : start + size]
        ]
        body: dict[str, Any] = {list_key: page}
        if start + size < len(items):
            body["NextToken"] = str(start + size)
        return self._respond(body)

    @staticmethod
    def _matches(item: dict[str, Any], params: dict[str, Any], name_key: str, status_key: str | None) -> bool:
        if "NameContains" in params and params["NameContains"].lower() not in item[name_key].lower():
            return False
        if "StatusEquals" in params and status_key and item.get(status_key) != params["StatusEquals"]:
            return False
        created: datetime = item["CreationTime"]
        if "CreationTimeAfter" in params and not created > _aware(params["CreationTimeAfter"]):
            return False
        return not ("CreationTimeBefore" in params and not created < _aware(params["CreationTimeBefore"]))

    def _stop(self, kind: str, name: str, label: str, stop: Callable[[StateStore, str], bool]) -> None:
        record = self.store.read(kind, name)
        if record is None:
            raise ValidationException("Requested resource not found.")
        if not stop(self.store, name):
            status = record["description"][JOB_STATUS[kind]]
            raise ValidationException(f"The request was rejected because the {label} is in status {status}.")

    # -- processing --------------------------------------------------------------------------------------------------

    @api
    def create_processing_job(self, **params: Any) -> dict[str, Any]:
        name = params["ProcessingJobName"]
        job_arn = self._arn("processing-job", name)
        description = {
            **copy.deepcopy(params),
            "ProcessingJobArn": job_arn,
            "ProcessingJobStatus": "InProgress",
            "CreationTime": now(),
            "LastModifiedTime": now(),
        }
        self._new_record(processing.KIND, description, "processing job", "ProcessingJobArn")
        run = processing.ProcessingRun(copy.deepcopy(params), self.job_context)
        self._background(run.run, f"processing-{name}")
        return self._respond({"ProcessingJobArn": job_arn})

    @api
    def describe_processing_job(self, **params: Any) -> dict[str, Any]:
        return self._describe(processing.KIND, params["ProcessingJobName"])

    @api
    def list_processing_jobs(self, **params: Any) -> dict[str, Any]:
        return self._list(
            processing.KIND,
            "ListProcessingJobs",
            params,
            name_key="ProcessingJobName",
            status_key="ProcessingJobStatus",
        )

    @api
    def stop_processing_job(self, **params: Any) -> dict[str, Any]:
        name = params["ProcessingJobName"]
        self._stop(processing.KIND, name, "processing job", processing.request_stop)
        return self._respond()

    # -- training ----------------------------------------------------------------------------------------------------

    def _register_training(
        self, params: dict[str, Any], extra: dict[str, Any] | None = None, private: dict[str, Any] | None = None
    ) -> str:
        name = params["TrainingJobName"]
        job_arn = self._arn("training-job", name)
        moment = now()
        description = {
            **copy.deepcopy(params),
            "TrainingJobArn": job_arn,
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "SecondaryStatusTransitions": [
                {"Status": "Starting", "StartTime": moment, "StatusMessage": "Preparing the instances for training"}
            ],
            "CreationTime": moment,
            "LastModifiedTime": moment,
            **(extra or {}),
        }
        self._new_record(training.KIND, description, "training job", "TrainingJobArn", private)
        return job_arn

    def _training_run(
        self, params: dict[str, Any], listener: training.MetricListener | None = None
    ) -> training.TrainingRun:
        return training.TrainingRun(
            copy.deepcopy(params), self.job_context, region=self.region, listener=listener, own_images=self.own_images
        )

    @api
    def create_training_job(self, **params: Any) -> dict[str, Any]:
        training.runner_for(params, self.own_images)  # ValidationException when it cannot run here
        job_arn = self._register_training(params)
        self._background(self._training_run(params).run, f"training-{params['TrainingJobName']}")
        return self._respond({"TrainingJobArn": job_arn})

    @api
    def describe_training_job(self, **params: Any) -> dict[str, Any]:
        return self._describe(training.KIND, params["TrainingJobName"])

    @api
    def list_training_jobs(self, **params: Any) -> dict[str, Any]:
        return self._list(
            training.KIND, "ListTrainingJobs", params, name_key="TrainingJobName", status_key="TrainingJobStatus"
        )

    @api
    def stop_training_job(self, **params: Any) -> dict[str, Any]:
        self._stop(training.KIND, params["TrainingJobName"], "training job", training.request_stop)
        return self._respond()

    # -- tuning ------------------------------------------------------------------------------------------------------

    def _run_trial(
        self, params: dict[str, Any], listener: training.MetricListener | None, tuning_info: dict[str, Any]
    ) -> dict[str, Any]:
        """Register and run one tuning trial in the calling thread; returns its final description."""
        name = params["TrainingJobName"]
        private = {"tuning_job": tuning_info["tuning_job"], "tuned": tuning_info["tuned"]}
        self._register_training(params, {"TuningJobArn": tuning_info["tuning_job_arn"]}, private)
        self._training_run(params, listener).run()
        return self.store.read(training.KIND, name)["description"]

    @api
    def create_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        if "TrainingJobDefinition" not in params:
            raise ValidationException("the local executor needs TrainingJobDefinition (one definition)")
        config = params["HyperParameterTuningJobConfig"]
        tuning.check_ranges(config)
        tuning.max_jobs(config)
        training.runner_for(params["TrainingJobDefinition"], self.own_images)
        name = params["HyperParameterTuningJobName"]
        job_arn = self._arn("hyper-parameter-tuning-job", name)
        description = {
            **copy.deepcopy(params),
            "HyperParameterTuningJobArn": job_arn,
            "HyperParameterTuningJobStatus": "InProgress",
            "CreationTime": now(),
            "LastModifiedTime": now(),
        }
        self._new_record(tuning.KIND, description, "tuning job", "HyperParameterTuningJobArn", {"trials": []})
        from .tuning_study import TuningRun  # optuna loads with the first tuning job

        run = TuningRun(copy.deepcopy(params), store=self.store, run_training=self._run_trial, log=self.log)
        self._background(run.run, f"tuning-{name}")
        return self._respond({"HyperParameterTuningJobArn": job_arn})

    @api
    def describe_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        record = self._job_record(tuning.KIND, name)
        summary = tuning.summarize(self.store, name)
        description = copy.deepcopy(record["description"])
        description["TrainingJobStatusCounters"] = summary["TrainingJobStatusCounters"]
        description["ObjectiveStatusCounters"] = summary["ObjectiveStatusCounters"]
        if "BestTrainingJob" in summary:
            description["BestTrainingJob"] = summary["BestTrainingJob"]
        return self._respond(description)

    @api
    def list_hyper_parameter_tuning_jobs(self, **params: Any) -> dict[str, Any]:
        records = self.store.records(tuning.KIND)
        for record in records:
            summary = tuning.summarize(self.store, record["description"]["HyperParameterTuningJobName"])
            record["description"]["TrainingJobStatusCounters"] = summary["TrainingJobStatusCounters"]
            record["description"]["ObjectiveStatusCounters"] = summary["ObjectiveStatusCounters"]
            record["description"]["Strategy"] = record["description"]["HyperParameterTuningJobConfig"]["Strategy"]
            record["description"]["ResourceLimits"] = record["description"]["HyperParameterTuningJobConfig"].get(
                "ResourceLimits", {}
            )
        return self._list(
            tuning.KIND,
            "ListHyperParameterTuningJobs",
            params,
            name_key="HyperParameterTuningJobName",
            status_key="HyperParameterTuningJobStatus",
            records=records,
        )

    @api
    def list_training_jobs_for_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        if not self.store.exists(tuning.KIND, name):
            message = f"Amazon SageMaker can't find a tuning job with name {name}"
            raise ResourceNotFound(message)
        summaries = tuning.summarize(self.store, name)["summaries"]
        if "StatusEquals" in params:
            summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
        summaries = tuning.sort_summaries(summaries, params.get("SortBy", "Name"), _descending(params))
        start = int(params.get("NextToken") or 0)
        size = params.get("MaxResults", 10)
        body: dict[str, Any] = {"TrainingJobSummaries": copy.deepcopy(summaries[start : start + size])}
        if start + size < len(summaries):
            body["NextToken"] = str(start + size)
        return self._respond(body)

    @api
    def stop_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        record = self.store.read(tuning.KIND, name)
        if record is None:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
        status = record["description"]["HyperParameterTuningJobStatus"]
        if status != "InProgress":
            message = f"The request was rejected because the tuning job is in status {status}."
            raise ValidationException(message)
        self.store.update_description(tuning.KIND, name, HyperParameterTuningJobStatus="Stopping")
        for trial in record["private"].get("trials", []):
            trial_record = self.store.read(training.KIND, trial)
            if trial_record and trial_record["description"]["TrainingJobStatus"] == "InProgress":
                training.request_stop(self.store, trial)
        return self._respond()

    # -- models and endpoint configs -----------------------------------------------------------------------------

    def _simple_create(self, kind: str, params: dict[str, Any], name_key: str, arn_kind: str) -> str:
        name = params[name_key]
        resource_arn = self._arn(arn_kind, name)
        if self.store.exists(kind, name):
            label = arn_kind.replace("-", " ").replace("config", "configuration")
            raise ValidationException(f'Cannot create already existing {label} "{resource_arn}".')
        arn_key = "".join(part.capitalize() for part in arn_kind.split("-")) + "Arn"
        description = {**copy.deepcopy(params), arn_key: resource_arn, "CreationTime": now()}
        self.store.write(kind, name, {"description": description, "private": {"request": copy.deepcopy(params)}})
        return resource_arn

    def _resource(self, kind: str, name: str, label: str, arn_kind: str) -> dict[str, Any]:
        record = self.store.read(kind, name)
        if record is None:
            raise ValidationException(f'Could not find {label} "{self._arn(arn_kind, name)}".')
        return record

    @api
    def create_model(self, **params: Any) -> dict[str, Any]:
        if "PrimaryContainer" not in params and "Containers" not in params:
            message = "Either PrimaryContainer or Containers must be specified."
            raise ValidationException(message)
        containers.check_model_images(params, self.own_images)
        return self._respond({"ModelArn": self._simple_create("models", params, "ModelName", "model")})

    @api
    def describe_model(self, **params: Any) -> dict[str, Any]:
        record = self._resource("models", params["ModelName"], "model", "model")
        return self._respond(copy.deepcopy(record["description"]))

    @api
    def list_models(self, **params: Any) -> dict[str, Any]:
        return self._list("models", "ListModels", params, name_key="ModelName")

    @api
    def delete_model(self, **params: Any) -> dict[str, Any]:
        self._resource("models", params["ModelName"], "model", "model")
        self.store.delete("models", params["ModelName"])
        return self._respond()

    @api
    def create_endpoint_config(self, **params: Any) -> dict[str, Any]:
        for variant in params["ProductionVariants"]:
            self._resource("models", variant["ModelName"], "model", "model")
        config_arn = self._simple_create("endpoint-configs", params, "EndpointConfigName", "endpoint-config")
        return self._respond({"EndpointConfigArn": config_arn})

    @api
    def describe_endpoint_config(self, **params: Any) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        record = self._resource("endpoint-configs", name, "endpoint configuration", "endpoint-config")
        return self._respond(copy.deepcopy(record["description"]))

    @api
    def list_endpoint_configs(self, **params: Any) -> dict[str, Any]:
        return self._list("endpoint-configs", "ListEndpointConfigs", params, name_key="EndpointConfigName")

    @api
    def delete_endpoint_config(self, **params: Any) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        self._resource("endpoint-configs", name, "endpoint configuration", "endpoint-config")
        self.store.delete("endpoint-configs", name)
        return self._respond()

    # -- endpoints -----------------------------------------------------------------------------------------------

    def _endpoint_spec(self, endpoint_name: str, config_name: str) -> dict[str, Any]:
        """What endpoint_server.start needs: the variants with their CreateModel requests, capture, host, port."""
        config = self._resource("endpoint-configs", config_name, "endpoint configuration", "endpoint-config")
        variants = []
        for variant in config["description"]["ProductionVariants"]:
            model = self._resource("models", variant["ModelName"], "model", "model")
            variants.append(
                {
                    "name": variant["VariantName"],
                    "weight": variant.get("InitialVariantWeight", 1.0),
                    "model": model["private"]["request"],
                    "serverless": variant.get("ServerlessConfig"),
                }
            )
        return {
            "endpoint_name": endpoint_name,
            "host": self.host,
            "port": self.port,
            "workers": self.workers,
            "variants": variants,
            "data_capture": config["description"].get("DataCaptureConfig"),
            "async_inference": config["description"].get("AsyncInferenceConfig"),
            "storage_root": str(self.root),
            "own_images": self.own_images,
            "environments": self.job_context.environments,
        }

    @staticmethod
    def _deployed_variants(spec: dict[str, Any]) -> list[dict[str, Any]]:
        """DescribeEndpoint's ProductionVariants: instance counts, or the serverless config of a serverless one."""
        deployed = []
        for variant in spec["variants"]:
            summary = {
                "VariantName": variant["name"],
                "CurrentWeight": variant["weight"],
                "DesiredWeight": variant["weight"],
            }
            if variant.get("serverless"):
                summary.update(
                    CurrentServerlessConfig=variant["serverless"], DesiredServerlessConfig=variant["serverless"]
                )
            else:
                summary.update(CurrentInstanceCount=1, DesiredInstanceCount=1)
            deployed.append(summary)
        return deployed

    def _start_server(self, name: str, spec: dict[str, Any], config_name: str) -> Any:
        from . import endpoint_server

        run_dir = self.root / "endpoints" / name / f"{config_name}-{now().strftime('%Y%m%dT%H%M%S%f')}"
        run_dir.mkdir(parents=True, exist_ok=True)
        return endpoint_server.start(spec, run_dir, log=lambda text: self.log(f"[{name}] {text}"))

    def _deploy(self, name: str, config_name: str, spec: dict[str, Any], previous: dict[str, Any] | None) -> None:
        """Start the server of `config_name`; on success switch the record to it and stop the previous server."""
        try:
            handle = self._start_server(name, spec, config_name)
        except Exception as error:
            if self.store.read("endpoints", name) is None:  # deleted while it started (its server stopped with it)
                return
            self.log(f"[{name}] endpoint failed: {error}\n{traceback.format_exc()}")
            if previous is None:
                self.store.update_description("endpoints", name, EndpointStatus="Failed", FailureReason=str(error))
            else:
                self.store.update_description("endpoints", name, EndpointStatus="InService", FailureReason=str(error))
            return

        def switch(record: dict[str, Any]) -> None:
            record["description"].update(
                EndpointConfigName=config_name,
                ProductionVariants=self._deployed_variants(spec),
                LastModifiedTime=now(),
            )
            record["description"].pop("FailureReason", None)
            if spec.get("data_capture"):
                record["description"]["DataCaptureConfig"] = _capture_summary(spec["data_capture"])
            if spec.get("async_inference"):
                record["description"]["AsyncInferenceConfig"] = spec["async_inference"]
            record["private"].update(pid=handle.pid, port=handle.port, url=handle.url, run_dir=str(handle.run_dir))

        if self.store.read("endpoints", name) is None:  # deleted meanwhile
            self._stop_server(handle.pid)
            return
        self.store.update("endpoints", name, switch)  # traffic goes to the new server from here on
        if previous and previous.get("pid"):
            self._stop_server(previous["pid"])
        if previous and previous.get("run_dir"):
            shutil.rmtree(previous["run_dir"], ignore_errors=True)  # the previous config's staged model
        self.store.update_description("endpoints", name, EndpointStatus="InService")
        self.log(f"[{name}] endpoint InService at {handle.url}")

    @staticmethod
    def _stop_server(pid: int) -> None:
        from . import endpoint_server

        endpoint_server.stop(pid)

    @api
    def create_endpoint(self, **params: Any) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        endpoint_arn = self._arn("endpoint", name)
        if self.store.exists("endpoints", name):
            raise ValidationException(f'Cannot create already existing endpoint "{endpoint_arn}".')
        spec = self._endpoint_spec(name, config_name)
        moment = now()
        description = {
            "EndpointName": name,
            "EndpointArn": endpoint_arn,
            "EndpointConfigName": config_name,
            "EndpointStatus": "Creating",
            "CreationTime": moment,
            "LastModifiedTime": moment,
        }
        self.store.write("endpoints", name, {"description": description, "private": {"runner_pid": os.getpid()}})
        self._background(lambda: self._deploy(name, config_name, spec, None), f"endpoint-{name}")
        return self._respond({"EndpointArn": endpoint_arn})

    def _endpoint_record(self, name: str) -> dict[str, Any]:
        record = self._resource("endpoints", name, "endpoint", "endpoint")
        description, private = record["description"], record["private"]
        status = description["EndpointStatus"]
        if status in {"Creating", "Updating"} and not process_alive(private.get("runner_pid")):
            record = self.store.update_description(
                "endpoints", name, EndpointStatus="Failed", FailureReason=RUNNER_STOPPED
            )
        elif status == "InService" and not process_alive(private.get("pid")):
            reason = "the local endpoint server is no longer running: delete the endpoint and deploy again"
            record = self.store.update_description("endpoints", name, EndpointStatus="Failed", FailureReason=reason)
        return record

    @api
    def describe_endpoint(self, **params: Any) -> dict[str, Any]:
        return self._respond(copy.deepcopy(self._endpoint_record(params["EndpointName"])["description"]))

    @api
    def list_endpoints(self, **params: Any) -> dict[str, Any]:
        return self._list("endpoints", "ListEndpoints", params, name_key="EndpointName", status_key="EndpointStatus")

    @api
    def update_endpoint(self, **params: Any) -> dict[str, Any]:
        """Blue/green: start the new config's server, switch the endpoint to it, then stop the old one."""
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        record = self._endpoint_record(name)
        status = record["description"]["EndpointStatus"]
        if status != "InService":
            message = f'Cannot update in-progress endpoint "{self._arn("endpoint", name)}".'
            if status == "Failed":
                message = f'Cannot update endpoint "{self._arn("endpoint", name)}" in status Failed.'
            raise ValidationException(message)
        spec = self._endpoint_spec(name, config_name)
        previous = dict(record["private"])

        def updating(endpoint: dict[str, Any]) -> None:
            endpoint["description"].update(EndpointStatus="Updating", LastModifiedTime=now())
            endpoint["private"]["runner_pid"] = os.getpid()

        self.store.update("endpoints", name, updating)
        self._background(lambda: self._deploy(name, config_name, spec, previous), f"endpoint-{name}")
        return self._respond({"EndpointArn": record["description"]["EndpointArn"]})

    @api
    def delete_endpoint(self, **params: Any) -> dict[str, Any]:
        name = params["EndpointName"]
        record = self._resource("endpoints", name, "endpoint", "endpoint")
        self.store.delete("endpoints", name)
        pid = record["private"].get("pid")
        if pid and process_alive(pid):
            self._stop_server(pid)
        self._remove_endpoint_folder(name)
        return self._respond()

    def _remove_endpoint_folder(self, name: str) -> None:
        """Stop every server still running from the endpoint's folder (one still starting, whose pid no record
        holds yet, included), then remove the folder with its staged models."""
        from . import endpoint_server

        folder = self.root / "endpoints" / name
        endpoint_server.stop_servers_in(folder)
        shutil.rmtree(folder, ignore_errors=True)

    def remove_orphan_endpoints(self) -> list[str]:
        """The endpoint folders left without a record (a deletion interrupted, a CLI killed while deploying): their
        servers stopped and the folders removed; return their names."""
        folders = self.root / "endpoints"
        orphans = [
            folder.name
            for folder in sorted(folders.iterdir() if folders.is_dir() else [])
            if folder.is_dir() and not self.store.exists("endpoints", folder.name)
        ]
        for name in orphans:
            self._remove_endpoint_folder(name)
        return orphans

    def endpoint_url(self, name: str) -> str | None:
        """`http://host:port` of a live local endpoint, or None (unknown, not InService, server gone)."""
        record = self.store.read("endpoints", name)
        if record is None or record["description"]["EndpointStatus"] not in {"InService", "Updating"}:
            return None
        private = record["private"]
        return private.get("url") if process_alive(private.get("pid")) else None

    # -- batch transform -----------------------------------------------------------------------------------------

    @api
    def create_transform_job(self, **params: Any) -> dict[str, Any]:
        name = params["TransformJobName"]
        model = self._resource("models", params["ModelName"], "model", "model")
        job_arn = self._arn("transform-job", name)
        description = {
            **copy.deepcopy(params),
            "TransformJobArn": job_arn,
            "TransformJobStatus": "InProgress",
            "CreationTime": now(),
            "LastModifiedTime": now(),
        }
        self._new_record("transform-jobs", description, "transform job", "TransformJobArn")
        from .transform import TransformRun  # the model server's modules load with the first transform job

        run = TransformRun(
            copy.deepcopy(params), model["private"]["request"], self.job_context, own_images=self.own_images
        )
        self._background(run.run, f"transform-{name}")
        return self._respond({"TransformJobArn": job_arn})

    @api
    def describe_transform_job(self, **params: Any) -> dict[str, Any]:
        return self._describe("transform-jobs", params["TransformJobName"])

    @api
    def list_transform_jobs(self, **params: Any) -> dict[str, Any]:
        return self._list(
            "transform-jobs", "ListTransformJobs", params, name_key="TransformJobName", status_key="TransformJobStatus"
        )

    @api
    def stop_transform_job(self, **params: Any) -> dict[str, Any]:
        """Marks the job Stopping; it ends Stopped when its current object finishes (transforms run in-process)."""

        def stop(store: StateStore, name: str) -> bool:
            return jobs.request_stop(store, "transform-jobs", name, "TransformJobStatus")

        self._stop("transform-jobs", params["TransformJobName"], "transform job", stop)
        return self._respond()


def _descending(params: dict[str, Any]) -> bool:
    return params.get("SortOrder", "Ascending") == "Descending"


def _aware(value: Any) -> datetime:
    """A CreationTimeAfter/Before value (datetime, ISO string or epoch seconds) as an aware UTC datetime."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _capture_summary(config: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpoint's DataCaptureConfig summary of an endpoint config's DataCaptureConfig."""
    return {
        "EnableCapture": config.get("EnableCapture", True),
        "CaptureStatus": "Started" if config.get("EnableCapture", True) else "Stopped",
        "CurrentSamplingPercentage": config.get("InitialSamplingPercentage", 100),
        "DestinationS3Uri": config.get("DestinationS3Uri", ""),
    }
