"""Training jobs on the local executor: /opt/ml layout, SM_* variables, arguments, metrics, artifacts, failures."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from test_local_helpers import BUCKET, make_client, settle, training_request, upload_code, upload_data

from sm_engine.local import environment, isolation

DUMP_SCRIPT = """
import json, os, sys
model_dir = os.environ["SM_MODEL_DIR"]
prefixes = ("SM_", "SAGEMAKER_", "TRAINING_", "CURRENT_")
env = {key: value for key, value in os.environ.items() if key.startswith(prefixes)}
channel = os.environ["SM_CHANNEL_TRAIN"]
files = sorted(os.path.relpath(os.path.join(d, f), channel) for d, _, fs in os.walk(channel) for f in fs)
with open(os.path.join(model_dir, "dump.json"), "w") as handle:
    json.dump({"env": env, "argv": sys.argv, "cwd": os.getcwd(), "files": files,
               "config": json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "resourceconfig.json")))},
              handle)
open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "extra.txt"), "w").write("extra")
print("done")
"""

HYPERPARAMETERS = {
    "flag": "true",
    "lr": "0.1",
    "name": '"abc"',
    "x": "5",
    "batch-size": "[1, 2]",
    "sagemaker_region": '"us-east-1"',
}


@pytest.fixture(params=["isolated", "mapped"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "mapped":
        monkeypatch.setenv(isolation.SWITCH, "off")
    elif not isolation.isolation_enabled():
        pytest.skip("user namespaces are not available here")
    return request.param


def _model_files(client, description: dict) -> dict[str, bytes]:
    path = client.storage.path_for(description["ModelArtifacts"]["S3ModelArtifacts"])
    with tarfile.open(path) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def test_environment_arguments_channels_and_artifacts(tmp_path: Path, mode: str) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": DUMP_SCRIPT}, tmp_path / "code")
    upload_data(client, {"data/train/a.csv": "1,2\n", "data/train/sub/b.csv": "3,4\n", "data/validation/v.csv": "5\n"})
    channels = {"train": f"s3://{BUCKET}/data/train", "validation": f"s3://{BUCKET}/data/validation/"}
    request = training_request("job-env", source, hyperparameters=HYPERPARAMETERS, channels=channels)
    response = client.create_training_job(**request)
    assert response["TrainingJobArn"] == "arn:aws:sagemaker:us-east-1:000000000000:training-job/job-env"
    description = settle(client, "training", "job-env")
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    assert description["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in description["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert description["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/output/job-env/output/model.tar.gz"
    assert client.storage.exists(f"s3://{BUCKET}/output/job-env/output/output.tar.gz")
    assert description["BillableTimeInSeconds"] >= 1
    dump = json.loads(_model_files(client, description)["dump.json"])
    env, base = (
        dump["env"],
        "/opt/ml" if mode == "isolated" else str(tmp_path / "root" / "jobs" / "training" / "job-env"),
    )
    assert env["SM_MODEL_DIR"] == f"{base}/model"
    assert env["SM_CHANNEL_TRAIN"] == f"{base}/input/data/train"
    assert env["SM_CHANNELS"] == '["train","validation"]'
    assert env["SM_HPS"] == '{"batch-size":[1,2],"flag":true,"lr":0.1,"name":"abc","x":5}'
    assert env["SM_HP_NAME"] == "abc"
    assert env["SM_HP_FLAG"] == "true"
    assert env["SM_HP_BATCH-SIZE"] == "[1,2]"
    assert env["SM_USER_ARGS"] == '["--batch-size","[1, 2]","--flag","True","--lr","0.1","--name","abc","-x","5"]'
    assert env["SM_FRAMEWORK_PARAMS"] == "{}"
    assert env["SM_HOSTS"] == '["algo-1"]' and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NUM_GPUS"] == "0" and int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_MODULE_NAME"] == "train" and env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_MODULE_DIR"] == source and env["SM_LOG_LEVEL"] == "20"
    assert env["TRAINING_JOB_NAME"] == "job-env" and env["SAGEMAKER_REGION"] == "us-east-1"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == "job-env" and training_env["is_master"] is True
    assert training_env["hyperparameters"] == {"batch-size": [1, 2], "flag": True, "lr": 0.1, "name": "abc", "x": 5}
    assert ("SAGEMAKER_BASE_DIR" in env) == (mode == "mapped")
    assert dump["argv"][1:] == ["--batch-size", "[1, 2]", "--flag", "True", "--lr", "0.1", "--name", "abc", "-x", "5"]
    assert dump["argv"][0] == "train.py"
    assert dump["cwd"].endswith("/code")
    assert dump["files"] == ["a.csv", "sub/b.csv"]
    assert dump["config"]["current_host"] == "algo-1" and dump["config"]["hosts"] == ["algo-1"]
    job_dir = tmp_path / "root" / "jobs" / "training" / "job-env"
    hyperparameters = json.loads((job_dir / "input" / "config" / "hyperparameters.json").read_text())
    assert hyperparameters == request["HyperParameters"]
    data_config = json.loads((job_dir / "input" / "config" / "inputdataconfig.json").read_text())
    assert data_config["train"] == {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    }
    assert "done" in (job_dir / "logs.txt").read_text()


@pytest.mark.parametrize(
    ("raw", "args", "env"),
    [
        ({"flag": "true", "lr": "0.1", "x": "5"}, ["--flag", "True", "--lr", "0.1", "-x", "5"], {"SM_HP_FLAG": "true"}),
        ({"name": '"abc"'}, ["--name", "abc"], {"SM_HP_NAME": "abc"}),
        ({"plain": "not json"}, ["--plain", "not json"], {"SM_HP_PLAIN": "not json"}),
        ({"d": '{"b": 2, "a": 1}'}, ["-d", "b=2,a=1"], {"SM_HP_D": '{"a":1,"b":2}'}),
        ({"n": "null", "l": "[1, 2]"}, ["-l", "[1, 2]", "-n", ""], {"SM_HP_L": "[1,2]", "SM_HP_N": "null"}),
        ({"f": "false", "_tuning_objective_metric": "loss", "sagemaker_program": '"t.py"'}, ["-f", "False"], {}),
    ],
)
def test_hyperparameter_rendering(raw: dict[str, str], args: list[str], env: dict[str, str]) -> None:
    user, _framework = environment.split_hyperparameters(environment.decode_hyperparameters(raw))
    assert environment.to_cli_args(user) == args
    rendered = {f"SM_HP_{key.upper()}": environment.env_value(value) for key, value in user.items()}
    assert env.items() <= rendered.items()


def test_framework_parameters_are_set_apart() -> None:
    decoded = environment.decode_hyperparameters(
        {"sagemaker_mpi_enabled": "true", "sagemaker_program": '"a.py"', "a": "1"}
    )
    assert environment.split_hyperparameters(decoded) == ({"a": 1}, {"sagemaker_mpi_enabled": True})


METRICS_SCRIPT = """
import sys, time
for epoch in range(3):
    print(f"epoch={epoch}; loss={1.0 / (epoch + 1):.4f}; acc={0.5 + epoch / 10};")
print("loss=nan;")
time.sleep(0.3)  # stdout and stderr are read separately: keep their order unambiguous
print("acc=0.99;", file=sys.stderr)
"""


def test_metrics_are_captured_from_stdout_and_stderr(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": METRICS_SCRIPT}, tmp_path / "code")
    metrics = [{"Name": "loss", "Regex": "loss=(.*?);"}, {"Name": "acc", "Regex": "acc=([0-9.]+);"}]
    client.create_training_job(**training_request("job-metrics", source, metrics=metrics))
    description = settle(client, "training", "job-metrics")
    assert description["TrainingJobStatus"] == "Completed"
    final = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert final == {"loss": pytest.approx(1 / 3, abs=1e-4), "acc": 0.99}
    record = client.store.read("training-jobs", "job-metrics")
    assert [m["Value"] for m in record["private"]["metrics"] if m["MetricName"] == "loss"] == [1.0, 0.5, 0.3333]


def test_failure_file_becomes_the_failure_reason(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    script = (
        "import os, sys\n"
        "failure = os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure')\n"
        "open(failure, 'w').write('bad data: ' + 'x' * 2000)\n"
        "sys.exit(2)\n"
    )
    source = upload_code(client, {"train.py": script}, tmp_path / "code")
    client.create_training_job(**training_request("job-failure-file", source))
    description = settle(client, "training", "job-failure-file")
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith("bad data: xxx")
    assert len(description["FailureReason"]) == 1024


def test_nonzero_exit_gives_the_toolkit_error_text(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    script = "import sys\nprint('about to fail', file=sys.stderr)\nsys.exit(3)\n"
    source = upload_code(client, {"train.py": script}, tmp_path / "code")
    client.create_training_job(**training_request("job-exit", source, hyperparameters={"fail": "true"}))
    description = settle(client, "training", "job-exit")
    assert description["TrainingJobStatus"] == "Failed"
    reason = description["FailureReason"]
    assert reason.startswith('ExecuteUserScriptError:\nExitCode 3\nErrorMessage "about to fail"\nCommand "')
    assert reason.endswith('train.py --fail True"')


def test_hard_coded_opt_ml_paths_work_with_isolation(tmp_path: Path) -> None:
    if not isolation.isolation_enabled():
        pytest.skip("user namespaces are not available here")
    client = make_client(tmp_path / "root")
    script = "import shutil\nshutil.copy('/opt/ml/input/data/train/a.csv', '/opt/ml/model/copied.csv')\n"
    source = upload_code(client, {"train.py": script}, tmp_path / "code")
    upload_data(client, {"data/train/a.csv": "1,2\n"})
    request = training_request("job-hard-coded", source, channels={"train": f"s3://{BUCKET}/data/train"})
    client.create_training_job(**request)
    description = settle(client, "training", "job-hard-coded")
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    assert _model_files(client, description)["copied.csv"] == b"1,2\n"


SLEEP_SCRIPT = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"


def test_stop_training_job(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": SLEEP_SCRIPT}, tmp_path / "code")
    client.create_training_job(**training_request("job-stop", source))
    log = tmp_path / "root" / "jobs" / "training" / "job-stop" / "logs.txt"
    deadline = time.monotonic() + 20
    while not (log.is_file() and "started" in log.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    client.stop_training_job(TrainingJobName="job-stop")
    assert client.describe_training_job(TrainingJobName="job-stop")["TrainingJobStatus"] in {"Stopping", "Stopped"}
    description = settle(client, "training", "job-stop")
    assert description["TrainingJobStatus"] == "Stopped"
    assert time.monotonic() - started < 10
    with pytest.raises(ClientError) as error:
        client.stop_training_job(TrainingJobName="job-stop")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_max_runtime_stops_the_job(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    source = upload_code(client, {"train.py": SLEEP_SCRIPT}, tmp_path / "code")
    request = training_request("job-timeout", source)
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    client.create_training_job(**request)
    description = settle(client, "training", "job-timeout")
    assert description["TrainingJobStatus"] == "Stopped"
    assert description["SecondaryStatus"] == "MaxRuntimeExceeded"


def test_unknown_image_is_rejected_with_the_supported_list(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    request = training_request("job-image", "s3://bucket/code/sourcedir.tar.gz")
    request["AlgorithmSpecification"]["TrainingImage"] = "123.dkr.ecr.us-east-1.amazonaws.com/my-own:latest"
    with pytest.raises(ClientError) as error:
        client.create_training_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "sagemaker-scikit-learn" in error.value.response["Error"]["Message"]


def test_missing_code_fails_with_a_clear_reason(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    client.create_training_job(**training_request("job-no-code", f"s3://{BUCKET}/missing/sourcedir.tar.gz"))
    description = settle(client, "training", "job-no-code")
    assert description["TrainingJobStatus"] == "Failed"
    assert "missing/sourcedir.tar.gz does not exist" in description["FailureReason"]


def test_two_instances_run_one_process_per_host(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    script = (
        "import json, os\n"
        "path = os.path.join(os.environ['SM_MODEL_DIR'], 'host.json')\n"
        "json.dump({k: os.environ[k] for k in ('SM_HOSTS', 'SM_CURRENT_HOST')}, open(path, 'w'))\n"
    )
    source = upload_code(client, {"train.py": script}, tmp_path / "code")
    upload_data(client, {"data/train/a.csv": "1\n", "data/train/b.csv": "2\n"})
    request = training_request("job-hosts", source, channels={"train": f"s3://{BUCKET}/data/train"}, instance_count=2)
    client.create_training_job(**request)
    description = settle(client, "training", "job-hosts")
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    assert json.loads(_model_files(client, description)["host.json"]) == {
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-1",
    }
    second = tmp_path / "root" / "jobs" / "training" / "job-hosts" / "algo-2"
    assert json.loads((second / "model" / "host.json").read_text())["SM_CURRENT_HOST"] == "algo-2"
    assert json.loads((second / "input" / "config" / "resourceconfig.json").read_text())["current_host"] == "algo-2"


def test_invalid_metric_regex_is_rejected(tmp_path: Path) -> None:
    client = make_client(tmp_path / "root")
    request = training_request(
        "job-regex", "s3://bucket/code/sourcedir.tar.gz", metrics=[{"Name": "m", "Regex": "a=(["}]
    )
    with pytest.raises(ClientError) as error:
        client.create_training_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "metric m: invalid Regex" in error.value.response["Error"]["Message"]
