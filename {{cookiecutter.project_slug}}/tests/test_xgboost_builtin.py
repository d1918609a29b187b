"""The built-in XGBoost algorithm: the local executor's stand-ins (training and serving) and the requests of the
config, as the real algorithm reads them (plain-text hyperparameters, label-first CSV channels, predefined metrics)."""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
import yaml
from conftest import CONFIG, REQUESTS, run_job
from metrics import classification_metrics, regression_metrics
from sm_engine import builtin_xgboost
from sm_engine.config import ConfigError, parse_config
from sm_engine.evaluation import labels_of_scores
from sm_engine.local import validation
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.local.containers import load_container, stage_container

BUCKET = "bucket"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
CLASSES = CONFIG.data.classes
OBJECTIVE = {
    "regression": {"objective": "reg:squarederror", "eval_metric": "mae,rmse"},
    "binary_classification": {"objective": "binary:logistic", "eval_metric": "logloss,auc"},
    "multiclass_classification": {
        "objective": "multi:softmax",
        "eval_metric": "mlogloss,merror",
        "num_class": str(len(CLASSES or [])),
    },
}[CONFIG.data.problem_type]
LAST_METRIC = OBJECTIVE["eval_metric"].rsplit(",", 1)[-1]


def settle(client: LocalSageMakerClient, name: str, timeout: float) -> dict:
    """Describe the training job until its status is terminal."""
    deadline = time.monotonic() + timeout
    while (description := client.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline, f"{name} still in progress"
        time.sleep(0.05)
    return description


def algorithm_request(name: str, hyperparameters: dict[str, str], channels: tuple[str, ...] = ("train", "validation")):
    """CreateTrainingJob of the built-in algorithm, as the SDK's generic Estimator sends it: no MetricDefinitions."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/{channel}"}},
                "ContentType": "text/csv",
            }
            for channel in channels
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, processed: Path):
    """One built-in training job on the processing job's label-first splits: (client, description, logs)."""
    root = tmp_path_factory.mktemp("builtin")
    client = LocalSageMakerClient(root / "local")
    for channel in ("train", "validation"):
        data = (processed / channel / f"{channel}.csv").read_text()
        client.storage.upload_bytes(data.encode(), f"s3://{BUCKET}/data/{channel}/{channel}.csv")
    hyperparameters = {**OBJECTIVE, "num_round": "400", "early_stopping_rounds": "5", "eta": "0.3", "max_depth": "3"}
    client.create_training_job(**algorithm_request("builtin-xgb", hyperparameters))
    description = settle(client, "builtin-xgb", timeout=240)
    logs = (root / "local" / "jobs" / "training" / "builtin-xgb" / "logs.txt").read_text()
    return client, description, logs


def test_the_stand_in_trains_with_early_stopping_and_reports_the_predefined_metrics(trained) -> None:
    client, description, logs = trained
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    rounds = re.findall(rf"^\[(\d+)\]#011train-\w+:[-0-9.e]+.*#011validation-{LAST_METRIC}:([-0-9.e]+)$", logs, re.M)
    assert len(rounds) > 5
    final = {item["MetricName"]: item["Value"] for item in description["FinalMetricDataList"]}
    assert set(final) >= {f"train:{LAST_METRIC}", f"validation:{LAST_METRIC}"}
    assert final[f"validation:{LAST_METRIC}"] == pytest.approx(float(rounds[-1][1]))
    archive = client.storage.path_for(description["ModelArtifacts"]["S3ModelArtifacts"])
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]
        booster = xgb.Booster()
        booster.load_model(bytearray(tar.extractfile("xgboost-model").read()))
    # early stopping: 5 rounds past the best one were trained, the model is cut to the best round
    assert booster.num_boosted_rounds() == len(rounds) - 5 < 400


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        ({"num_round": "5", "max_depht": "3"}, "ClientError: Extraneous hyperparameter found: max_depht"),
        ({"eta": "0.1"}, "ClientError: Missing required hyperparameter: num_round"),
        ({"num_round": "five"}, "ClientError: Hyperparameter num_round: 'five' is not an integer"),
        ({"num_round": "5", "objective": "multi:softprob"}, "ClientError: Hyperparameter num_class is required"),
        ({"num_round": "5", "objective": "reg:nonsense"}, "ClientError: "),
    ],
)
def test_bad_hyperparameters_fail_the_job_with_the_algorithms_reason(tmp_path: Path, hyperparameters, reason) -> None:
    client = LocalSageMakerClient(tmp_path / "local")
    client.storage.upload_bytes(b"1,2,3\n0,1,0\n1,3,1\n", f"s3://{BUCKET}/data/train/train.csv")
    client.create_training_job(**algorithm_request("bad-xgb", hyperparameters, channels=("train",)))
    description = settle(client, "bad-xgb", timeout=120)
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith(reason)
    assert "Traceback" not in description["FailureReason"]


def test_non_numeric_channel_fails_cleanly(tmp_path: Path) -> None:
    client = LocalSageMakerClient(tmp_path / "local")
    client.storage.upload_bytes(b"y,size\n18,3504\n", f"s3://{BUCKET}/data/train/train.csv")
    client.create_training_job(**algorithm_request("header-xgb", {"num_round": "5"}, channels=("train",)))
    description = settle(client, "header-xgb", timeout=120)
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith(
        "ClientError: channel train: train.csv is not numeric CSV with the label first"
    )


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory: pytest.TempPathFactory):
    """The trained model in a container of the built-in image without SAGEMAKER_PROGRAM; batch and real-time."""
    client, description, _logs = trained
    container = {"Image": IMAGE, "ModelDataUrl": description["ModelArtifacts"]["S3ModelArtifacts"]}
    root = tmp_path_factory.mktemp("served")
    storage = client.storage
    realtime = load_container(stage_container(container, storage, root / "realtime"))
    batch_container = {**container, "Environment": {"SAGEMAKER_BATCH": "true"}}
    batch = load_container(stage_container(batch_container, storage, root / "batch"))
    booster = xgb.Booster()
    booster.load_model(bytearray((root / "realtime" / "model" / "xgboost-model").read_bytes()))
    return realtime, batch, booster


def test_the_serving_stand_in_answers_like_the_built_in_container(served, processed: Path) -> None:
    realtime, batch, booster = served
    rows = np.loadtxt(processed / "test" / "test.csv", delimiter=",", ndmin=2)[:4, 1:]
    expected = booster.inplace_predict(rows.astype(np.float32))
    body = "\n".join(",".join(repr(float(value)) for value in row) for row in rows).encode()
    csv_answer = realtime.invoke(body, "text/csv", "text/csv")
    assert csv_answer.status == 200 and csv_answer.content_type == "text/csv"
    assert [float(value) for value in csv_answer.body.decode().split()] == pytest.approx(expected.tolist())
    json_answer = realtime.invoke(body, "text/csv", "application/json")
    scores = [item["score"] for item in json.loads(json_answer.body)["predictions"]]
    assert scores == pytest.approx(expected.tolist())
    lines = batch.invoke(body, "text/csv", "text/csv").body.decode()
    assert lines.endswith("\n") and [float(line) for line in lines.splitlines()] == pytest.approx(expected.tolist())


def test_the_serving_stand_in_refuses_what_the_container_refuses(served) -> None:
    realtime, _batch, booster = served
    row = ",".join(["1.0"] * booster.num_features()).encode()
    assert realtime.invoke(b'{"instances": [[1, 2]]}', "application/json", "text/csv").status == 415
    assert realtime.invoke(b"1,2", "text/csv", "text/csv").status == 400
    assert realtime.invoke(b"a,b", "text/csv", "text/csv").status == 415
    assert realtime.invoke(row, "text/csv", "text/html").status == 406
    assert "Feature size" in json.loads(realtime.invoke(b"1,2", "text/csv", "text/csv").body)["error"]


def test_predefined_metric_regexes_read_every_metric_of_a_round_line() -> None:
    line = "[12]#011train-rmse:2.10000#011validation-mae:1.5e-01#011validation-rmse:2.90000"
    found = {}
    for definition in builtin_xgboost.metric_definitions():
        match = re.search(definition["Regex"], line)
        if match:
            found[definition["Name"]] = float(match.group(1))
    assert found == {"train:rmse": 2.1, "validation:mae": 0.15, "validation:rmse": 2.9}


@pytest.mark.skipif(CLASSES is None, reason="a regression's answers are the values")
def test_scores_read_as_labels_the_way_the_readme_says() -> None:
    if len(CLASSES) == 2:
        assert labels_of_scores(["0.2", "0.5", "0.51"], CLASSES) == [CLASSES[0], CLASSES[0], CLASSES[1]]
    else:
        assert labels_of_scores(["0.0", "2.0", "1.0"], CLASSES) == [CLASSES[0], CLASSES[2], CLASSES[1]]


builtin_only = pytest.mark.skipif(CONFIG.training.mode != "builtin", reason="the project trains in script mode")


@builtin_only
def test_requests_of_the_builtin_algorithm_are_valid_and_script_free() -> None:
    request = REQUESTS.training_job("builtin-request")
    validation.validate("CreateTrainingJob", request)
    hyperparameters = request["HyperParameters"]
    assert not any(key.startswith("sagemaker_") for key in hyperparameters)
    assert hyperparameters["objective"] == OBJECTIVE["objective"]  # plain text, not JSON-quoted
    assert hyperparameters.get("num_class") == OBJECTIVE.get("num_class")
    assert "classes" not in hyperparameters
    assert "MetricDefinitions" not in request["AlgorithmSpecification"]
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:3.2-0")
    assert [channel["ContentType"] for channel in request["InputDataConfig"]] == ["text/csv", "text/csv"]
    model = REQUESTS.model("builtin-model", "s3://b/model.tar.gz", "s3://b/preprocessor/model.tar.gz")
    validation.validate("CreateModel", model)
    preprocessor, algorithm = model["Containers"]
    assert preprocessor["Environment"]["SAGEMAKER_PROGRAM"] == "preprocessor_inference.py"
    assert algorithm == {"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"}


@builtin_only
def test_tuning_of_the_builtin_algorithm_targets_a_predefined_metric() -> None:
    request = REQUESTS.tuning_job("builtin-tuning")
    validation.validate("CreateHyperParameterTuningJob", request)
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
    assert objective in builtin_xgboost.METRIC_NAMES
    static = request["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["_tuning_objective_metric"] == objective and static["num_round"] == "300"


def shipped_with(**training: object) -> dict:
    """The shipped config with the training section made the built-in algorithm's (and the given keys)."""
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "project.yaml").read_text())
    data["training"].update(
        framework="xgboost", mode="builtin", entry_point=None, metric_definitions=[], hyperparameters={"num_round": 10}
    )
    data["training"].update(training)
    data["model"]["inference_pipeline"] = True
    data["endpoint"].update(type="realtime", variants=data["endpoint"]["variants"][:1])  # one that takes a pipeline
    data["tuning"]["objective"]["metric"] = "validation:rmse"
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda data: data["model"].update(inference_pipeline=False), "model.inference_pipeline: the built-in"),
        (lambda data: data["training"].update(framework="sklearn"), "needs framework: xgboost"),
        (lambda data: data["training"].update(entry_point="train.py"), "set entry_point: null"),
        (lambda data: data["training"].update(hyperparameters={"eta": 0.1}), "needs num_round"),
        (lambda data: data["training"].update(hyperparameters={"num_round": 9, "num_class": 3}), "'num_class' is set"),
        (
            lambda data: data["tuning"].update(enabled=True, objective={"metric": "validation:r2", "type": "Maximize"}),
            "the built-in algorithm's metrics",
        ),
    ],
)
def test_config_rules_of_the_builtin_algorithm(edit, message: str) -> None:
    data = shipped_with()
    parse_config(data)  # the base of every case is valid
    edit(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(data)


def test_the_pipeline_evaluation_step_scores_the_algorithms_model(trained, served, tmp_path: Path, processed) -> None:
    client, description, _logs = trained
    _realtime, _batch, booster = served
    model_input = tmp_path / "processing" / "input" / "model"
    model_input.mkdir(parents=True)
    shutil.copy(client.storage.path_for(description["ModelArtifacts"]["S3ModelArtifacts"]), model_input)
    shutil.copytree(processed / "test", tmp_path / "processing" / "input" / "test")
    arguments = [] if CLASSES is None else ["--classes", json.dumps(CLASSES)]  # what the pipeline's step passes
    result = run_job("evaluate.py", arguments, {"SAGEMAKER_BASE_DIR": str(tmp_path)}, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "processing" / "evaluation" / "evaluation.json").read_text())
    matrix = np.loadtxt(processed / "test" / "test.csv", delimiter=",", ndmin=2)
    scores = booster.inplace_predict(matrix[:, 1:].astype(np.float32))
    if CLASSES is None:
        expected = regression_metrics(matrix[:, 0], scores)
    elif len(CLASSES) == 2:
        expected = classification_metrics(matrix[:, 0], np.column_stack([1 - scores, scores]))
    else:
        expected = classification_metrics(matrix[:, 0], np.eye(len(CLASSES))[scores.astype(int)])
    section = report[f"{CONFIG.data.problem_type}_metrics"]
    assert {name: item["value"] for name, item in section.items()} == pytest.approx(expected)


def test_the_readme_explains_how_this_project_uses_xgboost() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## XGBoost", 1)[1].split("\n## ", 1)[0]
    if CONFIG.training.mode == "builtin":
        # every hyperparameter the config sets is explained, and how to read the answers
        assert all(f"`{key}`" in section for key in CONFIG.training.hyperparameters)
        assert '{"predictions": [{"score":' in section
        assert CLASSES is None or "labels_of_scores" in section
    else:
        assert all(name in section for name in ("train_xgboost.py", "boosters.py", "xgboost_inference.py"))
        assert "early_stopping_rounds" in section
