"""Tuning jobs on the local executor: strategies, parallel trials, counters, BestTrainingJob, trial listing (§6)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_local_helpers import ROLE, SKLEARN_IMAGE, make_client, settle, upload_code

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

# the objective is a known function of the hyperparameters: minimal at x = 3, smaller for kind "b"
SCRIPT = """
import argparse, time
parser = argparse.ArgumentParser()
parser.add_argument("-x", type=float, default=0.0)
parser.add_argument("--kind", default="a")
parser.add_argument("--steps", type=int, default=1)
args = parser.parse_args()
start = time.time()
for step in range(args.steps):
    print(f"loss={(args.x - 3) ** 2 + (0 if args.kind == 'b' else 1) + 1.0 / (step + 1)};", flush=True)
    time.sleep(0.05)
print(f"started={start}; ended={time.time()};")
"""


def tuning_request(name: str, source: str, strategy: str, ranges: dict[str, Any], jobs: int | None = 4) -> dict:
    limits: dict[str, int] = {"MaxParallelTrainingJobs": 2}
    if jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = jobs
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": limits,
            "ParameterRanges": ranges,
            "RandomSeed": 7,
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": f'"{source}"',
                "steps": "1",
            },
            "AlgorithmSpecification": {
                "TrainingImage": SKLEARN_IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "loss", "Regex": "loss=(.*?);"},
                    {"Name": "started", "Regex": "started=(.*?);"},
                    {"Name": "ended", "Regex": "ended=(.*?);"},
                ],
            },
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }


CONTINUOUS = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "6", "ScalingType": "Linear"}]}
CATEGORICAL = {"CategoricalParameterRanges": [{"Name": "kind", "Values": ['"a"', '"b"']}]}


def _client(tmp_path: Path):
    client = make_client(tmp_path / "root")
    return client, upload_code(client, {"train.py": SCRIPT}, tmp_path / "code")


def _expected_loss(tuned: dict[str, str]) -> float:
    x = float(tuned.get("x", "0"))
    return (x - 3) ** 2 + (0 if tuned.get("kind", '"a"') == '"b"' else 1) + 1.0


@pytest.mark.parametrize("strategy", ["Bayesian", "Random"])
def test_four_trials_two_at_a_time(tmp_path: Path, strategy: str) -> None:
    client, source = _client(tmp_path)
    ranges = {**CONTINUOUS, **CATEGORICAL}
    response = client.create_hyper_parameter_tuning_job(
        **tuning_request("tune-" + strategy.lower(), source, strategy, ranges)
    )
    assert response["HyperParameterTuningJobArn"].endswith(f":hyper-parameter-tuning-job/tune-{strategy.lower()}")
    description = settle(client, "tuning", f"tune-{strategy.lower()}")
    assert description["HyperParameterTuningJobStatus"] == "Completed", description.get("FailureReason")
    assert description["TrainingJobStatusCounters"] == {
        "Completed": 4,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert description["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    trials = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=f"tune-{strategy.lower()}",
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending",
    )["TrainingJobSummaries"]
    assert len(trials) == 4
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert values == sorted(values)
    for trial in trials:
        assert re.fullmatch(f"tune-{strategy.lower()}-00[1-4]-" + "[0-9a-f]{8}", trial["TrainingJobName"])
        assert trial["TuningJobName"] == f"tune-{strategy.lower()}"
        assert set(trial["TunedHyperParameters"]) == {"x", "kind"}
        metric = trial["FinalHyperParameterTuningJobObjectiveMetric"]
        assert metric["MetricName"] == "loss" and metric["Type"] == "Minimize"
        assert metric["Value"] == pytest.approx(_expected_loss(trial["TunedHyperParameters"]), rel=1e-6)
        assert trial["ObjectiveStatus"] == "Succeeded" and trial["TrainingJobStatus"] == "Completed"
    best = description["BestTrainingJob"]
    assert best["TrainingJobName"] == trials[0]["TrainingJobName"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == min(values)
    trial = client.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert trial["TuningJobArn"] == response["HyperParameterTuningJobArn"]
    assert trial["HyperParameters"]["_tuning_objective_metric"] == "loss"
    assert trial["HyperParameters"]["steps"] == "1"
    listed = client.list_training_jobs(NameContains=f"tune-{strategy.lower()}", MaxResults=100)["TrainingJobSummaries"]
    assert len(listed) == 4
    _assert_two_ran_in_parallel([client.describe_training_job(TrainingJobName=t["TrainingJobName"]) for t in trials])


def _assert_two_ran_in_parallel(descriptions: list[dict[str, Any]]) -> None:
    spans = []
    for description in descriptions:
        metrics = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
        spans.append((metrics["started"], metrics["ended"]))
    overlapping = any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1 :])
    assert overlapping, spans


def test_grid_runs_every_combination(tmp_path: Path) -> None:
    client, source = _client(tmp_path)
    ranges = {
        "CategoricalParameterRanges": [*CATEGORICAL["CategoricalParameterRanges"], {"Name": "x", "Values": ["1", "3"]}]
    }
    client.create_hyper_parameter_tuning_job(**tuning_request("tune-grid", source, "Grid", ranges, jobs=None))
    description = settle(client, "tuning", "tune-grid")
    assert description["TrainingJobStatusCounters"]["Completed"] == 4
    trials = client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-grid")
    combos = {
        (t["TunedHyperParameters"]["kind"], t["TunedHyperParameters"]["x"]) for t in trials["TrainingJobSummaries"]
    }
    assert combos == {('"a"', "1"), ('"a"', "3"), ('"b"', "1"), ('"b"', "3")}
    assert description["BestTrainingJob"]["TunedHyperParameters"] == {"kind": '"b"', "x": "3"}
    listed = client.list_hyper_parameter_tuning_jobs(StatusEquals="Completed")["HyperParameterTuningJobSummaries"]
    assert [job["HyperParameterTuningJobName"] for job in listed] == ["tune-grid"]
    assert listed[0]["Strategy"] == "Grid" and listed[0]["TrainingJobStatusCounters"]["Completed"] == 4
    assert description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 1.0


def test_trials_without_the_metric_fail_the_objective(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": "print('no metric here')\n"}, tmp_path / "code")
    request = tuning_request("tune-nometric", source, "Random", CONTINUOUS, jobs=2)
    client.create_hyper_parameter_tuning_job(**request)
    description = settle(client, "tuning", "tune-nometric")
    assert description["HyperParameterTuningJobStatus"] == "Failed"
    assert "BestTrainingJob" not in description
    assert description["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 0, "Failed": 2}
    trials = client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-nometric")
    assert all("FinalHyperParameterTuningJobObjectiveMetric" not in t for t in trials["TrainingJobSummaries"])


def test_hyperband_prunes_bad_trials(tmp_path: Path) -> None:
    client, source = _client(tmp_path)
    request = tuning_request("tune-hyperband", source, "Hyperband", CONTINUOUS, jobs=6)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["steps"] = "12"
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 1
    client.create_hyper_parameter_tuning_job(**request)
    description = settle(client, "tuning", "tune-hyperband", timeout=90)
    counters = description["TrainingJobStatusCounters"]
    assert counters["Completed"] + counters["Stopped"] == 6
    assert counters["Stopped"] >= 1, "Hyperband should stop at least one poor trial early"
    assert description["HyperParameterTuningJobStatus"] == "Completed"


@pytest.mark.parametrize(
    ("strategy", "ranges", "message"),
    [
        ("Grid", CONTINUOUS, "categorical parameter ranges only"),
        ("Random", {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "5", "MaxValue": "1"}]}, "greater than"),
        (
            "Random",
            {"IntegerParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "9", "ScalingType": "Logarithmic"}]},
            "MinValue > 0",
        ),
    ],
)
def test_invalid_tuning_configs_are_rejected(tmp_path: Path, strategy: str, ranges: dict, message: str) -> None:
    client, source = _client(tmp_path)
    with pytest.raises(ClientError) as error:
        client.create_hyper_parameter_tuning_job(**tuning_request("tune-bad", source, strategy, ranges))
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert message in error.value.response["Error"]["Message"]


def test_stop_tuning_job_and_unknown_names(tmp_path: Path) -> None:
    client, source = _client(tmp_path)
    request = tuning_request("tune-stop", source, "Random", CONTINUOUS, jobs=4)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["steps"] = "400"
    client.create_hyper_parameter_tuning_job(**request)
    time.sleep(0.5)
    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    description = settle(client, "tuning", "tune-stop", timeout=30)
    assert description["HyperParameterTuningJobStatus"] == "Stopped"
    assert description["TrainingJobStatusCounters"]["Completed"] == 0
    with pytest.raises(ClientError) as error:
        client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    assert error.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as error:
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    assert error.value.response["Error"]["Message"] == "Requested resource not found."


def test_reverse_logarithmic_values_stay_in_range(tmp_path: Path) -> None:
    import optuna

    from sm_engine.local.tuning_study import suggest

    config = {
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "m", "MinValue": "0.5", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"}
            ],
            "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "100", "ScalingType": "Logarithmic"}],
        }
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(50):
        tuned = suggest(study.ask(), config)
        assert 0.5 <= float(tuned["m"]) <= 0.999
        assert 1 <= int(tuned["n"]) <= 100
