"""`Workflow.run`, the sequence behind the `run` command, with its steps replaced by recorders: which steps run, and
that the endpoint and the model are deleted at the end, also when a step fails, unless the endpoint is kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sm_engine.backends import LocalBackend
from sm_engine.config import ProjectConfig
from sm_engine.storage import LocalStorage
from sm_engine.waiting import TRANSFORM_JOB, ResourceFailed
from sm_engine.workflow import (
    Deployment,
    Prediction,
    ProcessingResult,
    Progress,
    TrainingResult,
    TransformEvaluation,
    TuningResult,
    Workflow,
)

ENDPOINT = "mpg-predictor-endpoint-1"
ROWS = [["18.0", "8", "307.0"], ["25.0", "4", "104.0"]]


class Steps:
    """A StepDisplay that records the titles of the steps."""

    def __init__(self) -> None:
        self.titles: list[str] = []

    @contextmanager
    def step(self, title: str, total: int | None = None) -> Iterator[Progress]:
        del total
        self.titles.append(title)
        yield lambda _done, _total: None


class Recorded:
    """The workflow's remote calls replaced: what they were asked, canned answers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, workflow: Workflow) -> None:
        self.torn_down: list[Deployment] = []
        self.served: list[str] = []
        training = TrainingResult("train-1", "s3://b/model.tar.gz", {}, {})
        answers: dict[str, Any] = {
            "process": lambda: ProcessingResult("process-1", {"test_raw": "s3://b/test_raw"}),
            "train": lambda _processing: training,
            "tune": lambda _processing, on_progress: TuningResult("tune-1", training),
            "create_model": lambda _training, _processing: "model-1",
            "read_rows": lambda _uri: ROWS,
            "create_endpoint": lambda model: Deployment(model, "config-1", ENDPOINT),
            "serve": self.served.append,
            "predict_samples": lambda _endpoint, rows: [Prediction([20.0], "AllTraffic", latency_ms=3.0) for _ in rows],
            "predict_through_lambda": lambda _endpoint, rows: [20.0] * len(rows),
            "transform": lambda _model: "s3://b/transform",
            "evaluate_transform": lambda _output: TransformEvaluation(["21.0", "24.0"], {"mae": 1.5}),
            "teardown": self.torn_down.append,
        }
        for name, answer in answers.items():
            monkeypatch.setattr(workflow, name, answer)
        monkeypatch.setattr(workflow.backend, "endpoint_url", lambda name: f"http://127.0.0.1:8080/{name}")


def with_endpoint(config: ProjectConfig, endpoint_type: str) -> ProjectConfig:
    return config.model_copy(update={"endpoint": config.endpoint.model_copy(update={"type": endpoint_type})})


@pytest.fixture
def make_workflow(project_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(config: ProjectConfig) -> tuple[Workflow, Recorded]:
        backend = LocalBackend(None, None, LocalStorage(tmp_path), "bucket", "arn:aws:iam::0:role/r", tmp_path)
        workflow = Workflow(config, backend, project_root, lambda _line: None)
        return workflow, Recorded(monkeypatch, workflow)

    return make


def test_run_deploys_predicts_transforms_and_tears_down(make_workflow: Any, config: ProjectConfig) -> None:
    workflow, recorded = make_workflow(with_endpoint(config, "realtime"))
    steps = Steps()
    result = workflow.run(steps)
    assert steps.titles[0] == "Processing"
    assert "Deploying the realtime endpoint" in steps.titles
    assert steps.titles[-1] == "Batch transform of the test split"
    assert recorded.served == [ENDPOINT]
    assert result.samples == ROWS
    assert result.predictions is not None and result.predictions.endpoint == [20.0, 20.0]
    assert (result.predictions.variants, result.predictions.latencies_ms) == (["AllTraffic"] * 2, [3.0, 3.0])
    assert result.evaluation.metrics == {"mae": 1.5}
    assert recorded.torn_down == [Deployment("model-1", "config-1", ENDPOINT)]
    assert result.kept is None and result.endpoint_url is None


def test_a_failing_step_still_deletes_the_endpoint(
    make_workflow: Any, config: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow, recorded = make_workflow(with_endpoint(config, "realtime"))
    failure = ResourceFailed(TRANSFORM_JOB, "transform-1", {"TransformJobStatus": "Failed", "FailureReason": "bad"})

    def failing_transform(_model: str) -> str:
        raise failure

    monkeypatch.setattr(workflow, "transform", failing_transform)
    with pytest.raises(ResourceFailed):
        workflow.run(Steps())
    assert recorded.torn_down == [Deployment("model-1", "config-1", ENDPOINT)]


def test_keep_leaves_the_endpoint_running(make_workflow: Any, config: ProjectConfig) -> None:
    workflow, recorded = make_workflow(with_endpoint(config, "realtime"))
    result = workflow.run(Steps(), keep=True)
    assert recorded.torn_down == []
    assert result.kept == Deployment("model-1", "config-1", ENDPOINT)
    assert result.endpoint_url == f"http://127.0.0.1:8080/{ENDPOINT}"


def test_a_batch_project_deploys_no_endpoint_and_deletes_its_model(make_workflow: Any, config: ProjectConfig) -> None:
    workflow, recorded = make_workflow(with_endpoint(config, "batch"))
    steps = Steps()
    result = workflow.run(steps)
    assert not any(title.startswith("Deploying") for title in steps.titles)
    assert recorded.served == []
    assert result.predictions is None
    assert recorded.torn_down == [Deployment("model-1")]
