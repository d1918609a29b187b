"""Rich tables for what the commands print: metrics, trials, predictions, artefacts, endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from .captures import CapturedRecord
    from .config import ProjectConfig
    from .workflow import ProcessingResult, RunResult, TrainingResult, TuningResult, Workflow

SPLITS = ("train", "validation", "test")


def metrics_table(job_metrics: dict[str, float], test_metrics: dict[str, float] | None = None) -> Table:
    """One row per metric, one column per split (`validation:rmse` -> row rmse, column validation)."""
    values: dict[str, dict[str, float]] = {}
    for name, value in job_metrics.items():
        split, _, metric = name.partition(":")
        values.setdefault(metric or split, {})[split if metric else ""] = value
    for metric, value in (test_metrics or {}).items():
        values.setdefault(metric, {})["test"] = value
    table = Table(title="Metrics")
    table.add_column("metric")
    for split in SPLITS:
        table.add_column(split, justify="right")
    for metric, by_split in values.items():
        table.add_row(metric, *(f"{by_split[s]:.4f}" if s in by_split else "-" for s in SPLITS))
    return table


def trials_table(config: ProjectConfig, tuning: TuningResult) -> Table:
    """Every trial of a tuning job with its hyperparameters and objective, best first."""
    names = [r.name for r in config.tuning.ranges]
    table = Table(title=f"Tuning job {tuning.job_name}: {len(tuning.trials)} trials")
    table.add_column("trial")
    table.add_column("status")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column(config.tuning.objective.metric, justify="right")
    reverse = config.tuning.objective.type == "Maximize"

    def objective(trial: dict[str, Any]) -> float:
        value = trial.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        if value is None:
            return float("inf")
        return -value if reverse else value

    for trial in sorted(tuning.trials, key=objective):
        tuned = trial.get("TunedHyperParameters", {})
        value = trial.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        style = "bold green" if trial["TrainingJobName"] == tuning.best.job_name else None
        table.add_row(
            trial["TrainingJobName"].removeprefix(f"{tuning.job_name}-"),
            trial["TrainingJobStatus"],
            *(_short(tuned.get(n, "-")) for n in names),
            "-" if value is None else f"{value:.4f}",
            style=style,
        )
    return table


def _decoded(value: str) -> str:
    """A JSON-encoded hyperparameter (`"0.5"`, `"[\\"no\\", \\"yes\\"]"`) as the text the script receives."""
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError:
        return value
    return decoded if isinstance(decoded, str) else value


def _short(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() else f"{number:.4g}"


def prediction_cell(value: float | str | dict) -> str:
    """A regression's value (a number, or its text in a CSV row) to 3 decimals; a class label as it is; the built-in
    XGBoost algorithm's `{"score": ...}` as its score."""
    if isinstance(value, dict) and "score" in value:
        value = value["score"]
    try:
        return f"{float(value):.3f}"
    except ValueError:
        return str(value)


def predictions_table(
    rows: Sequence[Sequence[str]],
    columns: dict[str, Sequence[float | str]],
    truth: Sequence[str] | None = None,
    variants: Sequence[str] = (),
) -> Table:
    table = Table(title="Sample predictions")
    table.add_column("input row")
    if truth is not None:
        table.add_column("true value", justify="right")
    for name in columns:
        table.add_column(name, justify="right")
    if variants:
        table.add_column("variant")
    for index, row in enumerate(rows):
        cells = [",".join(row)]
        if truth is not None:
            cells.append(truth[index])
        cells.extend(prediction_cell(values[index]) if index < len(values) else "-" for values in columns.values())
        if variants:
            cells.append(variants[index] if index < len(variants) else "-")
        table.add_row(*cells)
    return table


def print_artefacts(
    console: Console, workflow: Workflow, processing: ProcessingResult, training: TrainingResult, transform: str
) -> None:
    """Where every artefact of the run is: its S3 URI and, on the local executor, its file."""
    locations = workflow.locations
    storage = workflow.backend.storage
    entries = [
        ("raw data (bronze)", locations.raw_data),
        ("code (sourcedir.tar.gz)", locations.sourcedir),
        *((f"features: {name}", uri) for name, uri in processing.outputs.items() if name != "preprocessor"),
        ("preprocessor", processing.preprocessor_model),
        ("model", training.model_data_url),
        ("batch transform output", transform),
    ]
    console.print("[bold]Artefacts[/bold]")
    for what, uri in entries:
        console.print(f"  {what}: {uri}", markup=False, soft_wrap=True)
        if hasattr(storage, "path_for"):
            console.print(f"    {storage.path_for(uri)}", style="dim", markup=False, soft_wrap=True)


def print_run_summary(console: Console, workflow: Workflow, result: RunResult) -> None:
    """Trials, metrics, hyperparameters, the sample rows' predictions (the batch transform's without an endpoint), the
    artefacts and the endpoint kept running."""
    console.rule("[bold]Summary[/bold]")
    if result.tuning is not None:
        console.print(trials_table(workflow.config, result.tuning))
    console.print(f"Model from training job [bold]{result.training.job_name}[/bold]")
    console.print(metrics_table(result.training.metrics, result.evaluation.metrics))
    console.print(hyperparameters_table(result.training))
    columns: dict[str, Sequence[float | str]] = {}
    variants: Sequence[str] = ()
    if result.predictions is None:
        columns["batch transform"] = result.evaluation.predictions[: len(result.samples)]
        console.print("No endpoint (endpoint.type batch): the predictions come from the batch transform.")
    else:
        columns["endpoint"] = result.predictions.endpoint
        if result.predictions.through_lambda:
            columns["lambda"] = result.predictions.through_lambda
        if len(workflow.config.endpoint.variants) > 1:
            variants = result.predictions.variants
    samples = result.samples
    console.print(predictions_table([r[1:] for r in samples], columns, [r[0] for r in samples], variants))
    print_artefacts(console, workflow, result.processing, result.training, result.transform_output)
    if result.kept is not None:
        console.print(f"Endpoint [bold]{result.kept.endpoint_name}[/bold] kept running at {result.endpoint_url}")
        console.print(f"Stop it with: teardown {result.kept.endpoint_name}", markup=False)


def hyperparameters_table(training: TrainingResult) -> Table:
    table = Table(title="Hyperparameters")
    table.add_column("name")
    table.add_column("value", justify="right")
    for name, value in sorted(training.hyperparameters.items()):
        table.add_row(name, _short(_decoded(value)))
    return table


def print_outputs(console: Console, job_name: str, outputs: dict[str, str]) -> None:
    table = Table(title=f"Outputs of {job_name}")
    table.add_column("output")
    table.add_column("S3 URI")
    for name, uri in outputs.items():
        table.add_row(name, uri)
    console.print(table)


def print_training(console: Console, training: TrainingResult) -> None:
    console.print(f"Training job [bold]{training.job_name}[/bold]: model at {training.model_data_url}")
    console.print(metrics_table(training.metrics))


def print_tuning(console: Console, config: ProjectConfig, tuning: TuningResult) -> None:
    console.print(trials_table(config, tuning))
    print_training(console, tuning.best)
    console.print(hyperparameters_table(tuning.best))


def print_predictions(console: Console, rows: list[list[str]], predictions: list[float]) -> None:
    console.print(predictions_table(rows, {"prediction": predictions}))


def print_metrics_row(console: Console, split: str, metrics: dict[str, float]) -> None:
    console.print(metrics_table({f"{split}:{name}": value for name, value in metrics.items()}))


def print_endpoints(console: Console, endpoints: list[dict[str, Any]], url_of: Callable[[str], str | None]) -> None:
    """Every endpoint given, in one table titled with their number; a line instead of an empty table."""
    if not endpoints:
        console.print("No endpoints.")
        return
    table = Table(title=f"Endpoints ({len(endpoints)})")
    for column in ("name", "status", "created", "URL"):
        table.add_column(column)
    for endpoint in endpoints:
        name = endpoint["EndpointName"]
        table.add_row(
            name, endpoint["EndpointStatus"], f"{endpoint['CreationTime']:%Y-%m-%d %H:%M:%S}", url_of(name) or "-"
        )
    console.print(table)


def print_captures(console: Console, records: Sequence[CapturedRecord]) -> None:
    """The captured invocations, oldest first: when, which endpoint and variant, the request and the response."""
    table = Table(title=f"Data capture: the latest {len(records)} records")
    for column in ("time", "endpoint", "variant", "input", "output"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(record.time, record.endpoint, record.variant, record.input or "-", record.output or "-")
    console.print(table)
