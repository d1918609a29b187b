"""config/project.yaml -> SageMaker requests that botocore's own service model accepts."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.model import Shape
from botocore.validate import ParamValidator
from helpers import CONFIG_PATH

from sm_engine.config import ConfigError, ProjectConfig, parse_config
from sm_engine.images import ImageError, image_uri
from sm_engine.names import MAX_TUNING_JOB_NAME_LENGTH, job_name
from sm_engine.sagemaker_requests import ProjectLocations, RequestError, RequestFactory

BUCKET = "example-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
SESSION = botocore.session.get_session()
SAGEMAKER = SESSION.get_service_model("sagemaker")
AUTOSCALING = SESSION.get_service_model("application-autoscaling")
RAW = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
PROJECT = RAW["project"]["name"]
ROOT = f"s3://{BUCKET}/{RAW['project']['prefix']}"
SKLEARN_TRAINING = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
MODE = RAW["training"].get("mode", "script")
VERSION = RAW["training"].get("framework_version", "1.9-0")
TRAINING_IMAGE = image_uri(RAW["training"]["framework"], VERSION, "us-east-1", "training", "ml.m5.large")
"""The image of the config's training framework (the model container serves with it too, but for pytorch)."""
MODEL_IMAGE = image_uri(RAW["training"]["framework"], VERSION, "us-east-1", "inference", "ml.m5.large")
CODE_IN_MODEL = RAW["training"]["framework"] == "pytorch"
"""The PyTorch inference container loads code/ from model.tar.gz (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)."""
script_mode = pytest.mark.skipif(
    MODE != "script", reason=f"mode {MODE}: tests/test_xgboost_builtin.py, or the own image's tests below"
)

Edit = Callable[[dict[str, Any]], None]


def make_config(*edits: Edit, base: dict[str, Any] = RAW) -> ProjectConfig:
    """The shipped config (or `base`) with these edits, in us-east-1."""
    data = copy.deepcopy(base)
    data["project"]["region"] = "us-east-1"
    for edit in edits:
        edit(data)
    return parse_config(data)


def factory(*edits: Edit, base: dict[str, Any] = RAW) -> RequestFactory:
    return RequestFactory(make_config(*edits, base=base), bucket=BUCKET, role_arn=ROLE)


def constraint_errors(value: Any, shape: Shape, path: str = "") -> Iterator[str]:
    """Max lengths, max values and patterns, which ParamValidator leaves out."""
    metadata = shape.metadata
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                yield from constraint_errors(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        if "max" in metadata and len(value) > metadata["max"]:
            yield f"{path}: {len(value)} items > {metadata['max']}"
        for index, item in enumerate(value):
            yield from constraint_errors(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map":
        if "max" in metadata and len(value) > metadata["max"]:
            yield f"{path}: {len(value)} entries > {metadata['max']}"
        for key, item in value.items():
            yield from constraint_errors(key, shape.key, f"{path} key {key}")
            yield from constraint_errors(item, shape.value, f"{path}[{key}]")
    elif shape.type_name == "string":
        if "max" in metadata and len(value) > metadata["max"]:
            yield f"{path}: {value!r} longer than {metadata['max']}"
        if "pattern" in metadata:
            try:
                pattern = re.compile(metadata["pattern"])
            except re.error:
                return
            if not pattern.fullmatch(value):
                yield f"{path}: {value!r} does not match {metadata['pattern']}"
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} not in {shape.enum}"
    elif shape.type_name in ("integer", "long", "float", "double") and "max" in metadata and value > metadata["max"]:
        yield f"{path}: {value} > {metadata['max']}"


def assert_valid(operation: str, params: dict[str, Any], service: Any = SAGEMAKER) -> None:
    shape = service.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    assert list(constraint_errors(params, shape)) == []


def all_requests(requests: RequestFactory) -> dict[str, dict[str, Any]]:
    base = requests.config.project.name
    model = job_name(base, "model")
    config_name = job_name(base, "config")
    return {
        "CreateProcessingJob": requests.processing_job(job_name(base, "process")),
        "CreateTrainingJob": requests.training_job(job_name(base, "train")),
        "CreateHyperParameterTuningJob": requests.tuning_job(
            job_name(base, "tune", max_length=MAX_TUNING_JOB_NAME_LENGTH)
        ),
        "CreateModel": requests.model(
            model,
            model_data_url=f"s3://{BUCKET}/models/job/output/model.tar.gz",
            preprocessor_data_url=f"s3://{BUCKET}/gold/preprocessor/model.tar.gz",
        ),
        "CreateEndpointConfig": requests.endpoint_config(config_name, model),
        "CreateEndpoint": requests.endpoint(job_name(base, "endpoint"), config_name),
        "CreateTransformJob": requests.transform_job(job_name(base, "transform"), model),
    }


def _no_pipeline(data: dict[str, Any]) -> None:
    data["model"]["inference_pipeline"] = False


def _pipeline(data: dict[str, Any]) -> None:
    data["model"]["inference_pipeline"] = True
    if data["endpoint"]["type"] == "serverless":
        data["endpoint"]["type"] = "realtime"


def _serverless(data: dict[str, Any]) -> None:
    _no_pipeline(data)
    data["endpoint"]["type"] = "serverless"
    data["endpoint"]["variants"] = data["endpoint"]["variants"][:1]


def _async_with_capture(data: dict[str, Any]) -> None:
    data["endpoint"]["type"] = "async"
    data["endpoint"]["data_capture"] = {"enabled": True, "sampling_percentage": 20}


def _serverless_provisioned(data: dict[str, Any]) -> None:
    _serverless(data)
    data["endpoint"]["serverless"] = {"memory_size_mb": 6144, "max_concurrency": 20, "provisioned_concurrency": 2}


def _async_with_topics(data: dict[str, Any]) -> None:
    data["endpoint"]["type"] = "async"
    data["endpoint"]["async"] = {
        "max_concurrent_invocations_per_instance": 10,
        "success_topic": "arn:aws:sns:us-east-1:123456789012:done",
        "error_topic": "arn:aws:sns:us-east-1:123456789012:failed",
    }
    data["endpoint"]["autoscaling"] = {"enabled": True, "min_capacity": 0, "max_capacity": 2}


def _two_variants(data: dict[str, Any]) -> None:
    data["endpoint"]["type"] = "realtime"
    variant = data["endpoint"]["variants"][0]
    data["endpoint"]["variants"] = [
        {**variant, "name": "A", "weight": 0.8},
        {**variant, "name": "B", "weight": 0.2, "initial_instance_count": 2},
    ]


def _grid(data: dict[str, Any]) -> None:
    data["tuning"]["strategy"] = "Grid"
    data["training"]["hyperparameters"]["criterion"] = "squared_error"  # a tuned name needs a declared default
    data["tuning"]["ranges"] = [
        {"name": "max_depth", "type": "Categorical", "values": [5, 10]},
        {"name": "criterion", "type": "Categorical", "values": ["squared_error", "absolute_error"]},
    ]


def _random_forest_ranges(data: dict[str, Any]) -> None:
    data["tuning"]["strategy"] = "Bayesian"  # numeric ranges (a Grid project's shipped ranges are categorical)
    data["training"]["hyperparameters"] = {
        "algorithm": "random_forest", "n_estimators": 100, "max_depth": 10, "max_features": 0.8, "random_state": 42,
    }  # fmt: skip
    data["tuning"]["ranges"] = [
        {"name": "n_estimators", "type": "Integer", "min": 50, "max": 300, "scaling": "Auto"},
        {"name": "max_features", "type": "Continuous", "min": 0.3, "max": 1.0, "scaling": "Linear"},
    ]


def _binary(data: dict[str, Any]) -> None:
    data["data"].update(problem_type="binary_classification", classes=["no", "yes"])


def _regression(data: dict[str, Any]) -> None:
    data["data"].update(problem_type="regression", classes=None)


def _hyperband(data: dict[str, Any]) -> None:
    data["tuning"]["strategy"] = "Hyperband"
    data["tuning"]["random_seed"] = None


def _custom_images_and_arguments(data: dict[str, Any]) -> None:
    data["processing"]["image_uri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    data["processing"]["arguments"] = {"seed": 7, "drop-outliers": True, "note": "x y"}
    data["processing"]["environment"] = {"LOG": "debug"}
    data["training"]["image_uri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:2"


VARIANTS: dict[str, tuple[Edit, ...]] = {
    "default": (),
    "pipeline": (_pipeline,),
    "no-pipeline": (_no_pipeline,),
    "serverless": (_serverless,),
    "serverless-provisioned": (_serverless_provisioned,),
    "async-capture": (_async_with_capture,),
    "async-topics": (_async_with_topics,),
    "two-variants": (_two_variants,),
    "grid": (_grid,),
    "hyperband": (_hyperband,),
    "custom": (_custom_images_and_arguments,),
}


NEED_A_SCRIPT = {"no-pipeline", "serverless", "serverless-provisioned"}
"""Variants without an inference pipeline: the built-in algorithm's container cannot serve raw rows."""


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_request_validates_against_botocore(variant: str) -> None:
    if RAW["training"].get("mode") == "builtin" and variant in NEED_A_SCRIPT:
        with pytest.raises(ConfigError, match=r"model\.inference_pipeline"):
            factory(*VARIANTS[variant])
        return
    for operation, params in all_requests(factory(*VARIANTS[variant])).items():
        assert_valid(operation, params)


def test_names_in_requests_fit_their_limits() -> None:
    requests = all_requests(factory())
    assert len(requests["CreateHyperParameterTuningJob"]["HyperParameterTuningJobName"]) <= 32
    for params in requests.values():
        for key, value in params.items():
            if key.endswith("Name") and isinstance(value, str):
                assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", value), (key, value)


def test_locations() -> None:
    locations = ProjectLocations.from_config(make_config(), bucket=BUCKET)
    root = ROOT
    assert locations.raw_data == f"{root}/bronze/raw"
    assert locations.sourcedir == f"{root}/code/sourcedir.tar.gz"
    assert locations.code_dir == f"{root}/code/jobs"
    assert locations.feature_split("test_raw") == f"{root}/gold/features/test_raw"
    assert locations.preprocessor_model == f"{root}/gold/preprocessor/model.tar.gz"
    assert locations.models == f"{root}/models"
    with pytest.raises(RequestError, match="unknown feature split"):
        locations.feature_split("holdout")


def test_processing_job_shape() -> None:
    request = factory().processing_job("mpg-process")
    inputs = {item["InputName"]: item["S3Input"] for item in request["ProcessingInputs"]}
    assert inputs["raw"]["LocalPath"] == "/opt/ml/processing/input/raw"
    assert inputs["code"]["S3Uri"].endswith("/code/jobs")
    assert inputs["code"]["LocalPath"] == "/opt/ml/processing/input/code"
    outputs = {item["OutputName"]: item["S3Output"] for item in request["ProcessingOutputConfig"]["Outputs"]}
    assert list(outputs) == ["train", "validation", "test", "test_raw", "preprocessor"]
    assert outputs["test_raw"]["LocalPath"] == "/opt/ml/processing/output/test_raw"
    assert {output["S3UploadMode"] for output in outputs.values()} == {"EndOfJob"}
    app = request["AppSpecification"]
    assert app["ImageUri"] == SKLEARN_TRAINING
    assert app["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/preprocess.py"]
    classes = RAW["data"]["classes"]
    assert app["ContainerArguments"] == [
        "--target", RAW["data"]["target"], *([] if classes is None else ["--classes", json.dumps(classes)]),
        "--validation-fraction", "0.15", "--test-fraction", "0.15", "--seed", "42",
    ]  # fmt: skip
    assert request["Tags"] == [{"Key": "project", "Value": PROJECT}]


def test_processing_arguments_and_custom_image_from_config() -> None:
    request = factory(_custom_images_and_arguments).processing_job("mpg-process")
    arguments = request["AppSpecification"]["ContainerArguments"]
    assert arguments[-6:] == ["--seed", "7", "--drop-outliers", "true", "--note", "x y"]
    assert request["AppSpecification"]["ImageUri"].endswith("/mine:1")
    assert request["Environment"] == {"LOG": "debug"}


@script_mode
def test_training_hyperparameters_are_json_encoded() -> None:
    request = factory().training_job("mpg-train")
    hyperparameters = request["HyperParameters"]
    for key, value in RAW["training"]["hyperparameters"].items():
        assert hyperparameters[key] == json.dumps(value)
    assert hyperparameters["sagemaker_program"] == json.dumps(RAW["training"]["entry_point"])
    assert hyperparameters["sagemaker_submit_directory"] == json.dumps(f"{ROOT}/code/sourcedir.tar.gz")
    assert hyperparameters["sagemaker_region"] == '"us-east-1"'
    assert hyperparameters["sagemaker_container_log_level"] == "20"
    assert all(isinstance(value, str) for value in hyperparameters.values())
    channels = {channel["ChannelName"]: channel for channel in request["InputDataConfig"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"].endswith("/gold/features/train")
    assert channels["validation"]["ContentType"] == "text/csv"
    assert request["AlgorithmSpecification"]["TrainingImage"] == TRAINING_IMAGE
    first = RAW["training"]["metric_definitions"][0]
    assert request["AlgorithmSpecification"]["MetricDefinitions"][0] == {"Name": first["name"], "Regex": first["regex"]}
    assert request["OutputDataConfig"]["S3OutputPath"] == f"{ROOT}/models"


@script_mode
def test_overriding_hyperparameters() -> None:
    requests = factory()
    hyperparameters = requests.training_job("t", {"n_estimators": 7, "criterion": "absolute_error", "flag": True})[
        "HyperParameters"
    ]
    assert hyperparameters["n_estimators"] == "7"
    assert hyperparameters["criterion"] == '"absolute_error"'
    assert hyperparameters["flag"] == "true"
    kept = next(iter(RAW["training"]["hyperparameters"]))  # a config value nobody overrode
    assert hyperparameters[kept] == json.dumps(RAW["training"]["hyperparameters"][kept])
    with pytest.raises(RequestError, match=r"'classes' is set from data\.classes"):
        requests.training_job("t", {"classes": "[1, 2]"})
    with pytest.raises(RequestError, match="sagemaker_program"):
        requests.training_job("t", {"sagemaker_program": "evil.py"})
    with pytest.raises(RequestError, match="longer than 2500"):
        requests.training_job("t", {"big": "x" * 3000})
    with pytest.raises(RequestError, match="at most 100"):
        requests.training_job("t", {f"h{index}": index for index in range(97)})


@script_mode
def test_tuning_ranges_are_typed_and_stringified() -> None:
    request = factory(_random_forest_ranges).tuning_job("mpg-tune")
    job_config = request["HyperParameterTuningJobConfig"]
    ranges = job_config["ParameterRanges"]
    assert ranges["IntegerParameterRanges"][0] == {
        "Name": "n_estimators",
        "MinValue": "50",
        "MaxValue": "300",
        "ScalingType": "Auto",
    }
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "max_features", "MinValue": "0.3", "MaxValue": "1.0", "ScalingType": "Linear"}
    ]
    assert ranges["CategoricalParameterRanges"] == []
    assert job_config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 2}
    objective = RAW["tuning"]["objective"]
    assert job_config["HyperParameterTuningJobObjective"] == {
        "Type": objective["type"],
        "MetricName": objective["metric"],
    }
    assert job_config["RandomSeed"] == 42
    static = request["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["random_state"] == "42"
    assert "n_estimators" not in static
    assert static["sagemaker_program"] == json.dumps(RAW["training"]["entry_point"])
    assert static["_tuning_objective_metric"] == objective["metric"]


def test_the_shipped_tuning_ranges_are_the_algorithms_hyperparameters() -> None:
    """Each range tunes a hyperparameter the config sets, so the untuned rest stays static."""
    hyperparameters = RAW["training"]["hyperparameters"]
    ranges = RAW["tuning"]["ranges"]
    assert ranges and all(item["name"] in hyperparameters for item in ranges)
    static = factory().tuning_job("mpg-tune")["TrainingJobDefinition"]["StaticHyperParameters"]
    assert set(hyperparameters) - {item["name"] for item in ranges} <= set(static)


@script_mode
def test_a_classifier_gets_its_classes_as_one_json_hyperparameter() -> None:
    request = factory(_binary).training_job("mpg-train")
    assert json.loads(request["HyperParameters"]["classes"]) == '["no", "yes"]'  # the script reads a JSON list
    static = factory(_binary).tuning_job("mpg-tune")["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["classes"] == request["HyperParameters"]["classes"]
    arguments = factory(_binary).processing_job("p")["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--classes") + 1] == '["no", "yes"]'
    regression = factory(_regression).training_job("mpg-train")["HyperParameters"]
    assert "classes" not in regression


def test_grid_tuning_uses_categorical_values_and_no_job_limit() -> None:
    job_config = factory(_grid).tuning_job("mpg-tune")["HyperParameterTuningJobConfig"]
    assert job_config["ParameterRanges"]["CategoricalParameterRanges"] == [
        {"Name": "max_depth", "Values": ["5", "10"]},
        {"Name": "criterion", "Values": ['"squared_error"', '"absolute_error"']},
    ]
    assert "MaxNumberOfTrainingJobs" not in job_config["ResourceLimits"]


def _builtin_xgboost(data: dict[str, Any]) -> None:
    data["training"].update(
        mode="builtin", framework="xgboost", framework_version="1.7-1", entry_point=None, metric_definitions=[]
    )
    data["training"]["hyperparameters"] = {"num_round": 10}
    data["tuning"]["ranges"] = [{"name": "num_round", "type": "Integer", "min": 5, "max": 20}]
    data["model"]["model_entry_point"] = None


def test_pipeline_hop_is_csv_for_an_images_own_serving_stack() -> None:
    """A built-in algorithm reads CSV, not the .npy that a script container gets from the preprocessor."""
    request = factory(_pipeline, _builtin_xgboost).model("m", "s3://b/model.tar.gz", "s3://b/preprocessor.tar.gz")
    preprocessor, model = request["Containers"]
    assert preprocessor["Environment"]["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "text/csv"
    assert "SAGEMAKER_PROGRAM" not in model.get("Environment", {})


@script_mode
def test_pipeline_model_has_two_containers() -> None:
    request = factory(_pipeline).model("mpg-model", "s3://b/model.tar.gz", "s3://b/preprocessor/model.tar.gz")
    assert request["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert "PrimaryContainer" not in request
    preprocessor, model = request["Containers"]
    sourcedir = f"{ROOT}/code/sourcedir.tar.gz"
    assert preprocessor["ModelDataUrl"] == "s3://b/preprocessor/model.tar.gz"
    assert preprocessor["Environment"]["SAGEMAKER_PROGRAM"] == "preprocessor_inference.py"
    assert preprocessor["Environment"]["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "application/x-npy"
    assert model["ModelDataUrl"] == "s3://b/model.tar.gz"
    assert model["Environment"]["SAGEMAKER_PROGRAM"] == RAW["model"]["model_entry_point"]
    assert model["Environment"]["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "application/json"
    assert preprocessor["Image"] == SKLEARN_TRAINING and model["Image"] == MODEL_IMAGE
    code = {"preprocessor": sourcedir, "model": "/opt/ml/model/code" if CODE_IN_MODEL else sourcedir}
    containers = {"preprocessor": preprocessor, "model": model}
    assert {name: item["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] for name, item in containers.items()} == code
    for container in (preprocessor, model):
        assert container["Environment"]["SAGEMAKER_REGION"] == "us-east-1"
        assert container["Environment"]["SAGEMAKER_CONTAINER_LOG_LEVEL"] == "20"
        assert container["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert request["ExecutionRoleArn"] == ROLE


@script_mode
def test_model_without_pipeline_has_one_container() -> None:
    request = factory(_no_pipeline).model("mpg-model", "s3://b/model.tar.gz", "s3://b/preprocessor/model.tar.gz")
    assert "Containers" not in request
    assert "InferenceExecutionConfig" not in request
    assert request["PrimaryContainer"]["ModelDataUrl"] == "s3://b/model.tar.gz"
    assert request["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == RAW["model"]["model_entry_point"]


def test_endpoint_config_variants_and_capture() -> None:
    request = factory(_two_variants).endpoint_config("mpg-config", "mpg-model")
    assert [(v["VariantName"], v["InitialVariantWeight"], v["InitialInstanceCount"]) for v in request[
        "ProductionVariants"
    ]] == [("A", 0.8, 1), ("B", 0.2, 2)]  # fmt: skip
    assert {v["ModelName"] for v in request["ProductionVariants"]} == {"mpg-model"}
    assert "DataCaptureConfig" not in request
    captured = factory(_async_with_capture).endpoint_config("mpg-config", "mpg-model")
    capture = captured["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == f"{ROOT}/capture"
    assert capture["InitialSamplingPercentage"] == 20
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert captured["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"].startswith(f"s3://{BUCKET}/")


@script_mode
def test_serverless_endpoint_config() -> None:
    (variant,) = factory(_serverless).endpoint_config("mpg-config", "mpg-model")["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "InitialVariantWeight" not in variant
    (variant,) = factory(_serverless_provisioned).endpoint_config("c", "m")["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 6144, "MaxConcurrency": 20, "ProvisionedConcurrency": 2}


def test_async_endpoint_config() -> None:
    config = factory(_async_with_topics).endpoint_config("mpg-config", "mpg-model")["AsyncInferenceConfig"]
    assert config == {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 10},
        "OutputConfig": {
            "S3OutputPath": f"{ROOT}/async-inference/output",
            "S3FailurePath": f"{ROOT}/async-inference/failure",
            "NotificationConfig": {
                "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:done",
                "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:failed",
            },
        },
    }
    plain = factory(lambda d: d["endpoint"].update(type="async")).endpoint_config("c", "m")["AsyncInferenceConfig"]
    assert "NotificationConfig" not in plain["OutputConfig"]
    realtime = factory(lambda d: d["endpoint"].update(type="realtime")).endpoint_config("c", "m")
    assert "AsyncInferenceConfig" not in realtime
    scaling = factory(_async_with_topics).autoscaling_requests("mpg-endpoint")
    assert scaling[0][1]["MinCapacity"] == 0  # an async endpoint may scale to zero
    for method, request in scaling:
        assert_valid("".join(part.capitalize() for part in method.split("_")), request, AUTOSCALING)


@script_mode
def test_without_a_pipeline_training_gets_the_preprocessor_channel() -> None:
    def channels(request: dict[str, Any]) -> dict[str, str]:
        return {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}

    with_pipeline = factory(_pipeline)
    assert set(channels(with_pipeline.training_job("t"))) == {"train", "validation"}
    requests = factory(_no_pipeline)
    for request in (requests.training_job("t"), requests.tuning_job("tune")["TrainingJobDefinition"]):
        assert channels(request)["preprocessor"] == f"{ROOT}/gold/preprocessor"


def test_transform_job_from_config() -> None:
    request = factory().transform_job("mpg-transform", "mpg-model")
    assert request["DataProcessing"] == {"InputFilter": "$[1:]", "OutputFilter": "$", "JoinSource": "Input"}
    assert request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].endswith("/gold/features/test_raw")
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformOutput"] == {
        "S3OutputPath": f"{ROOT}/transform/mpg-transform",
        "Accept": "text/csv",
        "AssembleWith": "Line",
    }
    assert (request["BatchStrategy"], request["MaxPayloadInMB"], request["MaxConcurrentTransforms"]) == (
        "MultiRecord",
        6,
        2,
    )


def test_autoscaling_requests_validate() -> None:
    requests = factory(_two_variants).autoscaling_requests("mpg-endpoint")
    assert [method for method, _ in requests] == ["register_scalable_target", "put_scaling_policy"] * 2
    operations = {"register_scalable_target": "RegisterScalableTarget", "put_scaling_policy": "PutScalingPolicy"}
    for method, params in requests:
        assert_valid(operations[method], params, AUTOSCALING)
    assert requests[0][1]["ResourceId"] == "endpoint/mpg-endpoint/variant/A"


@pytest.mark.parametrize(
    ("region", "purpose", "instance_type", "expected"),
    [
        ("us-east-1", "training", "ml.m5.large", SKLEARN_TRAINING),
        ("us-east-1", "processing", "ml.m5.large", SKLEARN_TRAINING),
        (
            "eu-west-1",
            "inference",
            "ml.c5.xlarge",
            "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3",
        ),
        (
            "cn-north-1",
            "inference",
            "ml.m5.large",
            "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-scikit-learn:1.9-0-cpu-py3",
        ),
    ],
)
def test_image_uri(region: str, purpose: str, instance_type: str, expected: str) -> None:
    assert image_uri("sklearn", "1.9-0", region, purpose, instance_type) == expected


def test_graviton_inference_image() -> None:
    uri = image_uri("sklearn", "1.0-1", "us-west-2", "inference", "ml.c7g.xlarge")
    assert uri == "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.0-1-arm64-cpu-py3"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("sklearn", "1.2-1", "xx-nowhere-1", "training", "ml.m5.large"), "no sklearn image in region 'xx-nowhere-1'"),
        (("sklearn", "9.9-9", "us-east-1", "training", "ml.m5.large"), "no training image version '9.9-9'"),
        (("tensorflow", "2.1", "us-east-1", "training", "ml.m5.large"), "no AWS image table for framework 'tens"),
        (("sklearn", "1.2-1", "us-east-1", "training", "ml.p3.2xlarge"), "CPU-only"),
        (("sklearn", "1.2-1", "us-east-1", "serving", "ml.m5.large"), "purpose 'serving'"),
        (("sklearn", "1.2-1", "us-east-1", "training", "ml.c6g.xlarge"), "Arm"),
        (("sklearn", "1.2-1", "us-east-1", "inference", "ml.c6g.xlarge"), "version '1.2-1'"),
    ],
)
def test_image_uri_errors(arguments: tuple[str, str, str, str, str], message: str) -> None:
    with pytest.raises(ImageError, match=re.escape(message)):
        image_uri(*arguments)


def test_the_own_image_trains_and_serves_without_the_toolkits_hyperparameters(own_image_config: dict[str, Any]) -> None:
    container = own_image_config["container"]
    own_image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{container['repository']}:{container['tag']}"
    requests = RequestFactory(
        make_config(base=own_image_config), bucket=BUCKET, role_arn=ROLE, account_id="123456789012"
    )
    training = requests.training_job("t")
    assert training["AlgorithmSpecification"]["TrainingImage"] == own_image
    assert training["AlgorithmSpecification"]["MetricDefinitions"]  # container/train prints the metric lines
    assert not [key for key in training["HyperParameters"] if key.startswith("sagemaker_")]
    assert json.loads(training["HyperParameters"]["algorithm"]) == "additive"
    tuning = requests.tuning_job("tune")["TrainingJobDefinition"]
    assert tuning["AlgorithmSpecification"]["TrainingImage"] == own_image
    model = requests.model("m", "s3://b/model.tar.gz", "s3://b/pre/model.tar.gz")
    served = (model.get("Containers") or [model.get("PrimaryContainer")])[-1]
    assert served["Image"] == own_image and "SAGEMAKER_PROGRAM" not in served["Environment"]
    processing = requests.processing_job("p")["AppSpecification"]["ImageUri"]
    assert processing == SKLEARN_TRAINING  # processing keeps the AWS scikit-learn image
    for operation, request in (("CreateTrainingJob", training), ("CreateModel", model)):
        assert_valid(operation, request)
    own_uri = "example.com/own/image:v2"
    edited = make_config(lambda data: data["container"].update(image_uri=own_uri), base=own_image_config)
    configured = RequestFactory(edited, bucket=BUCKET, role_arn=ROLE)
    assert configured.training_job("t")["AlgorithmSpecification"]["TrainingImage"] == own_uri
