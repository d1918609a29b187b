"""End to end: the `run` command on the sample data, then each step on its own, on the local executor."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from sm_engine.config import ProjectConfig
from sm_engine.evaluation import labels_of_scores, transform_metrics
from sm_engine.local.client import LocalSageMakerClient

pytestmark = pytest.mark.slow

PACKAGE = "{{ cookiecutter.project_slug }}"
COPIED = ("config", "data", "jobs", "api", "src", "container")
ENDPOINT = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "project.yaml").read_text())["endpoint"]
RAW_TRAINING = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "project.yaml").read_text())["training"]
BUILTIN = RAW_TRAINING.get("mode") == "builtin"  # the built-in XGBoost algorithm answers scores, not labels
VARIANTS = [variant["name"] for variant in ENDPOINT["variants"]]
with_endpoint = pytest.mark.skipif(ENDPOINT["type"] == "batch", reason="endpoint.type batch: no endpoint")
synchronous = pytest.mark.skipif(ENDPOINT["type"] in ("batch", "async"), reason="no InvokeEndpoint on this endpoint")


def cli(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The project's command line, as a user runs it from the project folder."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(project / folder) for folder in ("src", "jobs", "api"))}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *arguments], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> Path:
    """A copy of this project, so the run's .sagemaker-local folder stays out of the source tree."""
    return copy_project(project_root, tmp_path_factory.mktemp("project"))


def copy_project(source: Path, target: Path) -> Path:
    """The folders of the project that a run needs, copied to `target`."""
    for folder in COPIED:
        if (source / folder).exists():
            shutil.copytree(source / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def client(project: Path) -> Iterator[LocalSageMakerClient]:
    yield LocalSageMakerClient(project / ".sagemaker-local")


@pytest.fixture(scope="module")
def kept_run(project: Path) -> subprocess.CompletedProcess:
    done = cli(project, "run", "--keep")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_run_prints_the_summary_and_its_report(kept_run: subprocess.CompletedProcess, project: Path) -> None:
    output = kept_run.stdout
    for expected in ("Processing", "Metrics", "Hyperparameters", "Sample predictions", "Artefacts", "Done in"):
        assert expected in output
    assert "Traceback" not in output + kept_run.stderr
    [report] = [line.removeprefix("Report: ") for line in output.splitlines() if line.startswith("Report: ")]
    assert Path(report).parent == project / "reports" and Path(report).suffix == ".html" and Path(report).is_file()


def constant_score(rows: list[list[str]], config: ProjectConfig) -> float:
    """The test metric of the best constant answer: the median's MAE, or the most frequent label's accuracy."""
    truth = [row[0] for row in rows]
    if config.data.classes is None:
        values = sorted(float(value) for value in truth)
        return sum(abs(value - values[len(values) // 2]) for value in values) / len(values)
    return max(truth.count(label) for label in set(truth)) / len(truth)


def test_batch_transform_joins_every_test_row_with_a_prediction_better_than_a_constant(
    kept_run: subprocess.CompletedProcess, client: LocalSageMakerClient, config: ProjectConfig, raw_frame
) -> None:
    jobs = client.list_transform_jobs(StatusEquals="Completed")["TransformJobSummaries"]
    assert jobs
    output = client.describe_transform_job(TransformJobName=jobs[0]["TransformJobName"])["TransformOutput"]
    [uri] = client.storage.list_uris(output["S3OutputPath"])
    rows = list(csv.reader(io.StringIO(client.storage.read_bytes(uri).decode())))
    assert len(rows) == round(len(raw_frame) * config.data.split.test_fraction)
    metrics = transform_metrics(config.data, rows, scores=BUILTIN)
    if config.data.classes is None:
        assert metrics["mae"] < constant_score(rows, config)
    else:
        assert metrics["accuracy"] > constant_score(rows, config)
    if config.data.classes is not None and not BUILTIN:
        assert {row[-1] for row in rows} <= set(config.data.classes)


def raw_rows(config: ProjectConfig, count: int) -> bytes:
    """The first rows of the project's data, as the endpoint takes them: the feature columns in config order."""
    with (Path(__file__).resolve().parents[1] / config.data.local_path).open(newline="") as file:
        records = list(csv.DictReader(file))[:count]
    return "".join(",".join(record[column] for column in config.data.columns) + "\n" for record in records).encode()


def real_runtime(client: LocalSageMakerClient, endpoint_name: str):
    """boto3's own sagemaker-runtime client, pointed at the local endpoint."""
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=client.endpoint_url(endpoint_name),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def answer_values(answers: list, config: ProjectConfig) -> list[float]:
    """Answers as numbers: the value of a regression, the class code of a classifier."""
    classes = config.data.classes
    if BUILTIN:  # {"score": ...} or CSV text: the value, P(second label) or the class code
        scores = [str(answer["score"] if isinstance(answer, dict) else answer) for answer in answers]
        return (
            [float(score) for score in scores]
            if classes is None
            else [classes.index(label) for label in labels_of_scores(scores, classes)]
        )
    return [float(answer) if classes is None else classes.index(answer) for answer in answers]


@synchronous
def test_the_real_boto3_runtime_client_gets_predictions_from_the_kept_endpoint(
    kept_run: subprocess.CompletedProcess, client: LocalSageMakerClient, config: ProjectConfig
) -> None:
    [endpoint] = client.list_endpoints()["Endpoints"]
    runtime = real_runtime(client, endpoint["EndpointName"])
    response = runtime.invoke_endpoint(
        EndpointName=endpoint["EndpointName"],
        ContentType="text/csv",
        Accept="text/csv",
        Body=raw_rows(config, 2),
    )
    # one value per line, or comma-separated on one line (the built-in algorithm's real-time CSV)
    predictions = answer_values(response["Body"].read().decode().replace(",", "\n").split(), config)
    assert len(predictions) == 2
    assert response["InvokedProductionVariant"] in VARIANTS
    for variant in VARIANTS:  # every variant serves, and TargetVariant picks it
        targeted = runtime.invoke_endpoint(
            EndpointName=endpoint["EndpointName"],
            ContentType="text/csv",
            Body=raw_rows(config, 1),
            TargetVariant=variant,
        )
        assert targeted["InvokedProductionVariant"] == variant
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint["EndpointName"], ContentType="text/csv", Body=b"1,2,3\n")
    assert error.value.response["OriginalStatusCode"] == 400


@synchronous  # InvokeEndpointAsync answers no variant: the result is read from S3 later
@pytest.mark.skipif(len(VARIANTS) < 2, reason="one variant")
def test_the_summary_shows_which_variant_answered_each_sample(kept_run: subprocess.CompletedProcess) -> None:
    assert "variant" in kept_run.stdout and any(name in kept_run.stdout for name in VARIANTS)


@pytest.mark.skipif(ENDPOINT["type"] != "async", reason="not an asynchronous endpoint")
def test_the_real_boto3_runtime_client_invokes_the_kept_async_endpoint(
    kept_run: subprocess.CompletedProcess, client: LocalSageMakerClient, config: ProjectConfig
) -> None:
    [listed] = client.list_endpoints()["Endpoints"]
    endpoint = client.describe_endpoint(EndpointName=listed["EndpointName"])
    assert endpoint["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"]
    endpoint_config = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    output_path = endpoint_config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"]
    input_location = output_path.rsplit("/", 1)[0] + "/input/test.csv"
    client.storage.upload_bytes(raw_rows(config, 2), input_location)
    reply = real_runtime(client, endpoint["EndpointName"]).invoke_endpoint_async(
        EndpointName=endpoint["EndpointName"], InputLocation=input_location, ContentType="text/csv"
    )
    assert reply["OutputLocation"].startswith(output_path + "/")
    deadline = time.monotonic() + 30
    while not client.storage.exists(reply["OutputLocation"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    body = client.storage.read_bytes(reply["OutputLocation"]).decode()
    # no Accept: the built-in algorithm answers text/csv (one value per line), the project's handlers JSON
    answers = body.split() if BUILTIN else json.loads(body)["predictions"]
    assert len(answer_values(answers, config)) == 2


@pytest.mark.skipif(ENDPOINT["type"] != "batch", reason="the project deploys an endpoint")
def test_a_batch_project_runs_without_an_endpoint(
    kept_run: subprocess.CompletedProcess, project: Path, client: LocalSageMakerClient
) -> None:
    assert "No endpoint" in kept_run.stdout and "Deploying" not in kept_run.stdout
    assert client.list_endpoints()["Endpoints"] == []
    deployed = cli(project, "deploy")
    assert deployed.returncode == 1 and "endpoint.type is batch" in deployed.stdout
    transformed = cli(project, "transform")
    assert transformed.returncode == 0, transformed.stdout + transformed.stderr
    assert "Output: s3://" in transformed.stdout


@with_endpoint
def test_each_step_on_its_own(
    kept_run: subprocess.CompletedProcess, project: Path, client: LocalSageMakerClient, config: ProjectConfig
) -> None:
    [endpoint] = client.list_endpoints()["Endpoints"]
    name = endpoint["EndpointName"]
    listed = cli(project, "endpoints")
    assert listed.returncode == 0 and name in listed.stdout
    predicted = cli(project, "predict", name, "--row", raw_rows(config, 1).decode().strip())
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    faster = "num_round=20" if "num_round" in RAW_TRAINING["hyperparameters"] else "n_estimators=20"
    trained = cli(project, "train", "--hyperparameter", faster)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "validation" in trained.stdout
    job = client.list_training_jobs(SortBy="CreationTime", SortOrder="Descending")["TrainingJobSummaries"][0]
    logs = cli(project, "logs", job["TrainingJobName"])
    split, metric = config.tuning.objective.metric.split(":")
    line = f"#011{split}-{metric}:" if BUILTIN else f"{split}_{metric}="  # validation_rmse=, validation_roc_auc=, ...
    assert logs.returncode == 0 and line in logs.stdout
    torn_down = cli(project, "teardown", name)
    assert torn_down.returncode == 0, torn_down.stdout + torn_down.stderr
    assert client.list_endpoints()["Endpoints"] == []


def test_a_failing_step_says_which_job_failed_and_why(kept_run: subprocess.CompletedProcess, project: Path) -> None:
    names = RAW_TRAINING["hyperparameters"]
    bad = "num_round=lasagna" if "num_round" in names else "dropout=2" if "dropout" in names else "algorithm=lasagna"
    done = cli(project, "train", "--hyperparameter", bad)
    assert done.returncode == 1
    assert "failed" in done.stdout.lower() and "Reason" in done.stdout and "Logs:" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_an_invalid_config_is_reported_without_a_traceback(project: Path, tmp_path: Path) -> None:
    config = tmp_path / "config" / "project.yaml"
    config.parent.mkdir()
    text = (project / "config" / "project.yaml").read_text().replace("instance_count: 1", "instance_count: -1", 1)
    config.write_text(text)
    done = cli(project, "process", "--config", str(config))
    assert done.returncode == 1
    assert "processing.instance_count" in done.stdout and "Traceback" not in done.stdout + done.stderr
