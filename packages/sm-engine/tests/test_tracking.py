"""Experiment tracking (config `tracking:`): the section's validation; MlflowConfig and ExperimentConfig in the
requests that accept them, validated by botocore; the training scripts' MLflow logging (sm_runtime.tracking); and
`run` logged to a local MLflow store: the parent run, a nested run per tuning trial, the report as an artifact."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CONFIG_PATH, PROJECT_ROOT, cli, copy_project
from test_requests import BUCKET, ROLE, Edit, all_requests, assert_valid, make_config
from typer.testing import CliRunner

from sm_engine import cli as engine_cli
from sm_engine.config import ConfigError
from sm_engine.pipeline import step_arguments
from sm_engine.sagemaker_requests import RequestFactory
from sm_engine.tracking import INSTALL_HINT, TrackingError, run_tracker
from sm_runtime import tracking as runtime_tracking

SERVER_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team-server"
TRIALS = 2
EXPERIMENT_OPERATIONS = {"CreateProcessingJob", "CreateTrainingJob", "CreateTransformJob"}


def tracked(**section: Any) -> Edit:
    """A config edit that sets the tracking section."""

    def edit(data: dict[str, Any]) -> None:
        data["tracking"] = section

    return edit


FULL = tracked(
    mlflow={"tracking_server_arn": SERVER_ARN, "experiment": "churn-models"},
    experiment_config={"experiment_name": "churn", "trial_name": "baseline"},
)

# -- the config section -----------------------------------------------------------------------------------------------


def test_tracking_is_off_by_default() -> None:
    config = make_config()
    assert config.tracking is None
    assert run_tracker(config, PROJECT_ROOT) is None


def test_the_commented_example_of_the_project_config_is_valid() -> None:
    lines = CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    start = lines.index("# tracking:")
    example = [line.removeprefix("# ") for line in lines[start:] if line.startswith("# ")]
    config = make_config(tracked(**yaml.safe_load("\n".join(example))["tracking"]))
    assert config.tracking is not None and config.tracking.experiment_config is not None


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"mlflow": {"tracking_server_arn": "arn:aws:iam::123456789012:role/x"}}, "not a SageMaker MLflow ARN"),
        ({"experiment_config": {"experiment_name": "-bad_name"}}, "letters, digits and hyphens"),
        ({"experiment_config": {}}, "tracking.experiment_config.experiment_name: Field required"),
        ({"mlflow": {"server": "x"}}, "tracking.mlflow.server: unknown key"),
    ],
)
def test_a_wrong_tracking_section_names_its_key(section: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_config(tracked(**section))


# -- the requests -----------------------------------------------------------------------------------------------------


def test_the_requests_carry_the_tracking_fields_that_botocore_accepts() -> None:
    requests = all_requests(RequestFactory(make_config(FULL), bucket=BUCKET, role_arn=ROLE))
    for operation, request in requests.items():
        assert_valid(operation, request)
        expected = {"ExperimentName": "churn", "TrialName": "baseline"} if operation in EXPERIMENT_OPERATIONS else None
        assert request.get("ExperimentConfig") == expected, operation
    training = requests["CreateTrainingJob"]
    assert training["MlflowConfig"] == {
        "MlflowResourceArn": SERVER_ARN,
        "MlflowExperimentName": "churn-models",
        "MlflowRunName": training["TrainingJobName"],
    }
    environment = {"MLFLOW_TRACKING_URI": SERVER_ARN, "MLFLOW_EXPERIMENT_NAME": "churn-models"}
    assert environment.items() <= training["Environment"].items()
    trials = requests["CreateHyperParameterTuningJob"]["TrainingJobDefinition"]
    assert environment.items() <= trials["Environment"].items()  # the trials log too; the API has no MlflowConfig here


def test_without_tracking_no_request_changes() -> None:
    requests = all_requests(RequestFactory(make_config(), bucket=BUCKET, role_arn=ROLE))
    assert not any({"ExperimentConfig", "MlflowConfig"} & set(request) for request in requests.values())
    assert "MLFLOW_TRACKING_URI" not in requests["CreateTrainingJob"]["Environment"]


def test_a_local_store_alone_changes_no_request() -> None:
    with_store = RequestFactory(make_config(tracked(mlflow={})), bucket=BUCKET, role_arn=ROLE)
    without = RequestFactory(make_config(), bucket=BUCKET, role_arn=ROLE)
    assert with_store.training_job("train-1") == without.training_job("train-1")


def test_pipeline_steps_leave_the_experiment_config_to_the_pipeline() -> None:
    request = RequestFactory(make_config(FULL), bucket=BUCKET, role_arn=ROLE).training_job("train-1")
    arguments = step_arguments("CreateTrainingJob", request)
    assert "ExperimentConfig" not in arguments
    assert arguments["MlflowConfig"]["MlflowResourceArn"] == SERVER_ARN


# -- MLflow missing ---------------------------------------------------------------------------------------------------


def test_tracking_without_mlflow_installed_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(TrackingError, match=INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")):
        run_tracker(make_config(tracked(mlflow={})), PROJECT_ROOT)


def test_run_stops_before_any_job_when_mlflow_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_project(PROJECT_ROOT, tmp_path)
    config_path = project / "config" / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["tracking"] = {"mlflow": {}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    monkeypatch.chdir(project)
    monkeypatch.setitem(sys.modules, "mlflow", None)

    result = CliRunner().invoke(engine_cli.app, ["run", "--config", str(config_path)], env={"COLUMNS": "200"})

    assert result.exit_code == 1, result.output
    assert f"MLflow is not installed: {INSTALL_HINT}" in result.output
    assert "Processing" not in result.output


def test_the_training_scripts_skip_mlflow_when_it_is_not_configured_or_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = {"validation": {"rmse": 1.0}}
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert runtime_tracking.log_metrics(results) is False
    monkeypatch.setenv("MLFLOW_TRACKING_URI", SERVER_ARN)  # a managed server needs the sagemaker-mlflow plugin too
    monkeypatch.setitem(sys.modules, "sagemaker_mlflow", None)
    assert runtime_tracking.log_metrics(results) is False
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setitem(sys.modules, "mlflow", None)
    assert runtime_tracking.log_metrics(results) is False
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "mlflow.db").exists()


# -- with MLflow ------------------------------------------------------------------------------------------------------

needs_mlflow = pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None, reason=f"MLflow is an optional extra of the engine: {INSTALL_HINT}"
)


@needs_mlflow
def test_a_failing_tracking_server_does_not_fail_the_training_job(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "unknown-scheme://nowhere")
    assert runtime_tracking.log_metrics({"validation": {"rmse": 1.0}}) is False
    assert "MLflow logging skipped" in capsys.readouterr().err


@needs_mlflow
def test_the_training_scripts_log_metrics_and_hyperparameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("TRAINING_JOB_NAME", "project-train-1")
    monkeypatch.setenv("SM_HPS", '{"max_depth": 4}')
    assert runtime_tracking.log_metrics({"validation": {"rmse": 1.5}, "train": {"rmse": 1.0}}) is True
    (run,) = mlflow.MlflowClient(uri).search_runs(["0"])
    assert run.info.run_name == "project-train-1"
    assert run.data.metrics == {"validation_rmse": 1.5, "train_rmse": 1.0}
    assert run.data.params == {"max_depth": "4"}


@needs_mlflow
@pytest.mark.slow
def test_run_is_logged_with_its_trials_and_report(tmp_path: Path) -> None:
    """One `run` of a copy of the default project, tuned with few trials, tracked to the default local store."""
    import mlflow

    project = copy_project(PROJECT_ROOT, tmp_path)
    config_path = project / "config" / "project.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["tuning"].update(enabled=True, max_jobs=TRIALS, max_parallel_jobs=2)
    config["tracking"] = {"mlflow": {"experiment": "tracked-runs"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    result = cli(project, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    store = f"sqlite:///{(project / '.sagemaker-local' / 'mlflow.db').resolve()}"
    assert f"mlflow ui --backend-store-uri {store}" in result.stdout
    client = mlflow.MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("tracked-runs").experiment_id])
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    (parent,) = parents
    trials = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(trials) == TRIALS
    objective = config["tuning"]["objective"]["metric"]
    assert all(objective in trial.data.metrics and trial.data.params for trial in trials)
    assert [trial.data.tags["best"] for trial in trials].count("true") == 1
    assert parent.data.tags["tuning_job"] and parent.data.params["processing.target"] == config["data"]["target"]
    assert any(name.startswith("test_") for name in parent.data.metrics)
    assert objective in parent.data.metrics
    (report,) = client.list_artifacts(parent.info.run_id, "report")
    assert report.path.endswith(".html")
