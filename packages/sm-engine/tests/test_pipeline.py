"""The SageMaker Pipelines definition, built offline, and the boto3 calls that upsert and start it."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from typer.testing import CliRunner

from sm_engine import backends
from sm_engine.config import ConfigError, PipelineCondition, ProjectConfig, parse_config
from sm_engine.images import LOCAL_ACCOUNT, image_uri
from sm_engine.local.validation import validate
from sm_engine.options import OptionError, parse_assignments
from sm_engine.pipeline import (
    COMPARISONS,
    NAME_KEYS,
    STEP_OPERATIONS,
    PipelineBuilder,
    ensure_model_package_group,
    start,
    threshold_parameter,
    upsert,
)
from sm_engine.pipeline_cli import pipeline_app
from sm_engine.sagemaker_requests import ProjectLocations

BUCKET = "example-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the pipeline definition must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def variant(config: ProjectConfig, **changes: Any) -> ProjectConfig:
    """The config with some sections' fields changed, e.g. tuning={"enabled": True}."""
    updates = {section: getattr(config, section).model_copy(update=fields) for section, fields in changes.items()}
    return config.model_copy(update=updates)


def all_steps(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every step by name, the condition's branches included."""
    found: dict[str, dict[str, Any]] = {}
    for step in steps:
        found[step["Name"]] = step
        if step["Type"] == "Condition":
            found.update(all_steps(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]))
    return found


def expressions(value: Any) -> list[dict[str, Any]]:
    """Every Get / Std:Join / Std:JsonGet expression in a value."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in EXPRESSIONS:
            return [value, *expressions(next(iter(value.values())))]
        return [found for item in value.values() for found in expressions(item)]
    if isinstance(value, list):
        return [found for item in value for found in expressions(item)]
    return []


def references(value: Any) -> set[str]:
    return {expression["Get"] for expression in expressions(value) if "Get" in expression}


def substituted(value: Any, key: str = "") -> Any:
    """Expressions replaced by a value of what they stand for at run time: a resource name or an S3 URI."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in EXPRESSIONS:
            return "pipeline-value" if key.endswith("Name") else "s3://placeholder/value"
        return {name: substituted(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [substituted(item, key) for item in value]
    return value


CONFIGS = {
    "train": {"tuning": {"enabled": False}},
    "tune": {"tuning": {"enabled": True}},
    "single-container": {"model": {"inference_pipeline": False}},
    "batch": {"endpoint": {"type": "batch"}},
}


@pytest.fixture(params=sorted(CONFIGS))
def definition(request: pytest.FixtureRequest, config: ProjectConfig) -> dict[str, Any]:
    return PipelineBuilder(variant(config, **CONFIGS[request.param]), BUCKET, ROLE).definition()


def test_definition_is_json_with_version_and_parameters(definition: dict[str, Any]) -> None:
    assert json.loads(json.dumps(definition)) == definition
    assert definition["Version"] == "2020-12-01"
    names = {item["Name"]: item for item in definition["Parameters"]}
    assert {"ProcessingInstanceType", "TrainingInstanceType", "InputDataUrl", "ModelApprovalStatus"} <= set(names)
    assert names["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
    assert names["InputDataUrl"]["DefaultValue"].startswith(f"s3://{BUCKET}/")
    used = {path.split(".", 1)[1] for path in references(definition["Steps"]) if path.startswith("Parameters.")}
    assert used == set(names), "every parameter is used and only declared ones are referenced"


def test_every_step_argument_validates_against_the_api(definition: dict[str, Any]) -> None:
    steps = all_steps(definition["Steps"])
    checked = 0
    for step in steps.values():
        operation = STEP_OPERATIONS.get(step["Type"])
        if operation is None:
            continue
        arguments = step["Arguments"]
        name_key = NAME_KEYS.get(operation)
        assert name_key not in arguments, f"{step['Name']}: the pipeline names its resources"
        request = substituted(arguments)
        if name_key:
            request[name_key] = "pipeline-step"
        validate(operation, request)
        checked += 1
    assert checked >= 5


def test_steps_chain_through_properties(config: ProjectConfig) -> None:
    realtime = variant(config, tuning={"enabled": False}, endpoint={"type": "realtime"})
    definition = PipelineBuilder(realtime, BUCKET, ROLE).definition()
    assert [step["Name"] for step in definition["Steps"]] == ["Preprocess", "Train", "Evaluate", "CheckMetric"]
    steps = all_steps(definition["Steps"])
    train = steps["Train"]["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]}
    assert channels["train"] == {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    assert train["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    preprocess = steps["Preprocess"]["Arguments"]
    assert preprocess["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstanceType"
    }
    raw = next(i for i in preprocess["ProcessingInputs"] if i["InputName"] == "raw")
    assert raw["S3Input"]["S3Uri"] == {"Get": "Parameters.InputDataUrl"}
    for name in ("Preprocess", "Train", "Evaluate"):
        assert steps[name]["CacheConfig"]["Enabled"] is True
        assert steps[name]["CacheConfig"]["ExpireAfter"].startswith("P")

    evaluate = steps["Evaluate"]
    assert evaluate["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1].endswith("/code/evaluate.py")
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in references(evaluate)
    assert evaluate["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    (condition,) = steps["CheckMetric"]["Arguments"]["Conditions"]
    assert condition["Type"] == COMPARISONS[config.pipeline.condition.comparison][0]
    assert condition["LeftValue"]["Std:JsonGet"] == {
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
        "Path": config.pipeline.condition.metric,
    }
    assert [s["Name"] for s in steps["CheckMetric"]["Arguments"]["IfSteps"]] == ["RegisterModel", "CreateModel"]
    assert [s["Type"] for s in steps["CheckMetric"]["Arguments"]["ElseSteps"]] == ["Fail"]


def test_every_step_reference_points_to_an_earlier_step(definition: dict[str, Any]) -> None:
    steps = all_steps(definition["Steps"])
    order = list(steps)
    for position, name in enumerate(order):
        own = steps[name]["Arguments"]["Conditions"] if steps[name]["Type"] == "Condition" else steps[name]
        for path in references(own):
            if path.startswith("Steps."):
                assert path.split(".")[1] in order[:position], f"{name} refers to {path}"
            else:
                assert path.split(".")[0] in ("Parameters", "Execution"), path


def test_registered_model_holds_both_containers_of_the_serial_pipeline(config: ProjectConfig) -> None:
    definition = PipelineBuilder(variant(config, model={"inference_pipeline": True}), BUCKET, ROLE).definition()
    steps = all_steps(definition["Steps"])
    register = steps["RegisterModel"]["Arguments"]
    assert register["ModelPackageGroupName"] == config.project.name
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    preprocessor, model = register["InferenceSpecification"]["Containers"]
    assert preprocessor["Environment"]["SAGEMAKER_PROGRAM"] == config.model.preprocessor_entry_point
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['preprocessor'].S3Output.S3Uri" in references(preprocessor)
    assert model["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"} or config.tuning.enabled
    created = steps["CreateModel"]["Arguments"]
    assert created["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert created["Containers"] == register["InferenceSpecification"]["Containers"]


def test_tuning_feeds_its_best_training_job(config: ProjectConfig) -> None:
    definition = PipelineBuilder(variant(config, tuning={"enabled": True}), BUCKET, ROLE).definition()
    assert [step["Type"] for step in definition["Steps"]][:2] == ["Processing", "Tuning"]
    evaluate = all_steps(definition["Steps"])["Evaluate"]
    assert "Steps.Tune.TrainingJobSummaries[0].TrainingJobName" in references(evaluate)


def test_transform_step_when_asked(config: ProjectConfig) -> None:
    definition = PipelineBuilder(
        variant(config, endpoint={"type": "realtime"}), BUCKET, ROLE, transform=True
    ).definition()
    transform = all_steps(definition["Steps"])["Transform"]["Arguments"]
    assert transform["ModelName"] == {"Get": "Steps.CreateModel.ModelName"}
    assert "Transform" not in all_steps(
        PipelineBuilder(variant(config, endpoint={"type": "realtime"}), BUCKET, ROLE).definition()["Steps"]
    )


def test_threshold_is_the_parameter_default(config: ProjectConfig) -> None:
    definition = PipelineBuilder(config, BUCKET, ROLE, threshold=3.5).definition()
    name = threshold_parameter(config.pipeline.condition.metric)
    (threshold,) = [p for p in definition["Parameters"] if p["Name"] == name]
    assert threshold == {"Name": name, "Type": "Float", "DefaultValue": 3.5}


# -- the `pipeline` section of the config ------------------------------------------------------------------------


def test_default_settings_register_on_test_rmse(config: ProjectConfig) -> None:
    """What the pipeline did before its settings moved to the config: RMSE <= 6, 30 days of cache, manual approval."""
    regression = variant(config, data={"problem_type": "regression"}, pipeline={"condition": PipelineCondition()})
    definition = PipelineBuilder(regression, BUCKET, ROLE).definition()
    steps = all_steps(definition["Steps"])
    defaults = {item["Name"]: item["DefaultValue"] for item in definition["Parameters"]}
    assert defaults["RmseThreshold"] == 6.0
    (condition,) = steps["CheckMetric"]["Arguments"]["Conditions"]
    assert condition["Type"] == "LessThanOrEqualTo"
    assert condition["RightValue"] == {"Get": "Parameters.RmseThreshold"}
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "regression_metrics.rmse.value"
    message = steps["Fail"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert message[2] == "is above RmseThreshold"
    assert steps["RegisterModel"]["Arguments"]["ModelPackageGroupName"] == config.project.name
    assert {steps[name]["CacheConfig"]["ExpireAfter"] for name in ("Preprocess", "Evaluate")} == {"P30D"}


def test_condition_comes_from_the_config(config: ProjectConfig) -> None:
    condition = PipelineCondition(metric="binary_classification_metrics.auc.value", comparison=">=", threshold=0.8)
    settings = variant(
        config,
        pipeline={
            "condition": condition,
            "approval_status": "Approved",
            "model_package_group": "mpg-models",
            "cache": config.pipeline.cache.model_copy(update={"expire_after": "PT12H"}),
        },
    )
    definition = PipelineBuilder(settings, BUCKET, ROLE).definition()
    steps = all_steps(definition["Steps"])
    defaults = {item["Name"]: item["DefaultValue"] for item in definition["Parameters"]}
    assert defaults["AucThreshold"] == 0.8
    assert "RmseThreshold" not in defaults
    assert defaults["ModelApprovalStatus"] == "Approved"
    (check,) = steps["CheckMetric"]["Arguments"]["Conditions"]
    assert check["Type"] == "GreaterThanOrEqualTo"
    assert check["LeftValue"]["Std:JsonGet"]["Path"] == "binary_classification_metrics.auc.value"
    assert check["RightValue"] == {"Get": "Parameters.AucThreshold"}
    assert "is below AucThreshold" in steps["Fail"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert steps["RegisterModel"]["Arguments"]["ModelPackageGroupName"] == "mpg-models"
    assert steps["Train" if "Train" in steps else "Tune"]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}


def test_cache_off_and_transform_from_the_config(config: ProjectConfig) -> None:
    cache = config.pipeline.cache.model_copy(update={"enabled": False})
    settings = variant(config, endpoint={"type": "realtime"}, pipeline={"cache": cache, "batch_transform": True})
    steps = all_steps(PipelineBuilder(settings, BUCKET, ROLE).definition()["Steps"])
    assert "Transform" in steps
    assert not [name for name, step in steps.items() if "CacheConfig" in step]
    assert "Transform" not in all_steps(PipelineBuilder(settings, BUCKET, ROLE, transform=False).definition()["Steps"])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("regression_metrics.rmse.value", "RmseThreshold"),
        ("binary_classification_metrics.auc.value", "AucThreshold"),
        ("multiclass_classification_metrics.weighted_f1.value", "WeightedF1Threshold"),
        ("metrics[0].accuracy", "AccuracyThreshold"),
    ],
)
def test_threshold_parameter_is_named_after_the_metric(path: str, expected: str) -> None:
    assert threshold_parameter(path) == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("approval_status", "Maybe", "pipeline.approval_status"),
        ("model_package_group", "bad_name", "pipeline.model_package_group: use letters, digits"),
        ("cache", {"enabled": True, "expire_after": "30 days"}, "not an ISO 8601 duration"),
        ("cache", {"enabled": True, "expire_after": "PT"}, "not an ISO 8601 duration"),
        ("condition", {"metric": "rmse value", "comparison": "<=", "threshold": 1}, "not a JSON path"),
        ("condition", {"metric": "a.b", "comparison": "=<", "threshold": 1}, "pipeline.condition.comparison"),
        ("typo", True, "pipeline.typo: unknown key"),
    ],
)
def test_bad_pipeline_settings_are_named(project_root: Path, key: str, value: Any, message: str) -> None:
    import yaml

    data = yaml.safe_load((project_root / "config" / "project.yaml").read_text())
    data["pipeline"][key] = value
    with pytest.raises(ConfigError) as error:
        parse_config(data, "project.yaml")
    assert message in str(error.value)


def test_name_value_options_share_one_parser() -> None:
    assert parse_assignments(["a=8", "b=0.5", "c=x", "d="], "--p", "a=1", typed=True) == {
        "a": 8,
        "b": 0.5,
        "c": "x",
        "d": "",
    }
    assert parse_assignments(["Size=ml.m5.xlarge", "T=4.5"], "--p", "a=1") == {"Size": "ml.m5.xlarge", "T": "4.5"}
    for bad in ("novalue", "=1"):
        with pytest.raises(OptionError, match=r"--p '.*': expected name=value, e.g. --p a=1"):
            parse_assignments([bad], "--p", "a=1")


# -- boto3 calls -------------------------------------------------------------------------------------------------


@pytest.fixture
def sagemaker() -> Any:
    import boto3

    return boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def not_found(stubber: Stubber, method: str) -> None:
    stubber.add_client_error(method, service_error_code="ResourceNotFound", service_message="not found")


def test_upsert_creates_then_updates(sagemaker: Any, config: ProjectConfig) -> None:
    definition = PipelineBuilder(config, BUCKET, ROLE).definition()
    body = json.dumps(definition)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
    with Stubber(sagemaker) as stubber:
        not_found(stubber, "describe_pipeline")
        stubber.add_response(
            "create_pipeline",
            {"PipelineArn": arn},
            {"PipelineName": "p", "PipelineDefinition": body, "RoleArn": ROLE},
        )
        assert upsert(definition, sagemaker, "p", ROLE) == arn
        stubber.add_response("describe_pipeline", {"PipelineArn": arn})
        stubber.add_response(
            "update_pipeline", {"PipelineArn": arn}, {"PipelineName": "p", "PipelineDefinition": body, "RoleArn": ROLE}
        )
        assert upsert(definition, sagemaker, "p", ROLE) == arn
        stubber.assert_no_pending_responses()


def test_upsert_reraises_other_errors(sagemaker: Any, config: ProjectConfig) -> None:
    with Stubber(sagemaker) as stubber:
        stubber.add_client_error("describe_pipeline", service_error_code="AccessDeniedException")
        with pytest.raises(ClientError):
            upsert(PipelineBuilder(config, BUCKET, ROLE).definition(), sagemaker, "p", ROLE)


def test_start_passes_parameters_as_strings(sagemaker: Any) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc"
    with Stubber(sagemaker) as stubber:
        stubber.add_response(
            "start_pipeline_execution",
            {"PipelineExecutionArn": arn},
            {
                "PipelineName": "p",
                "PipelineParameters": [{"Name": "RmseThreshold", "Value": "4.5"}],
            },
        )
        assert start(sagemaker, "p", {"RmseThreshold": 4.5}) == arn


def test_model_package_group_created_once(sagemaker: Any) -> None:
    with Stubber(sagemaker) as stubber:
        stubber.add_client_error("describe_model_package_group", service_error_code="ValidationException")
        stubber.add_response(
            "create_model_package_group",
            {"ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"},
            {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "d"},
        )
        assert ensure_model_package_group(sagemaker, "g", "d") is True
        stubber.add_response(
            "describe_model_package_group",
            {
                "ModelPackageGroupName": "g",
                "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g",
                "CreationTime": "2024-01-01T00:00:00Z",
                "CreatedBy": {},
                "ModelPackageGroupStatus": "Completed",
            },
        )
        assert ensure_model_package_group(sagemaker, "g", "d") is False


# -- the `pipeline` commands -------------------------------------------------------------------------------------


@pytest.fixture
def config_path(project_root: Path) -> Path:
    return project_root / "config" / "project.yaml"


def test_definition_command_prints_the_json_offline(config_path: Path, config: ProjectConfig) -> None:
    result = CliRunner().invoke(pipeline_app, ["definition", "--config", str(config_path), "--threshold", "4"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["Steps"][0]["Name"] == "Preprocess"
    defaults = {item["Name"]: item["DefaultValue"] for item in printed["Parameters"]}
    assert defaults[threshold_parameter(config.pipeline.condition.metric)] == 4.0
    if not config.project.bucket:
        assert "<account-id>" in defaults["InputDataUrl"]


def test_upsert_without_credentials_is_a_clean_error(
    config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(variable, str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    for command in ("upsert", "start"):
        result = CliRunner().invoke(pipeline_app, [command, "--config", str(config_path)])
        assert result.exit_code == 1, result.output
        assert "no AWS credentials found" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_start_rejects_a_malformed_parameter(config_path: Path) -> None:
    result = CliRunner().invoke(pipeline_app, ["start", "--config", str(config_path), "-p", "RmseThreshold"])
    assert result.exit_code == 1
    assert "expected name=value" in result.output


def test_start_rejects_an_undeclared_parameter(config_path: Path) -> None:
    arguments = ["start", "--config", str(config_path), "-p", "Threshold=4"]
    result = CliRunner().invoke(pipeline_app, arguments, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps lines at the terminal's width
    assert "unknown pipeline parameter Threshold: declared are ProcessingInstanceType" in output
    assert "Traceback" not in result.output


def test_upsert_command_creates_group_and_pipeline(
    config_path: Path, config: ProjectConfig, sagemaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = SimpleNamespace(
        sagemaker=sagemaker, bucket=BUCKET, role_arn=ROLE, images=image_uri, account_id=LOCAL_ACCOUNT
    )
    monkeypatch.setattr(backends, "make_backend", lambda *_args, aws: backend)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
    data_file = config_path.parent.parent / config.data.local_path
    data_url = ProjectLocations.from_config(config, BUCKET).raw_data_object(data_file)
    with Stubber(sagemaker) as stubber:
        stubber.add_client_error("describe_model_package_group", service_error_code="ValidationException")
        stubber.add_response(
            "create_model_package_group",
            {"ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"},
        )
        not_found(stubber, "describe_pipeline")
        stubber.add_response(
            "create_pipeline",
            {"PipelineArn": arn},
            {
                "PipelineName": f"{config.project.name}-pipeline",
                "PipelineDefinition": json.dumps(
                    PipelineBuilder(config, BUCKET, ROLE, input_data_url=data_url).definition()
                ),
                "RoleArn": ROLE,
            },
        )
        result = CliRunner().invoke(pipeline_app, ["upsert", "--config", str(config_path), "--no-upload"])
        assert result.exit_code == 0, result.output
        stubber.assert_no_pending_responses()
    assert arn in result.output
