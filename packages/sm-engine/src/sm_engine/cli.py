"""The command line: the whole workflow (`run`) and each step on its own, on the local executor or (`--aws`) on
Amazon SageMaker.

Each command parses its options, calls the Workflow and renders what it returns. The executors and scikit-learn are
imported by the commands that use them, so `--help` and the light commands start at once.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from . import __version__, summary, tracking
from .config import DEFAULT_CONFIG_PATH
from .data_cli import data_app
from .log_setup import LogLevel, configure_logging
from .pipeline_cli import pipeline_app
from .report import cli as report_cli
from .waiting import ENDPOINT, Observer, Resource, ResourceFailed, WaitInterrupted, observing

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress

    from .workflow import Progress, Workflow

app = typer.Typer(
    help="Run this SageMaker project: the whole workflow (`run`) or one step at a time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Command groups of their own modules, one line each.
app.add_typer(pipeline_app, name="pipeline", help="SageMaker Pipelines: the definition (offline), upsert and start.")
app.add_typer(data_app, name="data", help="The data: `data init <csv> --target <column>` writes the data section.")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The project config file.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose/--quiet", "-v/-q", help="Stream every job's log lines, or only the steps.")
]
LocalOption = Annotated[
    bool, typer.Option("--local/--aws", help="Run on the local executor (default) or on Amazon SageMaker.")
]


@dataclass
class Session:
    """What one command works with (typer's `ctx.obj`): the console, the workflow once made, the watcher of remote
    jobs and the status line of the running step."""

    console: Console
    workflow: Workflow | None = None
    watcher: Observer | None = None
    status: Status | None = None

    def open(self, config_path: Path, verbose: bool, local: bool) -> Workflow:
        """The workflow of the project whose config is `config_path`, on the local executor or on AWS."""
        from . import backends
        from .config import load_config
        from .workflow import Workflow

        config = load_config(config_path)
        root = config_path.resolve().parent.parent

        def log(line: str) -> None:
            if verbose:
                self.console.print(line, style="dim", markup=False)

        backend = backends.make_backend(config, root, log, aws=not local)
        self.watcher = backend.job_watcher(log if verbose else None, self.show_status)
        self.workflow = Workflow(config, backend, root, log)
        return self.workflow

    def observe(self, resource: Resource, name: str, description: dict[str, Any]) -> None:
        """Every poll of a wait: on AWS, the status and the new CloudWatch log lines."""
        if self.watcher is not None:
            self.watcher(resource, name, description)

    def show_status(self, text: str) -> None:
        self.console.print(text, style="dim", markup=False)
        if self.status is not None:
            self.status.update(f"[bold]{escape(text)}[/bold]...")

    @contextmanager
    def step(self, title: str, total: int | None = None) -> Iterator[Progress]:
        """Show a spinner while a step runs (with the remote status on AWS), or with `total` a bar of its done parts,
        then its duration."""
        started = time.perf_counter()
        if total is None:
            with self.console.status(f"[bold]{title}[/bold]...") as self.status:
                try:
                    yield lambda _done, _total: None
                finally:
                    self.status = None
        else:
            with _progress_bar(self.console, title) as bar:
                task = bar.add_task(title, total=total)
                yield lambda done, _total: bar.update(task, completed=done)
        self.console.print(f"[green]✓[/green] {title} [dim]({time.perf_counter() - started:.1f} s)[/dim]")

    def report_failure(self, error: ResourceFailed) -> None:
        """The failure reason and where to read the logs: the kept file locally, the last CloudWatch lines on AWS."""
        self.console.print(f"[red]{error.resource.kind.capitalize()} {error.name} {error.status.lower()}[/red]")
        self.console.print(f"Reason: {error.reason}", markup=False)
        if self.workflow is None:
            return
        logs = self.workflow.backend.failure_logs(error.resource, error.name)
        if logs.path is not None:
            self.console.print(f"Logs: {logs.path}", markup=False)
        if logs.last_lines:
            self.console.print("Last log lines:", markup=False)
            self.console.print("\n".join(logs.last_lines), style="dim", markup=False)

    def offer_stop(self, interrupted: WaitInterrupted) -> None:
        """Ctrl-C while waiting: ask whether to stop the job (it would otherwise keep running, and billing)."""
        what = f"{interrupted.resource.kind} {interrupted.name}"
        self.console.print(f"\nInterrupted while waiting for {what}.", markup=False)
        if interrupted.stoppable and typer.confirm(f"Stop the {what}?", default=True):
            interrupted.stop()
            self.console.print(f"Stop requested for {what}.", markup=False)
        else:
            self.console.print(f"The {what} keeps running.", markup=False)


def _print_version(requested: bool) -> None:
    if requested:
        typer.echo(f"sm-template-engine {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the engine's version.")
    ] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option("--log-level", case_sensitive=False, help="Show the engine's log records from this level."),
    ] = LogLevel.warning,
) -> None:
    del version  # handled by its callback
    configure_logging(log_level)
    ctx.obj = Session(Console(highlight=False))


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can fix into a red message and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, **options: Any) -> Any:
        from .user_errors import USER_ERRORS, describe

        session: Session = ctx.obj
        try:
            with observing(session.observe):
                return command(ctx, **options)
        except ResourceFailed as error:
            session.report_failure(error)
        except WaitInterrupted as interrupted:
            session.offer_stop(interrupted)
            raise typer.Exit(130) from None
        except USER_ERRORS as error:
            session.console.print(describe(error), markup=True)
        raise typer.Exit(1)

    return wrapper


def _parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def step_command(*, verbose_by_default: bool) -> Callable[[Callable[..., None]], Callable[..., Any]]:
    """A command that runs steps of the workflow: it is called with the session, the project's workflow and its own
    options, while typer shows `--config`, `--local/--aws`, its own options, then `--verbose/--quiet`; errors a user
    can fix become a message (`user_errors`)."""

    def decorate(command: Callable[..., None]) -> Callable[..., Any]:
        @functools.wraps(command)
        def open_workflow(ctx: typer.Context, config: Path, local: bool, verbose: bool, **options: Any) -> None:
            session: Session = ctx.obj
            command(session, session.open(config, verbose, local), **options)

        hints = get_type_hints(command, localns={"Workflow": Any}, include_extras=True)  # Workflow: typing only
        own = [  # the parameters after the session and the workflow
            parameter.replace(annotation=hints[parameter.name])
            for parameter in list(inspect.signature(command).parameters.values())[2:]
        ]
        parameters = [
            _parameter("ctx", typer.Context),
            _parameter("config", ConfigOption, DEFAULT_CONFIG_PATH),
            _parameter("local", LocalOption, True),
            *own,
            _parameter("verbose", VerboseOption, verbose_by_default),
        ]
        open_workflow.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        open_workflow.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        return user_errors(open_workflow)

    return decorate


def _progress_bar(console: Console, title: str) -> RichProgress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn(f"[bold]{escape(title)}[/bold]"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, TimeElapsedColumn(), console=console, transient=True)


@app.command()
@step_command(verbose_by_default=False)
def run(
    session: Session,
    workflow: Workflow,
    keep: Annotated[bool, typer.Option(help="Keep the endpoint running afterwards.")] = False,
    report: Annotated[bool, typer.Option(help="Write the run's HTML report under reports/.")] = True,
) -> None:
    """The whole workflow: upload, process, train or tune, deploy, predict, batch transform, summary, teardown."""
    started = time.perf_counter()
    session.console.rule(f"[bold]{workflow.config.project.name}[/bold]: {workflow.backend.name} workflow")
    tracker = tracking.run_tracker(workflow.config, workflow.root)  # before the run: a missing MLflow stops it here
    try:
        result = workflow.run(session, keep=keep)
    except WaitInterrupted as interrupted:
        if keep or interrupted.resource is not ENDPOINT:
            raise
        session.console.print(f"\nInterrupted while waiting for endpoint {interrupted.name}: deleted it.", markup=False)
        raise typer.Exit(130) from None
    summary.print_run_summary(session.console, workflow, result)
    report_path = report_cli.report_of_run(session, workflow, result) if report else None
    if tracker is not None:
        run_id = tracker.log_run(workflow, result, report_path)
        session.console.print(f"MLflow run {run_id}: {tracker.ui_command}", markup=False, soft_wrap=True)
    session.console.print(f"[bold green]Done[/bold green] in {time.perf_counter() - started:.1f} s")


@app.command()
@step_command(verbose_by_default=True)
def process(session: Session, workflow: Workflow) -> None:
    """Upload the raw data and run the processing job."""
    with session.step("Processing"):
        result = workflow.process()
    summary.print_outputs(session.console, result.job_name, result.outputs)


@app.command()
@step_command(verbose_by_default=True)
def train(
    session: Session,
    workflow: Workflow,
    hyperparameter: Annotated[
        list[str] | None, typer.Option("--hyperparameter", "-p", help="Override one: name=value.")
    ] = None,
) -> None:
    """Run one training job on the latest processing job's features."""
    from .options import parse_assignments

    overrides = parse_assignments(hyperparameter or [], "--hyperparameter", "max_depth=8", typed=True)
    processing = workflow.latest_processing()
    with session.step("Training"):
        result = workflow.train(processing, hyperparameters=overrides or None)
    summary.print_training(session.console, result)


@app.command()
@step_command(verbose_by_default=False)
def tune(session: Session, workflow: Workflow) -> None:
    """Run the hyperparameter tuning job on the latest processing job's features."""
    processing = workflow.latest_processing()
    with session.step("Tuning", total=workflow.config.tuning.max_jobs) as progress:
        result = workflow.tune(processing, on_progress=progress)
    summary.print_tuning(session.console, workflow.config, result)


@app.command()
@step_command(verbose_by_default=False)
def deploy(
    session: Session,
    workflow: Workflow,
    training_job: Annotated[str | None, typer.Option(help="Deploy this training job's model.")] = None,
    update: Annotated[
        str | None, typer.Option(help="Update this existing endpoint (blue/green) instead of creating one.")
    ] = None,
) -> None:
    """Create the model from the latest (or the given) training job and deploy it to a new or existing endpoint."""
    from .workflow import WorkflowError

    if workflow.config.endpoint.type == "batch":
        raise WorkflowError("endpoint.type is batch: this project has no endpoint; `transform` makes its predictions")
    processing = workflow.latest_processing()
    previous = workflow.endpoint_deployment(update) if update else None
    training = workflow.described_training(training_job) if training_job else workflow.latest_model_artifacts()
    with session.step("Creating the model"):
        model_name = workflow.create_model(training, processing)
    with session.step(f"Updating the endpoint {update}" if update else "Deploying the endpoint"):
        deployment = workflow.update_endpoint(previous, model_name) if previous else workflow.deploy(model_name)
    endpoint_name = str(deployment.endpoint_name)
    session.console.print(f"Endpoint [bold]{endpoint_name}[/bold] is InService")
    url = workflow.backend.endpoint_url(endpoint_name)
    if url:
        route = "async-invocations" if workflow.config.endpoint.type == "async" else "invocations"
        session.console.print(f"URL: {url}/endpoints/{endpoint_name}/{route}", markup=False)


@app.command()
@user_errors
def predict(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Argument(help="The endpoint name (see `endpoints`).")],
    csv_file: Annotated[Path | None, typer.Option("--file", help="CSV of raw rows without the target.")] = None,
    row: Annotated[list[str] | None, typer.Option("--row", help="One raw row as comma-separated values.")] = None,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Send rows to an endpoint and print the predictions."""
    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    if csv_file is not None:
        rows = [line.split(",") for line in csv_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif row:
        rows = [line.split(",") for line in row]
    else:
        rows = [r[1:] for r in workflow.read_rows(workflow.latest_processing().outputs["test_raw"])[:5]]
    prediction = workflow.predict(endpoint, rows)
    summary.print_predictions(session.console, rows, prediction.values)
    if prediction.variant:
        session.console.print(f"Answered by variant {prediction.variant}", markup=False)
    if prediction.output_location:
        session.console.print(f"Result object: {prediction.output_location}", markup=False)


@app.command()
@step_command(verbose_by_default=True)
def transform(
    session: Session,
    workflow: Workflow,
    model: Annotated[
        str | None, typer.Option(help="An existing model; default: a new one from the latest job.")
    ] = None,
) -> None:
    """Batch-transform the raw test split with a model."""
    from .workflow import Deployment

    created = None
    if model is None:
        model = created = workflow.create_model(workflow.latest_model_artifacts(), workflow.latest_processing())
    try:
        with session.step("Batch transform"):
            output = workflow.transform(model)
    finally:
        if created:
            workflow.teardown(Deployment(created))
    summary.print_metrics_row(session.console, "test", workflow.evaluate_transform(output).metrics)
    session.console.print(f"Output: {output}", markup=False)


@app.command("requests")
@user_errors
def show_requests(
    ctx: typer.Context,
    operation: Annotated[
        str | None, typer.Argument(help="One operation, e.g. CreateTrainingJob; default: all.")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Print the exact SageMaker API requests the workflow sends, as JSON (names and artefacts are examples)."""
    from .workflow import WorkflowError

    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    requests = workflow.example_requests()
    if operation is not None and operation not in requests:
        raise WorkflowError(f"unknown operation {operation!r}: choose one of {', '.join(requests)}")
    for name, request in requests.items():
        if operation in (None, name):
            session.console.rule(name)
            session.console.print_json(data=request)


@app.command()
@user_errors
def endpoints(ctx: typer.Context, config: ConfigOption = DEFAULT_CONFIG_PATH, local: LocalOption = True) -> None:
    """List every endpoint of this project, newest first, with its status and URL."""
    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    summary.print_endpoints(session.console, workflow.project_endpoint_summaries(), workflow.backend.endpoint_url)


@app.command()
@user_errors
def logs(
    ctx: typer.Context,
    job_name: Annotated[str, typer.Argument(help="A processing, training or transform job name.")],
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Print the log of a job: the kept file locally, its CloudWatch log streams on AWS."""
    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    for line in workflow.backend.job_log(job_name):
        session.console.print(line, markup=False)


@app.command()
@user_errors
def captures(
    ctx: typer.Context,
    endpoint: Annotated[str | None, typer.Argument(help="The endpoint; default: every endpoint's captures.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many of the latest records.")] = 10,
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    local: LocalOption = True,
) -> None:
    """Print the latest requests and responses recorded by endpoint data capture (endpoint.data_capture)."""
    from .captures import latest_records
    from .storage import s3_join
    from .workflow import WorkflowError

    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    root = workflow.locations.capture
    records = latest_records(workflow.backend.storage, root, endpoint, limit)
    if not records:
        where = s3_join(root, endpoint) if endpoint else root
        raise WorkflowError(
            f"no captured records under {where}: set endpoint.data_capture.enabled, deploy, send requests "
            "(on AWS the capture files appear a few minutes later)"
        )
    summary.print_captures(session.console, records)


def _delete_data(session: Session, workflow: Workflow, assume_yes: bool) -> None:
    """Everything under s3://<bucket>/<prefix>/ (data, features, models, code, outputs, captures), after asking."""
    root = workflow.locations.root
    storage = workflow.backend.storage
    uris = storage.list_uris(f"{root}/")
    if not uris:
        session.console.print(f"No data under {root}/.", markup=False)
        return
    question = f"Delete the {len(uris)} objects under {root}/ (data, features, models, outputs)? This cannot be undone"
    if not assume_yes and not typer.confirm(question, default=False):
        session.console.print(f"Kept the data under {root}/.", markup=False)
        return
    session.console.print(f"Deleted {storage.delete(uris)} objects under {root}/", markup=False)


@app.command()
@user_errors
def teardown(
    ctx: typer.Context,
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
    session: Session = ctx.obj
    workflow = session.open(config, False, local)
    names = endpoint or workflow.project_endpoints()
    for name in names:
        workflow.teardown(workflow.endpoint_deployment(name))
        session.console.print(f"Deleted {name}")
    for name in workflow.remove_orphan_endpoints():
        session.console.print(f"Stopped the leftover server of the deleted endpoint {name}", markup=False)
    if not names:
        session.console.print("No endpoints to delete.")
    if delete_data:
        _delete_data(session, workflow, yes)
    else:
        root = workflow.locations.root
        session.console.print(f"Data under {root}/ kept (`teardown --delete-data` deletes it).", markup=False)


app.command("report")(user_errors(report_cli.report))
