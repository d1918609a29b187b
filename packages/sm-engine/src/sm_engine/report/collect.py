"""Gather what a run wrote into a `RunReport`: job records and metrics through the backend's SageMaker client, the
batch transform output, the test split and the raw data through its storage, and the model's answers through the
project's own inference handlers (class probabilities, permutation feature importance)."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..evaluation import labels_of_scores, split_joined_rows
from ..waiting import TRANSFORM_JOB, TUNING_JOB
from ..workflow import ProcessingResult, TrainingResult, TuningResult, WorkflowError
from .model_chain import ModelChain, ModelUnavailable, served_model

if TYPE_CHECKING:
    from ..workflow import RunResult, Workflow

SPLITS = ("train", "validation", "test")
IMPORTANCE_REPEATS = 5


@dataclass(frozen=True)
class RunJobs:
    """The jobs of one run: what the report is made from, with the latencies of its endpoint requests (ms; none when
    the run had no endpoint or the report is made later, from the jobs' records)."""

    processing: ProcessingResult
    training: TrainingResult
    tuning: TuningResult | None
    transform_output: str
    latencies_ms: tuple[float, ...] = ()

    @classmethod
    def of(cls, result: RunResult) -> RunJobs:
        latencies = tuple(result.predictions.latencies_ms) if result.predictions is not None else ()
        return cls(result.processing, result.training, result.tuning, result.transform_output, latencies)

    @property
    def name(self) -> str:
        """The batch transform job's name (the last step of a run), which names the report."""
        return self.transform_output.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    role: str  # target, numeric, categorical, boolean, ignored or unused
    missing: int
    distinct: int


@dataclass(frozen=True)
class Trial:
    name: str
    status: str
    objective: float | None
    hyperparameters: dict[str, str]
    best: bool


@dataclass(frozen=True)
class TuningTrials:
    job_name: str
    metric: str
    maximize: bool
    parameters: list[str]
    trials: list[Trial]  # in creation order


@dataclass(frozen=True)
class Importance:
    """Permutation importance on the test split: the mean and spread of the score's drop per raw feature column."""

    score: str
    features: list[str]
    means: list[float]
    stds: list[float]


@dataclass(frozen=True)
class TestPredictions:
    """The batch transform's answer per test row, with the true value; class probabilities where the model gives
    them (columns in the order of `classes`)."""

    truth: list[str]
    predicted: list[str]
    probabilities: list[list[float]] | None = None


@dataclass(frozen=True)
class EndpointLatency:
    """The round trips of a run's sample requests through its endpoint, in milliseconds."""

    requests: int
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, latencies_ms: Sequence[float]) -> EndpointLatency | None:
        import numpy as np

        if not latencies_ms:
            return None
        p50, p95 = np.percentile(latencies_ms, [50, 95])
        return cls(len(latencies_ms), float(p50), float(p95), float(max(latencies_ms)))


@dataclass
class RunReport:
    project: str
    executor: str
    problem_type: str
    classes: list[str] | None
    created: str
    jobs: dict[str, str]
    metrics: dict[str, dict[str, float]]
    hyperparameters: dict[str, str]
    test: TestPredictions
    schema: list[ColumnSchema]
    data_rows: int
    tuning: TuningTrials | None = None
    importance: Importance | None = None
    latency: EndpointLatency | None = None
    notes: dict[str, str] = field(default_factory=dict)  # section -> why it is missing

    @property
    def regression(self) -> bool:
        return self.classes is None


def latest_run(workflow: Workflow) -> RunJobs:
    """The newest run's jobs: the latest completed processing, tuning (when enabled) or training, and transform job."""
    processing = workflow.latest_processing()
    tuning = _latest_tuning(workflow) if workflow.config.tuning.enabled else None
    training = tuning.best if tuning is not None else workflow.latest_model_artifacts()
    name = workflow.newest_completed(TRANSFORM_JOB)
    if name is None:
        raise WorkflowError("no completed batch transform job yet: `run` (or `transform`) first, then `report`")
    output = workflow.backend.sagemaker.describe_transform_job(TransformJobName=name)["TransformOutput"]
    return RunJobs(processing, training, tuning, output["S3OutputPath"])


def _latest_tuning(workflow: Workflow) -> TuningResult | None:
    name = workflow.newest_completed(TUNING_JOB)
    if name is None:
        return None
    description = workflow.backend.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    best = description.get("BestTrainingJob", {}).get("TrainingJobName")
    if not best:
        return None
    return TuningResult(name, workflow.described_training(best), workflow.tuning_trials(name))


def collect(workflow: Workflow, jobs: RunJobs) -> RunReport:
    """Everything the report shows, from the run's records and outputs."""
    config = workflow.config
    evaluation = workflow.evaluate_transform(jobs.transform_output)
    truth, predicted = split_joined_rows(workflow.read_rows(jobs.transform_output))
    if config.data.classes is not None and config.training.mode == "builtin":  # the algorithm answers numbers
        predicted = labels_of_scores(predicted, config.data.classes)
    schema, rows = data_schema(workflow)
    report = RunReport(
        project=config.project.name,
        executor=workflow.backend.name,
        problem_type=config.data.problem_type,
        classes=config.data.classes,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        jobs=_job_names(jobs),
        metrics=metrics_by_split(jobs.training.metrics, evaluation.metrics),
        hyperparameters=shown_hyperparameters(jobs.training.hyperparameters),
        test=TestPredictions(truth, predicted),
        schema=schema,
        data_rows=rows,
        tuning=tuning_trials(workflow, jobs.tuning) if jobs.tuning is not None else None,
        latency=EndpointLatency.of(jobs.latencies_ms),
    )
    _add_model_answers(workflow, jobs, report)
    return report


def _job_names(jobs: RunJobs) -> dict[str, str]:
    names = {"processing job": jobs.processing.job_name}
    if jobs.tuning is not None:
        names["tuning job"] = jobs.tuning.job_name
    names["training job"] = jobs.training.job_name
    names["batch transform job"] = jobs.name
    return names


def metrics_by_split(job_metrics: dict[str, float], test_metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """metric -> split -> value: the training job's `split:metric` values and the batch transform's test scores."""
    table: dict[str, dict[str, float]] = {}
    for name, value in job_metrics.items():
        split, _, metric = name.partition(":")
        table.setdefault(metric or split, {})[split if metric else ""] = value
    for metric, value in test_metrics.items():
        table.setdefault(metric, {})["test"] = value
    return table


def shown_hyperparameters(hyperparameters: dict[str, str]) -> dict[str, str]:
    """The values a training script receives (JSON-decoded text, numbers to 4 significant digits), by name; the
    service's own entries (`_tuning_objective_metric`) left out."""
    shown = {}
    for name, value in sorted(hyperparameters.items()):
        if name.startswith("_"):
            continue
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = value
        if isinstance(decoded, float):
            decoded = f"{decoded:.4g}"
        shown[name] = str(decoded)
    return shown


def tuning_trials(workflow: Workflow, tuning: TuningResult) -> TuningTrials:
    objective = workflow.config.tuning.objective
    trials = [
        Trial(
            name=summary["TrainingJobName"].removeprefix(f"{tuning.job_name}-"),
            status=summary["TrainingJobStatus"],
            objective=summary.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value"),
            hyperparameters=shown_hyperparameters(summary.get("TunedHyperParameters", {})),
            best=summary["TrainingJobName"] == tuning.best.job_name,
        )
        for summary in sorted(tuning.trials, key=lambda summary: summary["CreationTime"])
    ]
    return TuningTrials(
        job_name=tuning.job_name,
        metric=objective.metric,
        maximize=objective.type == "Maximize",
        parameters=[parameter.name for parameter in workflow.config.tuning.ranges],
        trials=trials,
    )


def data_schema(workflow: Workflow) -> tuple[list[ColumnSchema], int]:
    """Each column of the uploaded raw CSV with its role in the config, missing values and distinct values."""
    import pandas as pd

    data = workflow.config.data
    uri = workflow.locations.raw_data_object(workflow.data_path())
    if not workflow.backend.storage.exists(uri):
        raise WorkflowError(f"no raw data {data.local_path.name} at {uri}: `run` first, then `report`")
    text = workflow.backend.storage.read_bytes(uri).decode("utf-8")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    markers = set(data.missing_values)

    def role(column: str) -> str:
        if column == data.target:
            return "target"
        if column in data.columns:
            return data.columns[column]
        return "ignored" if column in data.ignore else "unused"

    schema = [
        ColumnSchema(
            name=str(column),
            role=role(str(column)),
            missing=int(frame[column].str.strip().isin(markers).sum()),
            distinct=int(frame[column].nunique()),
        )
        for column in frame.columns
    ]
    return schema, len(frame)


def _add_model_answers(workflow: Workflow, jobs: RunJobs, report: RunReport) -> None:
    """Class probabilities of the test rows and permutation importance, through the model's own handlers; where the
    model cannot be served here, a note says why instead."""
    raw = workflow.read_rows(jobs.processing.outputs["test_raw"])
    features = [row[1:] for row in raw]
    try:
        with served_model(workflow, jobs.processing, jobs.training) as model:
            if not report.regression:
                probabilities = model.answer(features).probabilities
                report.test = TestPredictions(report.test.truth, report.test.predicted, probabilities)
            report.importance = permutation_importance(
                model, features, [row[0] for row in raw], list(workflow.config.data.columns)
            )
    except ModelUnavailable as error:
        report.notes["importance"] = f"not available for this model: {error}"
    if not report.regression and report.test.probabilities is None:
        report.notes["curves"] = "not available for this model: it gives no class probabilities"


def permutation_importance(
    model: ModelChain, features: list[list[str]], truth: list[str], names: list[str]
) -> Importance:
    """sklearn's permutation importance of each raw column on the test split: the drop in accuracy (classifier) or
    the rise in RMSE (regressor) when the column's values are shuffled."""
    import numpy as np
    from sklearn.inspection import permutation_importance as permute

    classifier = model.classes is not None

    def score(estimator: ModelChain, rows: Any, target: Any) -> float:
        predicted = estimator.predict(rows)
        if classifier:
            return float(np.mean(predicted == target))
        return -math.sqrt(float(np.mean((predicted - target) ** 2)))

    target = np.asarray(truth, dtype=object if classifier else float)
    result = permute(
        model, np.asarray(features, dtype=object), target, scoring=score, n_repeats=IMPORTANCE_REPEATS, random_state=0
    )
    order = np.argsort(result.importances_mean)[::-1]
    return Importance(
        score="decrease in accuracy" if classifier else "increase in RMSE",
        features=[names[i] for i in order],
        means=[float(result.importances_mean[i]) for i in order],
        stds=[float(result.importances_std[i]) for i in order],
    )
