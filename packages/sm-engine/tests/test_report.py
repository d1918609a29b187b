"""The run report: `run` writes it at its end, `report` writes it again from the run's records; what it collects from
a finished local run (regression, binary classification and own-image projects), how it renders, and the page in a real
headless browser (Chromium from the Debian package `chromium`; skipped where it is not installed)."""

from __future__ import annotations

import csv
import dataclasses
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import PROJECT_ROOT, bake, cli, copy_project

from sm_engine.backends import make_backend
from sm_engine.config import load_config
from sm_engine.local.own_image import ServedProgram
from sm_engine.report.collect import RunReport, collect, latest_run
from sm_engine.report.model_chain import served_model
from sm_engine.report.render import render
from sm_engine.storage import LocalStorage
from sm_engine.workflow import Workflow

pytestmark = pytest.mark.slow

TRIALS = 3
REGRESSION_PLOTS = {"predicted-vs-actual", "residuals", "tuning-trials", "tuning-hyperparameters", "importance"}
CLASSIFICATION_PLOTS = {"confusion-matrix", "roc", "precision-recall", "tuning-trials", "tuning-hyperparameters"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium); CI installs it"
)


@dataclass(frozen=True)
class FinishedRun:
    project: Path
    output: str

    @property
    def report_path(self) -> Path:
        lines = [line for line in self.output.splitlines() if line.startswith("Report: ")]
        assert lines, self.output
        return Path(lines[-1].removeprefix("Report: ").strip())

    def workflow(self) -> Workflow:
        config = load_config(self.project / "config" / "project.yaml")
        backend = make_backend(config, self.project, lambda _line: None, aws=False)
        return Workflow(config, backend, self.project, lambda _line: None)


def _finished_run(source: Path, target: Path) -> FinishedRun:
    """`run` (the report included, by default) on a copy of the project at `source`, tuned with fewer trials."""
    project = copy_project(source, target)
    config_path = project / "config" / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["tuning"].update(max_jobs=TRIALS, max_parallel_jobs=2)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = cli(project, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return FinishedRun(project, result.stdout)


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    return _finished_run(PROJECT_ROOT, tmp_path_factory.mktemp("regression"))


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    source = bake(problem_type="binary_classification")
    return _finished_run(source, tmp_path_factory.mktemp("classification"))


@pytest.fixture(scope="module")
def own_image_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    """A run of the project's own image (training.mode container): its model serves through container/serve."""
    source = bake(framework="sklearn", algorithm="additive", sagemaker_mode="container")
    return _finished_run(source, tmp_path_factory.mktemp("own-image"))


@pytest.fixture(scope="module")
def regression_report(regression_run: FinishedRun) -> RunReport:
    workflow = regression_run.workflow()
    return collect(workflow, latest_run(workflow))


@pytest.fixture(scope="module")
def classification_report(classification_run: FinishedRun) -> RunReport:
    workflow = classification_run.workflow()
    return collect(workflow, latest_run(workflow))


def _plots(page: str) -> set[str]:
    """The figures of a page (or of a browser's DOM) that hold an SVG drawing."""
    return set(re.findall(r'<figure data-plot="([^"]+)"><svg', page))


# -- what `run` and `report` write ----------------------------------------------------------------------------------


def test_run_ends_with_the_path_of_its_report(regression_run: FinishedRun) -> None:
    path = regression_run.report_path
    transform_job = regression_run.workflow().backend.sagemaker.list_transform_jobs()["TransformJobSummaries"][0]
    assert path == regression_run.project / "reports" / f"{transform_job['TransformJobName']}.html"
    page = path.read_text(encoding="utf-8")
    assert _plots(page) == REGRESSION_PLOTS
    latency = re.search(r'<section id="latency">.*?<tbody><tr>(.*?)</tr>', page)
    assert latency, "no endpoint latency table"
    requests, p50, p95, slowest = (float(cell) for cell in re.findall(r">([\d.]+)<", latency.group(1)))
    assert requests == 5 and 0 < p50 <= p95 <= slowest


def test_report_command_writes_the_latest_runs_report_again(regression_run: FinishedRun) -> None:
    path = regression_run.report_path
    written_by_run = path.stat().st_mtime_ns
    result = cli(regression_run.project, "report")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Report: {path}" in result.stdout
    assert path.stat().st_mtime_ns > written_by_run
    page = path.read_text(encoding="utf-8")
    assert _plots(page) == REGRESSION_PLOTS
    assert 'Endpoint latency</h2><p class="note">not measured' in page


def test_report_before_any_run_is_a_clear_error(tmp_path: Path) -> None:
    project = copy_project(PROJECT_ROOT, tmp_path / "project")
    result = cli(project, "report")
    assert result.returncode == 1
    assert "no completed processing job yet" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / "reports").exists()


# -- what the report collects ---------------------------------------------------------------------------------------


def test_metrics_per_split_are_the_jobs_and_the_batch_transforms(
    regression_run: FinishedRun, regression_report: RunReport
) -> None:
    workflow = regression_run.workflow()
    jobs = latest_run(workflow)
    assert regression_report.metrics["rmse"]["train"] == jobs.training.metrics["train:rmse"]
    assert regression_report.metrics["rmse"]["validation"] == jobs.training.metrics["validation:rmse"]
    assert (
        regression_report.metrics["rmse"]["test"] == workflow.evaluate_transform(jobs.transform_output).metrics["rmse"]
    )


def test_test_predictions_are_the_batch_transform_output(
    regression_run: FinishedRun, regression_report: RunReport
) -> None:
    workflow = regression_run.workflow()
    rows = workflow.read_rows(latest_run(workflow).transform_output)
    assert regression_report.test.truth == [row[0] for row in rows]
    assert regression_report.test.predicted == [row[-1] for row in rows]


def test_tuning_trials_mark_the_best_one(regression_report: RunReport) -> None:
    tuning = regression_report.tuning
    assert tuning is not None and len(tuning.trials) == TRIALS
    best = [trial for trial in tuning.trials if trial.best]
    assert len(best) == 1
    assert best[0].objective == min(trial.objective for trial in tuning.trials if trial.objective is not None)
    assert all(set(trial.hyperparameters) == set(tuning.parameters) for trial in tuning.trials)
    assert regression_report.jobs["training job"].startswith(tuning.job_name)


def test_permutation_importance_covers_every_feature_column(
    regression_run: FinishedRun, regression_report: RunReport
) -> None:
    importance = regression_report.importance
    assert importance is not None, regression_report.notes
    assert sorted(importance.features) == sorted(regression_run.workflow().config.data.columns)
    assert all(math.isfinite(value) for value in importance.means + importance.stds)
    assert importance.means == sorted(importance.means, reverse=True)
    assert importance.means[0] > 0  # shuffling the most useful column makes the model worse


def test_schema_counts_the_missing_values_of_the_raw_data(
    regression_run: FinishedRun, regression_report: RunReport
) -> None:
    data = regression_run.workflow().config.data
    with (regression_run.project / data.local_path).open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, skipinitialspace=True))
    missing = {name: sum(row[name].strip() in data.missing_values for row in rows) for name in rows[0]}
    assert {column.name: column.missing for column in regression_report.schema} == missing
    assert sum(missing.values()) > 0  # the sample data has missing horsepower values
    roles = {column.name: column.role for column in regression_report.schema}
    assert roles == {data.target: "target", **data.columns}
    assert regression_report.data_rows == len(rows)


def test_the_model_served_for_the_report_answers_as_the_batch_transform(classification_run: FinishedRun) -> None:
    workflow = classification_run.workflow()
    jobs = latest_run(workflow)
    features = [row[1:] for row in workflow.read_rows(jobs.processing.outputs["test_raw"])]
    with served_model(workflow, jobs.processing, jobs.training) as model:
        answers = model.answer(features)
    assert answers.values == [row[-1] for row in workflow.read_rows(jobs.transform_output)]
    assert answers.probabilities is not None
    assert all(math.isclose(sum(row), 1.0) for row in answers.probabilities)


def test_the_own_images_model_serves_through_its_serve_program_and_gets_importance(own_image_run: FinishedRun) -> None:
    workflow = own_image_run.workflow()
    jobs = latest_run(workflow)
    features = [row[1:] for row in workflow.read_rows(jobs.processing.outputs["test_raw"])]
    with served_model(workflow, jobs.processing, jobs.training) as model:
        served = [container for container in model.pipeline.containers if isinstance(container, ServedProgram)]
        answers = model.answer(features)
    assert len(served) == 1 and served[0].process.poll() is not None  # started for the block, stopped after it
    transformed = [float(row[-1]) for row in workflow.read_rows(jobs.transform_output)]
    assert [float(value) for value in answers.values] == pytest.approx(transformed, abs=1e-3)
    report = collect(workflow, jobs)
    assert report.importance is not None, report.notes
    assert sorted(report.importance.features) == sorted(workflow.config.data.columns)
    assert report.importance.means[0] > 0
    assert _plots(own_image_run.report_path.read_text(encoding="utf-8")) == REGRESSION_PLOTS


class RemoteStorage:
    """The run's objects as S3 holds them: the Storage methods without local paths, downloads recorded."""

    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage
        self.downloaded: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("path_for", "uri_for"):
            raise AttributeError(name)
        return getattr(self.storage, name)

    def download_file(self, uri: str, path: Path) -> Path:
        self.downloaded.append(uri)
        return self.storage.download_file(uri, path)


def test_the_report_reads_the_archives_through_a_remote_storage(
    classification_run: FinishedRun, classification_report: RunReport
) -> None:
    workflow = classification_run.workflow()
    jobs = latest_run(workflow)
    workflow.backend.storage = storage = RemoteStorage(workflow.backend.storage)
    remote = collect(workflow, jobs)
    assert {jobs.training.model_data_url, jobs.processing.preprocessor_model} <= set(storage.downloaded)
    assert remote.importance == classification_report.importance
    assert remote.test == classification_report.test


def test_classification_report_has_probabilities_and_its_plots(classification_report: RunReport) -> None:
    assert classification_report.test.probabilities is not None
    assert len(classification_report.test.probabilities) == len(classification_report.test.truth)
    assert {"accuracy", "f1"} <= set(classification_report.metrics)
    assert set(classification_report.test.predicted) <= set(classification_report.classes or [])
    assert _plots(render(classification_report)) == CLASSIFICATION_PLOTS | {"importance"}


# -- rendering ------------------------------------------------------------------------------------------------------


def test_every_text_of_the_run_is_escaped(regression_report: RunReport) -> None:
    hostile = "<script>alert(1)</script>"
    report = dataclasses.replace(
        regression_report, project=hostile, hyperparameters={"algorithm": hostile}, jobs={"training job": hostile}
    )
    page = render(report)
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3


def test_the_page_loads_nothing_from_outside(regression_report: RunReport) -> None:
    page = render(regression_report)
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b", page)
    assert not re.search(r"\b(src|href)\s*=\s*\"(?!#)", page)  # the SVG's own references (#id) only
    assert "@import" not in page and not re.search(r"url\((?!#)", page)


def test_importance_that_cannot_be_computed_is_said_so(regression_report: RunReport) -> None:
    reason = "not available for this model: the project's own image is not served in this process"
    report = dataclasses.replace(regression_report, importance=None, notes={"importance": reason})
    page = render(report)
    assert reason.replace("'", "&#x27;") in page
    assert _plots(page) == REGRESSION_PLOTS - {"importance"}


# -- in a real browser ----------------------------------------------------------------------------------------------


def _chromium(page: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a local file, offline, with the page's console messages logged to stderr."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *arguments,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _page_problems(stderr: str) -> list[str]:
    """Console messages (errors, uncaught exceptions, resources that failed to load) and failed page loads."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Page load failed" in line]


@needs_chromium
def test_the_console_check_catches_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><img src="missing.png"><script>undefinedFunction();</script>', encoding="utf-8")
    problems = _page_problems(_chromium(page, tmp_path / "profile", "--dump-dom").stderr)
    assert any("Uncaught ReferenceError" in line for line in problems), problems


@needs_chromium
@pytest.mark.parametrize(
    ("run_fixture", "plots"),
    [("regression_run", REGRESSION_PLOTS), ("classification_run", CLASSIFICATION_PLOTS | {"importance"})],
)
def test_chromium_renders_every_plot_without_console_errors(
    request: pytest.FixtureRequest, run_fixture: str, plots: set[str], tmp_path: Path
) -> None:
    from matplotlib.image import imread

    report_path = request.getfixturevalue(run_fixture).report_path
    dom = _chromium(report_path, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    assert _page_problems(dom.stderr) == []
    assert _plots(dom.stdout) == plots
    screenshot = tmp_path / f"{report_path.stem}.png"
    shot = _chromium(report_path, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,4000")
    assert _page_problems(shot.stderr) == []
    pixels = imread(screenshot)
    assert pixels.shape[:2] == (4000, 1280)
    assert pixels.std() > 0.05  # drawn, not a blank page
