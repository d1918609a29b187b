"""CloudWatch log streaming of the aws executor, against a botocore Stubber for `logs`."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from sm_engine.aws.cloudwatch import JobWatcher, LogStreamer, last_lines, log_location
from sm_engine.waiting import ENDPOINT, TRAINING_JOB, TUNING_JOB

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

GROUP = "/aws/sagemaker/TrainingJobs"
JOB = "mpg-predictor-train-20260101-000000-000"


@pytest.fixture
def logs() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def event(event_id: str, timestamp: int, message: str) -> dict[str, object]:
    return {"eventId": event_id, "timestamp": timestamp, "message": message, "logStreamName": f"{JOB}/algo-1-1"}


def expect(stubber: Stubber, start: int, events: list[dict[str, object]]) -> None:
    """One filter_log_events call from `start` (a single page)."""
    request = {"logGroupName": GROUP, "logStreamNamePrefix": f"{JOB}/", "startTime": start}
    stubber.add_response("filter_log_events", {"events": events}, request)


def test_log_locations() -> None:
    assert log_location(TRAINING_JOB, JOB) == (GROUP, f"{JOB}/")
    assert log_location(ENDPOINT, "ep") == ("/aws/sagemaker/Endpoints/ep", None)
    assert log_location(TUNING_JOB, "tune") is None


def test_streams_new_lines_once_across_polls_and_pages(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    stubber.add_response(
        "filter_log_events",
        {"events": [event("1", 100, "starting\n"), event("2", 200, "epoch 1")], "nextToken": "page2"},
        {"logGroupName": GROUP, "logStreamNamePrefix": f"{JOB}/", "startTime": 0},
    )
    stubber.add_response(
        "filter_log_events",
        {"events": [event("3", 300, "train_mae=1.5;")]},
        {"logGroupName": GROUP, "logStreamNamePrefix": f"{JOB}/", "startTime": 0, "nextToken": "page2"},
    )
    # startTime is inclusive: the event at 300 comes again, next to a new one at the same millisecond
    expect(stubber, 300, [event("3", 300, "train_mae=1.5;"), event("4", 300, "done")])
    expect(stubber, 300, [])
    lines: list[str] = []
    streamer = LogStreamer(client, GROUP, f"{JOB}/", lines.append)
    assert streamer.poll() == 3
    assert streamer.poll() == 1
    assert streamer.poll() == 0
    assert lines == ["starting", "epoch 1", "train_mae=1.5;", "done"]


def test_missing_log_group_means_no_lines_yet(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    stubber.add_client_error(
        "filter_log_events", service_error_code="ResourceNotFoundException", service_message="no group"
    )
    lines: list[str] = []
    assert LogStreamer(client, GROUP, f"{JOB}/", lines.append).poll() == 0
    assert lines == []


def test_last_lines_keeps_the_tail(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    expect(stubber, 0, [event(str(i), i, f"line {i}") for i in range(1, 31)])
    assert last_lines(client, TRAINING_JOB, JOB, count=3) == ["line 28", "line 29", "line 30"]
    assert last_lines(client, TUNING_JOB, "tune") == []


def test_watcher_reports_status_changes_and_streams(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    expect(stubber, 0, [event("1", 10, "pulling image")])
    expect(stubber, 10, [event("1", 10, "pulling image"), event("2", 20, "training")])
    expect(stubber, 20, [event("2", 20, "training")])
    lines: list[str] = []
    statuses: list[str] = []
    watcher = JobWatcher(client, lines.append, statuses.append)
    for secondary in ("Starting", "Training", "Training"):
        watcher(TRAINING_JOB, JOB, {"TrainingJobStatus": "InProgress", "SecondaryStatus": secondary})
    assert statuses == [f"training job {JOB}: InProgress (Starting)", f"training job {JOB}: InProgress (Training)"]
    assert lines == ["pulling image", "training"]


def test_watcher_without_emit_only_reports_status() -> None:
    statuses: list[str] = []
    watcher = JobWatcher(object(), None, statuses.append)
    watcher(ENDPOINT, "ep", {"EndpointStatus": "Creating"})
    watcher(ENDPOINT, "ep", {"EndpointStatus": "InService"})
    assert statuses == ["endpoint ep: Creating", "endpoint ep: InService"]


def test_watcher_keeps_waiting_when_logs_are_denied(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    stubber.add_client_error("filter_log_events", service_error_code="AccessDeniedException", service_message="no")
    lines: list[str] = []
    watcher = JobWatcher(client, lines.append, lambda _status: None)
    for _ in range(2):  # the second poll calls CloudWatch no more
        watcher(TRAINING_JOB, JOB, {"TrainingJobStatus": "InProgress"})
    assert len(lines) == 1
    assert lines[0].startswith("CloudWatch logs unavailable")


def test_watcher_reports_metrics_as_they_change() -> None:
    statuses: list[str] = []
    watcher = JobWatcher(object(), None, statuses.append)
    first = [{"MetricName": "validation:rmse", "Value": 3.14159}]
    for metrics in (first, first, [*first, {"MetricName": "train:mae", "Value": 2.0}]):
        watcher(TRAINING_JOB, JOB, {"TrainingJobStatus": "InProgress", "FinalMetricDataList": metrics})
    assert statuses == [
        f"training job {JOB}: InProgress",
        f"training job {JOB} metrics: validation:rmse=3.142",
        f"training job {JOB} metrics: validation:rmse=3.142, train:mae=2",
    ]


DEFINITIONS = [
    {"Name": "train:rmse", "Regex": "train_rmse=([-+0-9.eE]+);"},
    {"Name": "validation:rmse", "Regex": "validation_rmse=([-+0-9.eE]+);"},
]


def training(status: str, **extra: object) -> dict[str, object]:
    return {
        "TrainingJobStatus": status,
        "SecondaryStatus": "Training",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "MetricDefinitions": DEFINITIONS},
        **extra,
    }


def test_watcher_shows_metrics_from_log_lines_as_they_arrive(logs: tuple[object, Stubber]) -> None:
    """Without --verbose no line is printed, yet the lines are read for the MetricDefinitions values."""
    client, stubber = logs
    expect(stubber, 0, [event("1", 10, "epoch 1 train_rmse=3.5; validation_rmse=4.25;")])
    expect(stubber, 10, [event("1", 10, "epoch 1 train_rmse=3.5; validation_rmse=4.25;"), event("2", 20, "x")])
    expect(stubber, 20, [event("3", 30, "epoch 2 train_rmse=2.5; validation_rmse=nan;")])
    statuses: list[str] = []
    watcher = JobWatcher(client, None, statuses.append)
    watcher(TRAINING_JOB, JOB, training("InProgress"))
    watcher(TRAINING_JOB, JOB, training("InProgress"))
    final = [{"MetricName": "validation:rmse", "Value": 4.25}]
    watcher(TRAINING_JOB, JOB, training("Completed", FinalMetricDataList=final))
    assert statuses == [
        f"training job {JOB}: InProgress (Training)",
        f"training job {JOB} train:rmse = 3.5",
        f"training job {JOB} validation:rmse = 4.25",
        f"training job {JOB}: Completed (Training)",
        f"training job {JOB} train:rmse = 2.5",  # the lines written before the job completed, read on its last poll
        f"training job {JOB} metrics: validation:rmse=4.25",
    ]


def test_watcher_streams_and_parses_the_same_lines(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    expect(stubber, 0, [event("1", 10, "validation_rmse=1.5;")])
    lines: list[str] = []
    statuses: list[str] = []
    JobWatcher(client, lines.append, statuses.append)(TRAINING_JOB, JOB, training("InProgress"))
    assert lines == ["validation_rmse=1.5;"]
    assert statuses[-1] == f"training job {JOB} validation:rmse = 1.5"


def test_watcher_without_emit_reads_no_logs_of_jobs_without_metrics() -> None:
    statuses: list[str] = []
    watcher = JobWatcher(object(), None, statuses.append)  # any CloudWatch call would fail on object()
    watcher(TRAINING_JOB, JOB, {"TrainingJobStatus": "InProgress", "AlgorithmSpecification": {}})
    assert statuses == [f"training job {JOB}: InProgress"]


def test_one_metric_parser_for_both_executors() -> None:
    from sm_engine.aws import cloudwatch
    from sm_engine.local import training as local_training

    assert cloudwatch.MetricCapture is local_training.MetricCapture
    assert cloudwatch.metric_definitions is local_training.metric_definitions


XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def builtin_training(status: str, **hyperparameters: str) -> dict[str, object]:
    """DescribeTrainingJob of the built-in XGBoost algorithm: its image, no MetricDefinitions in the request."""
    specification = {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"}
    return {"TrainingJobStatus": status, "AlgorithmSpecification": specification, "HyperParameters": hyperparameters}


def test_watcher_reads_the_predefined_metrics_of_a_builtin_algorithm_job(logs: tuple[object, Stubber]) -> None:
    client, stubber = logs
    expect(stubber, 0, [event("1", 10, "[3]#011train-rmse:2.1#011validation-rmse:2.9")])
    statuses: list[str] = []
    JobWatcher(client, None, statuses.append)(TRAINING_JOB, JOB, builtin_training("InProgress", num_round="10"))
    assert statuses == [
        f"training job {JOB}: InProgress",
        f"training job {JOB} train:rmse = 2.1",
        f"training job {JOB} validation:rmse = 2.9",
    ]


def test_a_script_on_the_xgboost_image_has_only_its_own_metrics() -> None:
    statuses: list[str] = []
    watcher = JobWatcher(object(), None, statuses.append)  # no definitions: no CloudWatch call (it would fail)
    watcher(TRAINING_JOB, JOB, builtin_training("InProgress", sagemaker_program='"train_xgboost.py"'))
    assert statuses == [f"training job {JOB}: InProgress"]
