"""The steps of the project's workflow and their sequence (`Workflow.run`), written once against a Backend: a
boto3-shaped SageMaker client, a Storage and what differs between the executors (auto scaling, logs).

The local executor and AWS both provide such a client, so every step sends the very same requests to either.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import UserError
from .names import MAX_NAME_LENGTH, MAX_TUNING_JOB_NAME_LENGTH, job_name
from .packaging import code_members, pack_members, write_data_schema
from .sagemaker_requests import ProjectLocations, RequestFactory
from .storage import s3_join
from .waiting import (
    ENDPOINT,
    PROCESSING_JOB,
    TRAINING_JOB,
    TRANSFORM_JOB,
    TUNING_JOB,
    Resource,
    wait_for,
)

if TYPE_CHECKING:
    from .backends import Backend
    from .config import ProjectConfig


class WorkflowError(UserError):
    """A step cannot run: a missing earlier step, a missing resource; the message says what to do."""


@dataclass
class ProcessingResult:
    job_name: str
    outputs: dict[str, str]

    @property
    def preprocessor_model(self) -> str:
        return s3_join(self.outputs["preprocessor"], "model.tar.gz")


@dataclass
class TrainingResult:
    job_name: str
    model_data_url: str
    metrics: dict[str, float]
    hyperparameters: dict[str, str]


@dataclass
class TuningResult:
    job_name: str
    best: TrainingResult
    trials: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Prediction:
    """What an endpoint answered: the container's `predictions` (passed through as they are), the variant that
    answered (real-time and serverless), for an asynchronous endpoint the S3 object that holds the answer, and the
    request's round trip in milliseconds as the caller sees it (set by `Workflow.predict`)."""

    values: list[Any]
    variant: str | None = None
    output_location: str | None = None
    latency_ms: float | None = None


@dataclass
class TransformEvaluation:
    """A batch transform's predictions, in the order of the test split, and its metrics."""

    predictions: list[str]
    metrics: dict[str, float]


@dataclass
class Deployment:
    model_name: str
    endpoint_config_name: str | None = None
    endpoint_name: str | None = None


ENDPOINTS_PER_PAGE = 100  # ListEndpoints' largest MaxResults


@dataclass(frozen=True)
class JobListing:
    """How to list one kind of job (the client's List* method and its summaries' key), and the kinds of name this
    workflow gives such jobs, with their length limits (see `names.job_name`)."""

    operation: str
    summaries_key: str
    name_parts: tuple[tuple[str, int], ...]


JOB_LISTINGS = {
    PROCESSING_JOB: JobListing("list_processing_jobs", "ProcessingJobSummaries", (("process", MAX_NAME_LENGTH),)),
    TRAINING_JOB: JobListing(  # a tuning job's training jobs are named after the tuning job
        "list_training_jobs",
        "TrainingJobSummaries",
        (("train", MAX_NAME_LENGTH), ("tune", MAX_TUNING_JOB_NAME_LENGTH)),
    ),
    TUNING_JOB: JobListing(
        "list_hyper_parameter_tuning_jobs", "HyperParameterTuningJobSummaries", (("tune", MAX_TUNING_JOB_NAME_LENGTH),)
    ),
    TRANSFORM_JOB: JobListing("list_transform_jobs", "TransformJobSummaries", (("transform", MAX_NAME_LENGTH),)),
}

Progress = Callable[[int, int], None]
"""Reports how many parts of a step are done, of how many."""


class StepDisplay(Protocol):
    """How the caller of `Workflow.run` shows its steps (a spinner, or a bar, on the command line)."""

    def step(self, title: str, total: int | None = None) -> AbstractContextManager[Progress]:
        """A step from start to end; with `total`, the yielded callback reports its parts (a tuning job's trials)."""


@dataclass
class SamplePredictions:
    """Sample rows predicted through the endpoint, with the variant that answered each and the latency of each
    request (ms), and through the Lambda handler (empty without the API)."""

    endpoint: list[Any]
    variants: list[str]
    through_lambda: list[Any]
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class RunResult:
    """What the whole workflow made and measured. `samples` are the first raw test rows (target first); `predictions`
    theirs through the endpoint (None without one); `kept` is the endpoint left running, with its URL."""

    processing: ProcessingResult
    training: TrainingResult
    tuning: TuningResult | None
    samples: list[list[str]]
    transform_output: str
    evaluation: TransformEvaluation
    predictions: SamplePredictions | None = None
    kept: Deployment | None = None
    endpoint_url: str | None = None


class Workflow:
    """Each public method is one step; they chain through the S3 locations of the config."""

    def __init__(self, config: ProjectConfig, backend: Backend, project_root: Path, log: Callable[[str], None]) -> None:
        self.config = config
        self.backend = backend
        self.root = project_root
        self.log = log
        self.locations = ProjectLocations.from_config(config, bucket=backend.bucket)
        self.requests = RequestFactory(
            config,
            bucket=backend.bucket,
            role_arn=backend.role_arn,
            images=backend.images,
            account_id=backend.account_id,
        )

    # -- names -----------------------------------------------------------------------------------------------------

    def _name(self, kind: str, max_length: int = 63) -> str:
        return job_name(self.config.project.name, kind, max_length=max_length)

    def _wait(self, resource: Resource, name: str, on_poll: Callable[[dict[str, Any]], None] | None = None) -> dict:
        return wait_for(self.backend.sagemaker, resource, name, on_poll=on_poll)

    # -- the whole workflow ----------------------------------------------------------------------------------------

    def run(self, display: StepDisplay, keep: bool = False) -> RunResult:
        """Process, train or tune, create the model; deploy it and predict sample rows through the endpoint and the
        Lambda handler (unless endpoint.type is batch); batch-transform the test split and score it. The endpoint and
        the model are deleted at the end unless `keep`, and also when a step fails or is interrupted."""
        with display.step("Processing"):
            processing = self.process()
        tuning = None
        if self.config.tuning.enabled:
            with display.step("Tuning", total=self.config.tuning.max_jobs) as progress:
                tuning = self.tune(processing, on_progress=progress)
            training = tuning.best
        else:
            with display.step("Training"):
                training = self.train(processing)
        with display.step("Creating the model"):
            model_name = self.create_model(training, processing)
        samples = self.read_rows(processing.outputs["test_raw"])[:5]
        deployment = Deployment(model_name)
        predictions = None
        try:
            if self.config.endpoint.type != "batch":
                with display.step(f"Deploying the {self.config.endpoint.type} endpoint"):
                    deployment = self.create_endpoint(model_name)  # from here on, the teardown below deletes it
                    self.serve(str(deployment.endpoint_name))
                predictions = self._predict_through_endpoint(display, str(deployment.endpoint_name), samples)
            with display.step("Batch transform of the test split"):
                transform_output = self.transform(model_name)
            evaluation = self.evaluate_transform(transform_output)
        finally:
            if not keep:
                self.teardown(deployment)
        result = RunResult(processing, training, tuning, samples, transform_output, evaluation, predictions)
        if keep and deployment.endpoint_name:
            result.kept, result.endpoint_url = deployment, self.backend.endpoint_url(deployment.endpoint_name)
        return result

    def _predict_through_endpoint(
        self, display: StepDisplay, endpoint_name: str, samples: list[list[str]]
    ) -> SamplePredictions:
        """The sample rows (without their target) through the endpoint and, with the API, the Lambda handler."""
        rows = [row[1:] for row in samples]
        with display.step("Predicting through the endpoint"):
            answers = self.predict_samples(endpoint_name, rows)
        values = [value for answer in answers for value in answer.values]
        variants = [answer.variant for answer in answers for _ in answer.values if answer.variant]
        latencies = [answer.latency_ms for answer in answers if answer.latency_ms is not None]
        through_lambda: list[Any] = []
        if self.config.api.enabled:
            with display.step("Predicting through the Lambda handler"):
                through_lambda = self.predict_through_lambda(endpoint_name, rows)
        return SamplePredictions(values, variants, through_lambda, latencies)

    # -- inputs ----------------------------------------------------------------------------------------------------

    def data_path(self) -> Path:
        """The project's data file (data.local_path); WorkflowError when it is missing."""
        data_path = self.root / self.config.data.local_path
        if not data_path.is_file():
            raise WorkflowError(f"data.local_path {data_path} does not exist: put your CSV there or fix the config")
        return data_path

    def upload_inputs(self) -> str:
        """Upload the data file (under a key named by its content, so that the processing job reads it alone) and the
        code; return the data's S3 URI."""
        data_path = self.data_path()
        data_uri = self.locations.raw_data_object(data_path)
        self.backend.storage.upload_file(data_path, data_uri)
        self.log(f"uploaded {data_path.name} to {data_uri}")
        self.upload_code()
        return data_uri

    def upload_code(self) -> None:
        """Upload jobs/ (with data_schema.json from the config's `data:` and the engine's sm_runtime helpers) twice,
        as SageMaker consumes it: file by file (the processing job's `code` input) and packed as sourcedir.tar.gz
        (training jobs and models)."""
        with tempfile.TemporaryDirectory() as scratch:
            members = code_members(self.root / "jobs", write_data_schema(self.config.data, Path(scratch)))
            for path, name in members:
                if path.is_file():
                    self.backend.storage.upload_file(path, s3_join(self.locations.code_dir, name))
            self.backend.storage.upload_bytes(pack_members(members), self.locations.sourcedir)
        self.log(f"uploaded jobs/, data_schema.json and sm_runtime/ to {self.locations.code_dir} and sourcedir")

    # -- jobs ------------------------------------------------------------------------------------------------------

    def process(self) -> ProcessingResult:
        data_uri = self.upload_inputs()
        name = self._name("process")
        self.backend.sagemaker.create_processing_job(**self.requests.processing_job(name, raw_data=data_uri))
        self.log(f"processing job {name} started")
        description = self._wait(PROCESSING_JOB, name)
        return self._processing_result(description)

    @staticmethod
    def _processing_result(description: dict[str, Any]) -> ProcessingResult:
        outputs = {
            output["OutputName"]: output["S3Output"]["S3Uri"]
            for output in description["ProcessingOutputConfig"]["Outputs"]
        }
        return ProcessingResult(description["ProcessingJobName"], outputs)

    def newest_completed(self, resource: Resource) -> str | None:
        """The name of this project's newest completed job of this kind (processing, training with a tuning job's
        trials, tuning or transform job), None when there is none."""
        listing = JOB_LISTINGS[resource]
        list_jobs = getattr(self.backend.sagemaker, listing.operation)
        bases = dict.fromkeys(self._name(part, length).rsplit(f"-{part}-", 1)[0] for part, length in listing.name_parts)
        summaries = [
            summary
            for base in bases
            for summary in list_jobs(
                NameContains=base, StatusEquals="Completed", SortBy="CreationTime", SortOrder="Descending"
            )[listing.summaries_key]
        ]
        if not summaries:
            return None
        return max(summaries, key=lambda summary: summary["CreationTime"])[resource.name_key]

    def latest_processing(self) -> ProcessingResult:
        """The newest completed processing job of this project."""
        name = self.newest_completed(PROCESSING_JOB)
        if name is None:
            raise WorkflowError("no completed processing job yet: run the `process` step first")
        return self._processing_result(self.backend.sagemaker.describe_processing_job(ProcessingJobName=name))

    def train(self, processing: ProcessingResult, hyperparameters: dict[str, Any] | None = None) -> TrainingResult:
        self.upload_code()
        name = self._name("train")
        request = self.requests.training_job(name, hyperparameters=hyperparameters)
        self.backend.sagemaker.create_training_job(**request)
        self.log(f"training job {name} started")
        return self.training_result(self._wait(TRAINING_JOB, name))

    def described_training(self, training_job: str) -> TrainingResult:
        """A training job's result, by name."""
        return self.training_result(self.backend.sagemaker.describe_training_job(TrainingJobName=training_job))

    @staticmethod
    def training_result(description: dict[str, Any]) -> TrainingResult:
        metrics = {m["MetricName"]: m["Value"] for m in description.get("FinalMetricDataList", [])}
        hyperparameters = {
            key: value
            for key, value in description.get("HyperParameters", {}).items()
            if not key.startswith("sagemaker_")
        }
        return TrainingResult(
            job_name=description["TrainingJobName"],
            model_data_url=description["ModelArtifacts"]["S3ModelArtifacts"],
            metrics=metrics,
            hyperparameters=hyperparameters,
        )

    def tune(self, processing: ProcessingResult, on_progress: Callable[[int, int], None] | None = None) -> TuningResult:
        self.upload_code()
        name = self._name("tune", max_length=MAX_TUNING_JOB_NAME_LENGTH)
        self.backend.sagemaker.create_hyper_parameter_tuning_job(**self.requests.tuning_job(name))
        self.log(f"tuning job {name} started ({self.config.tuning.max_jobs} trials, {self.config.tuning.strategy})")

        def report(description: dict[str, Any]) -> None:
            if on_progress is not None:
                counters = description.get("TrainingJobStatusCounters", {})
                done = sum(counters.get(key, 0) for key in ("Completed", "Stopped")) + counters.get(
                    "NonRetryableError", 0
                )
                on_progress(done, self.config.tuning.max_jobs)

        description = self._wait(TUNING_JOB, name, on_poll=report)
        best_name = description.get("BestTrainingJob", {}).get("TrainingJobName")
        if not best_name:
            raise WorkflowError(f"tuning job {name} completed without a successful training job: see `logs {name}`")
        return TuningResult(name, self.described_training(best_name), self.tuning_trials(name))

    def tuning_trials(self, tuning_job: str) -> list[dict[str, Any]]:
        pages = self.backend.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job, MaxResults=100
        )
        return pages["TrainingJobSummaries"]

    def latest_model_artifacts(self) -> TrainingResult:
        """The newest completed training job of this project (a tuning job's trials included)."""
        name = self.newest_completed(TRAINING_JOB)
        if name is None:
            raise WorkflowError("no completed training job yet: run the `train` or `tune` step first")
        return self.described_training(name)

    # -- models and endpoints --------------------------------------------------------------------------------------

    def create_model(self, training: TrainingResult, processing: ProcessingResult) -> str:
        name = self._name("model")
        request = self.requests.model(
            name, model_data_url=training.model_data_url, preprocessor_data_url=processing.preprocessor_model
        )
        self.backend.sagemaker.create_model(**request)
        self.log(f"model {name} created from {training.job_name}")
        return name

    def deploy(self, model_name: str) -> Deployment:
        """Create the endpoint, wait until it is in service, apply the configured auto scaling."""
        deployment = self.create_endpoint(model_name)
        self.serve(str(deployment.endpoint_name))
        return deployment

    def create_endpoint(self, model_name: str) -> Deployment:
        """CreateEndpointConfig and CreateEndpoint, without waiting: the caller owns what exists from here on."""
        config_name = self._name("config")
        self.backend.sagemaker.create_endpoint_config(**self.requests.endpoint_config(config_name, model_name))
        endpoint_name = self._name("endpoint")
        self.backend.sagemaker.create_endpoint(**self.requests.endpoint(endpoint_name, config_name))
        self.log(f"endpoint {endpoint_name} creating")
        return Deployment(model_name, config_name, endpoint_name)

    def serve(self, endpoint_name: str) -> None:
        """Wait until the created (or updated) endpoint is in service, then apply the configured auto scaling."""
        self._wait(ENDPOINT, endpoint_name)
        self.apply_autoscaling(endpoint_name)

    def apply_autoscaling(self, endpoint_name: str) -> None:
        """Where the backend scales endpoints and endpoint.autoscaling is enabled: register the variants' scalable
        targets and their policy."""
        scaling = self.backend.autoscaling
        if scaling is not None and self.config.endpoint.autoscaling.enabled:
            scaling.apply(self.requests.autoscaling_requests(endpoint_name))
            self.log(f"auto scaling applied to {endpoint_name}")

    def update_endpoint(self, previous: Deployment, model_name: str) -> Deployment:
        """Blue/green as the service does it: a new endpoint config with the new model, UpdateEndpoint, and once the
        endpoint is in service again, the previous config and model deleted. Scalable targets are deregistered for
        the update and applied again afterwards."""
        endpoint_name = str(previous.endpoint_name)
        client = self.backend.sagemaker
        config_name = self._name("config")
        client.create_endpoint_config(**self.requests.endpoint_config(config_name, model_name))
        if self.backend.autoscaling is not None:
            self.backend.autoscaling.remove(endpoint_name)
        client.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
        self.log(f"endpoint {endpoint_name} updating to {config_name}")
        self.serve(endpoint_name)
        if previous.endpoint_config_name:
            client.delete_endpoint_config(EndpointConfigName=previous.endpoint_config_name)
        client.delete_model(ModelName=previous.model_name)
        self.log(f"deleted the previous config {previous.endpoint_config_name} and model {previous.model_name}")
        return Deployment(model_name, config_name, endpoint_name)

    def predict(self, endpoint_name: str, rows: list[list[str]]) -> Prediction:
        """Send raw feature rows as CSV (InvokeEndpoint, or InvokeEndpointAsync for an async endpoint), timed: the
        latency runs from the request to the answer read (for an async endpoint, read back from S3)."""
        started = time.perf_counter()
        if self.config.endpoint.type == "async":
            prediction = self.predict_async(endpoint_name, rows)
        else:
            prediction = self._invoke(endpoint_name, rows)
        prediction.latency_ms = (time.perf_counter() - started) * 1000
        return prediction

    def _invoke(self, endpoint_name: str, rows: list[list[str]]) -> Prediction:
        response = self.backend.runtime.invoke_endpoint(
            EndpointName=endpoint_name, ContentType="text/csv", Accept="application/json", Body=rows_to_csv(rows)
        )
        values = json.loads(response["Body"].read())["predictions"]
        return Prediction(values, variant=response.get("InvokedProductionVariant"))

    def predict_each(self, endpoint_name: str, rows: list[list[str]]) -> list[Prediction]:
        """One request per row: with several variants, each row may be answered by another one (by weight)."""
        return [self.predict(endpoint_name, [row]) for row in rows]

    def predict_samples(self, endpoint_name: str, rows: list[list[str]]) -> list[Prediction]:
        """The endpoint's answers to sample rows, one timed request per row (with several variants, each row may be
        answered by another one); an async endpoint gets them in one request (uploaded, queued, read back)."""
        if self.config.endpoint.type == "async":
            return [self.predict(endpoint_name, rows)]
        return self.predict_each(endpoint_name, rows)

    def predict_through_lambda(self, endpoint_name: str, rows: list[list[str]]) -> list[Any]:
        """Rows through the project's Lambda handler (api/app.py) to the endpoint; for an async endpoint, the
        handler's 202 answer's output location is read back."""
        from .lambda_local import invoke_lambda, invoke_lambda_async

        runtime = self.backend.runtime
        if self.config.endpoint.type != "async":
            return invoke_lambda(self.root, endpoint_name, runtime, rows)
        accepted = invoke_lambda_async(
            self.root, endpoint_name, runtime, self.backend.storage, self.locations.async_input, rows
        )
        body = self.async_result(accepted["outputLocation"], accepted.get("failureLocation"))
        return json.loads(body)["predictions"]

    def predict_async(self, endpoint_name: str, rows: list[list[str]]) -> Prediction:
        """Upload the rows under the async input prefix, InvokeEndpointAsync, wait for the result in S3."""
        input_location = s3_join(self.locations.async_input, f"{uuid.uuid4().hex}.csv")
        self.backend.storage.upload_bytes(rows_to_csv(rows), input_location)
        response = self.backend.runtime.invoke_endpoint_async(
            EndpointName=endpoint_name, InputLocation=input_location, ContentType="text/csv", Accept="application/json"
        )
        self.log(f"async invocation {response.get('InferenceId')}: result expected at {response['OutputLocation']}")
        body = self.async_result(response["OutputLocation"], response.get("FailureLocation"))
        return Prediction(json.loads(body)["predictions"], output_location=response["OutputLocation"])

    def async_result(self, output_location: str, failure_location: str | None) -> bytes:
        """The body written to `output_location`; WorkflowError when the failure object appears or on timeout."""
        storage = self.backend.storage
        timeout = self.config.endpoint.async_inference.poll_timeout_seconds
        deadline, interval = time.monotonic() + timeout, 0.05
        while True:
            if storage.exists(output_location):
                return storage.read_bytes(output_location)
            if failure_location and storage.exists(failure_location):
                reason = storage.read_bytes(failure_location).decode("utf-8", "replace")
                raise WorkflowError(f"the asynchronous invocation failed ({failure_location}): {reason}")
            if time.monotonic() >= deadline:
                raise WorkflowError(
                    f"no result at {output_location} after {timeout} s: the endpoint may still be working on it; "
                    "read it later from S3, or raise endpoint.async.poll_timeout_seconds"
                )
            time.sleep(interval)
            interval = min(interval * 2, 2.0)

    def transform(self, model_name: str) -> str:
        """Batch-transform the raw test split; return the S3 URI of the output prefix."""
        name = self._name("transform")
        request = self.requests.transform_job(name, model_name)
        self.backend.sagemaker.create_transform_job(**request)
        self.log(f"transform job {name} started")
        description = self._wait(TRANSFORM_JOB, name)
        return description["TransformOutput"]["S3OutputPath"]

    def evaluate_transform(self, output: str) -> TransformEvaluation:
        """The batch transform's output (each test row joined with its prediction) scored against the targets."""
        from .evaluation import split_joined_rows, transform_metrics  # scikit-learn: only where metrics are made

        joined_rows = self.read_rows(output)
        _, predictions = split_joined_rows(joined_rows)
        scores = self.config.training.mode == "builtin"
        return TransformEvaluation(predictions, transform_metrics(self.config.data, joined_rows, scores=scores))

    def teardown(self, deployment: Deployment) -> None:
        """Delete the endpoint (its scalable targets first, where the backend scales), its config and its model."""
        client = self.backend.sagemaker
        if deployment.endpoint_name:
            if self.backend.autoscaling is not None:
                self.backend.autoscaling.remove(deployment.endpoint_name)
            client.delete_endpoint(EndpointName=deployment.endpoint_name)
        if deployment.endpoint_config_name:
            client.delete_endpoint_config(EndpointConfigName=deployment.endpoint_config_name)
        client.delete_model(ModelName=deployment.model_name)
        self.log(f"deleted endpoint {deployment.endpoint_name} and model {deployment.model_name}")

    def remove_orphan_endpoints(self) -> list[str]:
        """Servers and files of endpoints whose record is gone (local: a CLI interrupted while deploying), removed;
        return the endpoints' names."""
        names = self.backend.remove_orphan_endpoints()
        if names:
            self.log(f"stopped the leftover servers of deleted endpoints {', '.join(names)}")
        return names

    def endpoint_deployment(self, endpoint_name: str) -> Deployment:
        """The endpoint, its config and its model, as described by the service."""
        client = self.backend.sagemaker
        endpoint = client.describe_endpoint(EndpointName=endpoint_name)
        config_name = endpoint["EndpointConfigName"]
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
        model_name = config["ProductionVariants"][0]["ModelName"]
        return Deployment(model_name, config_name, endpoint_name)

    def project_endpoint_summaries(self) -> list[dict[str, Any]]:
        """The ListEndpoints summaries of every endpoint this project named (`<project>-endpoint-<time>-<random>`),
        newest first, from every page."""
        base = self._name("endpoint").rsplit("-endpoint-", 1)[0]
        request: dict[str, Any] = {
            "NameContains": base,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": ENDPOINTS_PER_PAGE,
        }
        summaries: list[dict[str, Any]] = []
        while True:
            response = self.backend.sagemaker.list_endpoints(**request)
            summaries.extend(e for e in response["Endpoints"] if e["EndpointName"].startswith(f"{base}-endpoint-"))
            if not response.get("NextToken"):
                return summaries
            request["NextToken"] = response["NextToken"]

    def project_endpoints(self) -> list[str]:
        """The names of the endpoints this project named, newest first."""
        return [summary["EndpointName"] for summary in self.project_endpoint_summaries()]

    def example_requests(self) -> dict[str, dict[str, Any]]:
        """Every request of the workflow, keyed by API operation, with fresh example names."""
        training_job = self._name("train")
        model_name = self._name("model")
        config_name = self._name("config")
        requests = {
            "CreateProcessingJob": self.requests.processing_job(
                self._name("process"), raw_data=self.locations.raw_data_object(self.data_path())
            ),
            "CreateTrainingJob": self.requests.training_job(training_job),
            "CreateHyperParameterTuningJob": self.requests.tuning_job(
                self._name("tune", max_length=MAX_TUNING_JOB_NAME_LENGTH)
            ),
            "CreateModel": self.requests.model(
                model_name,
                model_data_url=s3_join(self.locations.models, training_job, "output", "model.tar.gz"),
                preprocessor_data_url=self.locations.preprocessor_model,
            ),
            "CreateEndpointConfig": self.requests.endpoint_config(config_name, model_name),
            "CreateEndpoint": self.requests.endpoint(self._name("endpoint"), config_name),
            "CreateTransformJob": self.requests.transform_job(self._name("transform"), model_name),
        }
        if not self.config.tuning.enabled:
            del requests["CreateHyperParameterTuningJob"]
        if self.config.endpoint.type == "batch":
            del requests["CreateEndpointConfig"], requests["CreateEndpoint"]
        return requests

    # -- data helpers ----------------------------------------------------------------------------------------------

    def read_rows(self, uri: str) -> list[list[str]]:
        """Every CSV row of every object under an S3 prefix."""
        rows: list[list[str]] = []
        for object_uri in self.backend.storage.list_uris(uri):
            text = self.backend.storage.read_bytes(object_uri).decode("utf-8")
            rows.extend(row for row in csv.reader(io.StringIO(text)) if row)
        return rows


def rows_to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
