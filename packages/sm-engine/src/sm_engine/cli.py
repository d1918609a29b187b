"""The command line: the whole workflow (`run`) and each step on its own, on the local executor or (`--aws`) on
Amazon SageMaker."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.status import Status

from . import summary
from .aws.autoscaling import apply_autoscaling, remove_autoscaling
from .aws.cloudwatch import JobWatcher, LogStreamer, last_lines, log_location
from .aws.session import AwsBackend
from .backends import local_root, make_backend
from .captures import latest_records
from .config import DEFAULT_CONFIG_PATH, load_config
from .evaluation import split_joined_rows, transform_metrics
from .lambda_local import invoke_lambda, invoke_lambda_async
from .names import job_name
from .options import parse_assignments
from .pipeline_cli import pipeline_app
from .storage import s3_join
from .user_errors import USER_ERRORS, describe
from .waiting import (
    ENDPOINT,
    PROCESSING_JOB,
    TRAINING_JOB,
    TRANSFORM_JOB,
    Resource,
    ResourceFailed,
    WaitInterrupted,
    observing,
    wait_for,
)
from .workflow import Deployment, Workflow, WorkflowError

app = typer.Typer(
    help="Run this SageMaker project: the whole workflow (`run`) or one step at a time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(pipeline_app, name="pipeline", help="SageMaker Pipelines: the definition (offline), upsert and start.")
console = Console(highlight=False)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The project config file.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Stream every job's log lines.")]
LocalOption = Annotated[
    bool, typer.Option("--local/--aws", help="Run on the local executor (default) or on Amazon SageMaker.")
]


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can fix into a red message and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with observing(_observe):
                return command(*args, **kwargs)
        except ResourceFailed as error:
            _report_failure(error)
        except WaitInterrupted as interrupted:
            _offer_stop(interrupted)
            raise typer.Exit(130) from None
        except USER_ERRORS as error:
            console.print(describe(error), markup=True)
        raise typer.Exit(1)

    return wrapper


_config_path: Path = DEFAULT_CONFIG_PATH
_backend: Any = None
_watcher: JobWatcher | None = None
_status: Status | None = None


def _observe(resource: Resource, name: str, description: dict[str, Any]) -> None:
    """Every poll of a wait: on AWS, show the status and stream the new CloudWatch log lines."""
    if _watcher is not None:
        _watcher(resource, name, description)


def _show_status(text: str) -> None:
    console.print(text, style="dim", markup=False)
    if _status is not None:
        _status.update(f"[bold]{escape(text)}[/bold]...")


def _report_failure(error: ResourceFailed) -> None:
    """The failure reason and where to read the logs: the kept file locally, the last CloudWatch lines on AWS."""
    console.print(f"[red]{error.resource.kind.capitalize()} {error.name} {error.status.lower()}[/red]")
    console.print(f"Reason: {error.reason}", markup=False)
    if isinstance(_backend, AwsBackend):
        try:
            lines = last_lines(_backend.client("logs"), error.resource, error.name)
        except (ClientError, BotoCoreError) as logs_error:
            lines = [f"(CloudWatch logs unavailable: {logs_error})"]
        if lines:
            console.print("Last log lines:", markup=False)
            console.print("\n".join(lines), style="dim", markup=False)
        return
    logs = _log_file(error.name)
    if logs is not None:
        console.print(f"Logs: {logs}", markup=False)


def _offer_stop(interrupted: WaitInterrupted) -> None:
    """Ctrl-C while waiting: ask whether to stop the job (it would otherwise keep running, and billing)."""
    what = f"{interrupted.resource.kind} {interrupted.name}"
    console.print(f"\nInterrupted while waiting for {what}.", markup=False)
    if interrupted.stoppable and typer.confirm(f"Stop the {what}?", default=True):
        interrupted.stop()
        console.print(f"Stop requested for {what}.", markup=False)
    else:
        console.print(f"The {what} keeps running.", markup=False)


def _log_file(name: str) -> Path | None:
    """The kept log of a local job, whatever its kind."""
    config = load_config(_config_path)
    root = local_root(config, _project_root(_config_path))
    matches = sorted(root.glob(f"jobs/*/{name}/logs.txt"))
    return matches[0] if matches else None


def _project_root(config_path: Path) -> Path:
    return config_path.resolve().parent.parent


def _workflow(config_path: Path, verbose: bool, local: bool = True) -> Workflow:
    global _config_path, _backend, _watcher
    _config_path = config_path
    _backend = _watcher = None
    config = load_config(config_path)
    root = _project_root(config_path)

    def log(line: str) -> None:
        if verbose:
            console.print(line, style="dim", markup=False)

    _backend = make_backend(config, root, log, aws=not local)
    if isinstance(_backend, AwsBackend):
        _watcher = JobWatcher(_backend.client("logs"), log if verbose else None, _show_status)
    return Workflow(config, _backend, root, log)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Show a spinner while a step runs (with the remote status on AWS), then its duration."""
    global _status
    started = time.perf_counter()
    with console.status(f"[bold]{title}[/bold]...") as _status:
        try:
            yield
        finally:
            _status = None
    console.print(f"[green]✓[/green] {title} [dim]({time.perf_counter() - started:.1f} s)[/dim]")


def _deploy(workflow: Workflow, model_name: str) -> Deployment:
    """Deploy, then apply the configured auto scaling."""
    deployment = workflow.create_endpoint(model_name)
    _serve(workflow, str(deployment.endpoint_name))
    return deployment


def _serve(workflow: Workflow, endpoint_name: str) -> None:
    """Wait until the created endpoint is in service, then apply the configured auto scaling."""
    workflow.wait_for_endpoint(endpoint_name)
    _apply_autoscaling(workflow, endpoint_name)


def _apply_autoscaling(workflow: Workflow, endpoint_name: str) -> None:
    """AWS only when configured: the local executor serves each variant from one process."""
    backend = workflow.backend
    if isinstance(backend, AwsBackend) and workflow.config.endpoint.autoscaling.enabled:
        apply_autoscaling(
            backend.client("application-autoscaling"), workflow.requests.autoscaling_requests(endpoint_name)
        )
        workflow.log(f"auto scaling applied to {endpoint_name}")


def _update_endpoint(workflow: Workflow, previous: Deployment, model_name: str) -> Deployment:
    """Blue/green as the service does it: a new endpoint config with the new model, UpdateEndpoint, and once the
    endpoint is InService again, the previous config and model deleted. Scalable targets are deregistered for the
    update and applied again afterwards."""
    endpoint_name = str(previous.endpoint_name)
    client = workflow.backend.sagemaker
    config_name = job_name(workflow.config.project.name, "config")
    client.create_endpoint_config(**workflow.requests.endpoint_config(config_name, model_name))
    backend = workflow.backend
    if isinstance(backend, AwsBackend):
        remove_autoscaling(backend.client("application-autoscaling"), endpoint_name)
    client.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    workflow.log(f"endpoint {endpoint_name} updating to {config_name}")
    wait_for(client, ENDPOINT, endpoint_name)
    _apply_autoscaling(workflow, endpoint_name)
    if previous.endpoint_config_name:
        client.delete_endpoint_config(EndpointConfigName=previous.endpoint_config_name)
    client.delete_model(ModelName=previous.model_name)
    workflow.log(f"deleted the previous config {previous.endpoint_config_name} and model {previous.model_name}")
    return Deployment(model_name, config_name, endpoint_name)


def _teardown(workflow: Workflow, deployment: Deployment) -> None:
    """Delete the endpoint, its config and its model; on AWS, its scalable targets first."""
    backend = workflow.backend
    if isinstance(backend, AwsBackend) and deployment.endpoint_name:
        remove_autoscaling(backend.client("application-autoscaling"), deployment.endpoint_name)
    workflow.teardown(deployment)


def _predict_samples(workflow: Workflow, endpoint_name: str, rows: list[list[str]]) -> tuple[list[Any], list[str]]:
    """The endpoint's predictions of the sample rows and the variant that answered each: one request per row when
    traffic is split between variants, else one request for all rows (async: uploaded, queued, read back)."""
    if len(workflow.config.endpoint.variants) > 1 and workflow.config.endpoint.type != "async":
        answers = workflow.predict_each(endpoint_name, rows)
        return [value for answer in answers for value in answer.values], [str(answer.variant) for answer in answers]
    answer = workflow.predict(endpoint_name, rows)
    return answer.values, [str(answer.variant)] * len(answer.values) if answer.variant else []


def _predict_through_lambda(workflow: Workflow, endpoint_name: str, rows: list[list[str]]) -> list[Any]:
    """The sample rows through api/app.py; for an async endpoint, its 202 answer's output location is read back."""
    backend = workflow.backend
    if workflow.config.endpoint.type != "async":
        return invoke_lambda(workflow.root, endpoint_name, backend.runtime, rows)
    accepted = invoke_lambda_async(
        workflow.root, endpoint_name, backend.runtime, backend.storage, workflow.locations.async_input, rows
    )
    body = workflow.async_result(accepted["outputLocation"], accepted.get("failureLocation"))
    return json.loads(body)["predictions"]


def _tune_with_progress(workflow: Workflow, processing: Any) -> Any:
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]Tuning[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("trials", total=workflow.config.tuning.max_jobs)
        result = workflow.tune(processing, on_progress=lambda done, total: progress.update(task, completed=done))
    trial = result.best.job_name.removeprefix(f"{result.job_name}-")
    console.print(
        f"[green]✓[/green] Tuning job {result.job_name}: best trial {trial} "
        f"[dim]({time.perf_counter() - started:.1f} s)[/dim]"
    )
    return result


@app.command()
@user_errors
def run(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
    keep: Annotated[bool, typer.Option(help="Keep the endpoint running afterwards.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """The whole workflow: upload, process, train or tune, deploy, predict, batch transform, summary, teardown."""
    started = time.perf_counter()
    workflow = _workflow(config, verbose, local)
    settings = workflow.config
    console.rule(f"[bold]{settings.project.name}[/bold]: {workflow.backend.name} workflow")
    with step("Processing"):
        processing = workflow.process()
    if settings.tuning.enabled:
        tuning = _tune_with_progress(workflow, processing)
        training = tuning.best
    else:
        tuning = None
        with step("Training"):
            training = workflow.train(processing)
    with step("Creating the model"):
        model_name = workflow.create_model(training, processing)
    deployment = Deployment(model_name)
    samples = workflow.read_rows(processing.outputs["test_raw"])[:5]
    endpoint_predictions: list[float] = []
    endpoint_variants: list[str] = []
    lambda_predictions: list[float] = []
    endpoint_url = None
    try:
        if settings.endpoint.type != "batch":
            with step(f"Deploying the {settings.endpoint.type} endpoint"):
                deployment = workflow.create_endpoint(model_name)  # from here on, the teardown below deletes it
                _serve(workflow, str(deployment.endpoint_name))
            endpoint_url = workflow.backend.describe_endpoint_url(deployment.endpoint_name)
            rows = [row[1:] for row in samples]
            with step("Predicting through the endpoint"):
                endpoint_predictions, endpoint_variants = _predict_samples(workflow, deployment.endpoint_name, rows)
            if settings.api.enabled:
                with step("Predicting through the Lambda handler"):
                    lambda_predictions = _predict_through_lambda(workflow, deployment.endpoint_name, rows)
        with step("Batch transform of the test split"):
            transform_output = workflow.transform(model_name)
        joined_rows = workflow.read_rows(transform_output)
        _, predictions = split_joined_rows(joined_rows)
        batch_predictions = list(predictions[: len(samples)]) if settings.endpoint.type == "batch" else []
        test_metrics = transform_metrics(settings.data, joined_rows, scores=settings.training.mode == "builtin")
    except WaitInterrupted as interrupted:
        if keep or interrupted.resource is not ENDPOINT:
            raise
        console.print(f"\nInterrupted while waiting for endpoint {interrupted.name}: deleting it.", markup=False)
        raise typer.Exit(130) from None
    finally:
        if not keep:
            _teardown(workflow, deployment)
    summary.print_run_summary(
        console,
        workflow=workflow,
        processing=processing,
        training=training,
        tuning=tuning,
        test_metrics=test_metrics,
        samples=samples,
        endpoint_predictions=endpoint_predictions,
        endpoint_variants=endpoint_variants if len(settings.endpoint.variants) > 1 else [],
        lambda_predictions=lambda_predictions,
        batch_predictions=batch_predictions,
        endpoint_name=deployment.endpoint_name if keep else None,
        endpoint_url=endpoint_url if keep else None,
        transform_output=transform_output,
    )
    console.print(f"[bold green]Done[/bold green] in {time.perf_counter() - started:.1f} s")


@app.command()
@user_errors
def process(
    config: ConfigOption = DEFAULT_CONFIG_PATH, local: LocalOption = True, verbose: VerboseOption = True
) -> None:
    """Upload the raw data and run the processing job."""
    workflow = _workflow(config, verbose, local)
    with step("Processing"):
        result = workflow.process()
    summary.print_outputs(console, result.job_name, result.outputs)


@app.command()
@user_errors
def train(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
    hyperparameter: Annotated[
        list[str] | None, typer.Option("--hyperparameter", "-p", help="Override one: name=value.")
    ] = None,
    verbose: VerboseOption = True,
) -> None:
    """Run one training job on the latest processing job's features."""
    workflow = _workflow(config, verbose, local)
    overrides = parse_assignments(hyperparameter or [], "--hyperparameter", "max_depth=8", typed=True)
    processing = workflow.latest_processing()
    with step("Training"):
        result = workflow.train(processing, hyperparameters=overrides or None)
    summary.print_training(console, result)


@app.command()
@user_errors
def tune(config: ConfigOption = DEFAULT_CONFIG_PATH, local: LocalOption = True, verbose: VerboseOption = False) -> None:
    """Run the hyperparameter tuning job on the latest processing job's features."""
    workflow = _workflow(config, verbose, local)
    result = _tune_with_progress(workflow, workflow.latest_processing())
    summary.print_tuning(console, workflow.config, result)


@app.command()
@user_errors
def deploy(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
    training_job: Annotated[str | None, typer.Option(help="Deploy this training job's model.")] = None,
    update: Annotated[
        str | None, typer.Option(help="Update this existing endpoint (blue/green) instead of creating one.")
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Create the model from the latest (or the given) training job and deploy it to a new or existing endpoint."""
    workflow = _workflow(config, verbose, local)
    if workflow.config.endpoint.type == "batch":
        raise WorkflowError("endpoint.type is batch: this project has no endpoint; `transform` makes its predictions")
    processing = workflow.latest_processing()
    previous = workflow.endpoint_deployment(update) if update else None
    if training_job:
        description = workflow.backend.sagemaker.describe_training_job(TrainingJobName=training_job)
        training = workflow.training_result(description)
    else:
        training = workflow.latest_model_artifacts()
    with step("Creating the model"):
        model_name = workflow.create_model(training, processing)
    with step(f"Updating the endpoint {update}" if update else "Deploying the endpoint"):
        deployment = _update_endpoint(workflow, previous, model_name) if previous else _deploy(workflow, model_name)
    console.print(f"Endpoint [bold]{deployment.endpoint_name}[/bold] is InService")
    url = workflow.backend.describe_endpoint_url(deployment.endpoint_name)
    if url:
        route = "async-invocations" if workflow.config.endpoint.type == "async" else "invocations"
        console.print(f"URL: {url}/endpoints/{deployment.endpoint_name}/{route}", markup=False)


@app.command()
@user_errors
def predict(
    endpoint: Annotated[str, typer.Argument(help="The endpoint name (see `endpoints`).")],
    csv_file: Annotated[Path | None, typer.Option("--file", help="CSV of raw rows without the target.")] = None,
    row: Annotated[list[str] | None, typer.Option("--row", help="One raw row as comma-separated values.")] = None,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Send rows to an endpoint and print the predictions."""
    workflow = _workflow(config, False, local)
    if csv_file is not None:
        rows = [line.split(",") for line in csv_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif row:
        rows = [line.split(",") for line in row]
    else:
        rows = [r[1:] for r in workflow.read_rows(workflow.latest_processing().outputs["test_raw"])[:5]]
    prediction = workflow.predict(endpoint, rows)
    summary.print_predictions(console, rows, prediction.values)
    if prediction.variant:
        console.print(f"Answered by variant {prediction.variant}", markup=False)
    if prediction.output_location:
        console.print(f"Result object: {prediction.output_location}", markup=False)


@app.command()
@user_errors
def transform(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
    model: Annotated[
        str | None, typer.Option(help="An existing model; default: a new one from the latest job.")
    ] = None,
    verbose: VerboseOption = True,
) -> None:
    """Batch-transform the raw test split with a model."""
    workflow = _workflow(config, verbose, local)
    created = None
    if model is None:
        model = created = workflow.create_model(workflow.latest_model_artifacts(), workflow.latest_processing())
    try:
        with step("Batch transform"):
            output = workflow.transform(model)
    finally:
        if created:
            _teardown(workflow, Deployment(created))
    scores = workflow.config.training.mode == "builtin"
    metrics = transform_metrics(workflow.config.data, workflow.read_rows(output), scores=scores)
    summary.print_metrics_row(console, "test", metrics)
    console.print(f"Output: {output}", markup=False)


@app.command("requests")
@user_errors
def show_requests(
    operation: Annotated[
        str | None, typer.Argument(help="One operation, e.g. CreateTrainingJob; default: all.")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Print the exact SageMaker API requests the workflow sends, as JSON (names and artefacts are examples)."""
    workflow = _workflow(config, False, local)
    requests = workflow.example_requests()
    if operation is not None and operation not in requests:
        raise WorkflowError(f"unknown operation {operation!r}: choose one of {', '.join(requests)}")
    for name, request in requests.items():
        if operation in (None, name):
            console.rule(name)
            console.print_json(data=request)


@app.command()
@user_errors
def endpoints(config: ConfigOption = DEFAULT_CONFIG_PATH, local: LocalOption = True) -> None:
    """List the endpoints and their status."""
    workflow = _workflow(config, False, local)
    listed = workflow.backend.sagemaker.list_endpoints(SortBy="CreationTime", SortOrder="Descending")["Endpoints"]
    summary.print_endpoints(console, listed, workflow.backend.describe_endpoint_url)


@app.command()
@user_errors
def logs(
    job_name: Annotated[str, typer.Argument(help="A processing, training or transform job name.")],
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Print the log of a job: the kept file locally, its CloudWatch log streams on AWS."""
    workflow = _workflow(config, False, local)
    if isinstance(workflow.backend, AwsBackend):
        if not _print_cloudwatch_logs(workflow.backend, job_name):
            raise WorkflowError(f"no CloudWatch logs for {job_name!r}: check the job name (it may not have started)")
        return
    path = _log_file(job_name)
    if path is None:
        raise WorkflowError(f"no log for {job_name!r}: check the name with `endpoints` or the run's output")
    console.print(path.read_text(encoding="utf-8", errors="replace"), markup=False)


def _print_cloudwatch_logs(backend: AwsBackend, job_name: str) -> int:
    """Print every log line of the job, whichever kind it is; return how many."""
    client = backend.client("logs")
    for resource in (TRAINING_JOB, PROCESSING_JOB, TRANSFORM_JOB):
        location = log_location(resource, job_name)
        if location is not None:
            count = LogStreamer(client, *location, lambda line: console.print(line, markup=False)).poll()
            if count:
                return count
    return 0


@app.command()
@user_errors
def captures(
    endpoint: Annotated[str | None, typer.Argument(help="The endpoint; default: every endpoint's captures.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many of the latest records.")] = 10,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Print the latest requests and responses recorded by endpoint data capture (endpoint.data_capture)."""
    workflow = _workflow(config, False, local)
    root = workflow.locations.capture
    records = latest_records(workflow.backend.storage, root, endpoint, limit)
    if not records:
        where = s3_join(root, endpoint) if endpoint else root
        raise WorkflowError(
            f"no captured records under {where}: set endpoint.data_capture.enabled, deploy, send requests "
            "(on AWS the capture files appear a few minutes later)"
        )
    summary.print_captures(console, records)


def _project_endpoints(workflow: Workflow) -> list[str]:
    """The endpoints this project named (`<project>-endpoint-<time>-<random>`), newest first."""
    base = job_name(workflow.config.project.name, "endpoint").rsplit("-endpoint-", 1)[0]
    pages = _list_endpoint_pages(workflow.backend.sagemaker, base)
    return [e["EndpointName"] for page in pages for e in page if e["EndpointName"].startswith(f"{base}-endpoint-")]


def _list_endpoint_pages(client: Any, name_contains: str) -> Iterator[list[dict[str, Any]]]:
    request: dict[str, Any] = {"NameContains": name_contains, "SortBy": "CreationTime", "SortOrder": "Descending"}
    while True:
        response = client.list_endpoints(**request)
        yield response["Endpoints"]
        if not response.get("NextToken"):
            return
        request["NextToken"] = response["NextToken"]


def _delete_data(workflow: Workflow, assume_yes: bool) -> None:
    """Everything under s3://<bucket>/<prefix>/ (data, features, models, code, outputs, captures), after asking."""
    root = workflow.locations.root
    uris = workflow.backend.storage.list_uris(f"{root}/")
    if not uris:
        console.print(f"No data under {root}/.", markup=False)
        return
    question = f"Delete the {len(uris)} objects under {root}/ (data, features, models, outputs)? This cannot be undone"
    if not assume_yes and not typer.confirm(question, default=False):
        console.print(f"Kept the data under {root}/.", markup=False)
        return
    deleted = workflow.backend.storage.delete(uris)
    console.print(f"Deleted {deleted} objects under {root}/", markup=False)


@app.command()
@user_errors
def teardown(
    endpoint: Annotated[
        list[str] | None, typer.Argument(help="Endpoints to delete; default: every endpoint of this project.")
    ] = None,
    delete_data: Annotated[
        bool, typer.Option("--delete-data", help="Also delete the project's S3 data (asks first).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before deleting the data.")] = False,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Delete endpoints with their configs, models and scalable targets; with --delete-data, the project's data."""
    workflow = _workflow(config, False, local)
    names = endpoint or _project_endpoints(workflow)
    for name in names:
        _teardown(workflow, workflow.endpoint_deployment(name))
        console.print(f"Deleted {name}")
    if not names:
        console.print("No endpoints to delete.")
    if delete_data:
        _delete_data(workflow, yes)
    else:
        root = workflow.locations.root
        console.print(f"Data under {root}/ kept (`teardown --delete-data` deletes it).", markup=False)
