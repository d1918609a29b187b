"""config `security:`: network isolation, VPC, KMS keys and inter-container encryption reach every request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import PROJECT_ROOT
from test_local_helpers import make_client
from test_requests import MODE, RAW, ROLE, all_requests, assert_valid, factory

from sm_engine.config import ConfigError
from sm_engine.pipeline import PipelineBuilder
from sm_engine.sagemaker_requests import RequestFactory

SUBNETS = ["subnet-0123456789abcdef0", "subnet-89abcdef"]
GROUPS = ["sg-0123456789abcdef0"]
VOLUME_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OUTPUT_KEY = "alias/project-outputs"
VPC = {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
ENDPOINT_TYPE = RAW["endpoint"]["type"]
ISOLATION_FITS = MODE == "container" and not RAW["model"]["inference_pipeline"] and ENDPOINT_TYPE != "serverless"
"""Network isolation needs containers that load no code from S3: the own image serving alone."""


def _security(**values: Any) -> Any:
    def edit(data: dict[str, Any]) -> None:
        data["security"] = values

    return edit


def _all_options(data: dict[str, Any]) -> None:
    data["security"] = {
        "network_isolation": ISOLATION_FITS,
        "kms_key_id": VOLUME_KEY,
        "output_kms_key_id": OUTPUT_KEY,
        "encrypt_inter_container_traffic": True,
    }
    if ENDPOINT_TYPE != "serverless":
        data["security"]["vpc"] = {"subnets": SUBNETS, "security_groups": GROUPS}
        data["endpoint"]["data_capture"]["enabled"] = True


def _realtime(data: dict[str, Any]) -> None:
    data["endpoint"]["type"] = "realtime"


def _async(data: dict[str, Any]) -> None:
    data["endpoint"]["type"] = "async"


def test_every_request_validates_and_carries_the_options() -> None:
    requests = all_requests(factory(_all_options))
    for operation, params in requests.items():
        assert_valid(operation, params)
    with_vpc = ENDPOINT_TYPE != "serverless"
    network = {"EnableInterContainerTrafficEncryption": True, **({"VpcConfig": VPC} if with_vpc else {})}
    if ISOLATION_FITS:
        network["EnableNetworkIsolation"] = True
    processing = requests["CreateProcessingJob"]
    assert processing["NetworkConfig"] == network
    assert processing["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == VOLUME_KEY
    assert processing["ProcessingOutputConfig"]["KmsKeyId"] == OUTPUT_KEY
    training = requests["CreateTrainingJob"]
    definition = requests["CreateHyperParameterTuningJob"]["TrainingJobDefinition"]
    for job in (training, definition):
        assert {key: job[key] for key in network} == network
        assert job["ResourceConfig"]["VolumeKmsKeyId"] == VOLUME_KEY
        assert job["OutputDataConfig"]["KmsKeyId"] == OUTPUT_KEY
    model = requests["CreateModel"]
    assert model.get("VpcConfig") == (VPC if with_vpc else None)
    assert model.get("EnableNetworkIsolation") is (True if ISOLATION_FITS else None)
    assert "EnableInterContainerTrafficEncryption" not in model
    endpoint_config = requests["CreateEndpointConfig"]
    assert endpoint_config.get("KmsKeyId") == (VOLUME_KEY if ENDPOINT_TYPE != "serverless" else None)
    if with_vpc:
        assert endpoint_config["DataCaptureConfig"]["KmsKeyId"] == OUTPUT_KEY
    transform = requests["CreateTransformJob"]
    assert transform["TransformOutput"]["KmsKeyId"] == OUTPUT_KEY
    assert transform["TransformResources"]["VolumeKmsKeyId"] == VOLUME_KEY


@pytest.mark.skipif(ENDPOINT_TYPE == "serverless", reason="the async variant of an instance-based endpoint")
def test_async_output_is_encrypted_with_the_output_key() -> None:
    request = factory(_async, _security(output_kms_key_id=OUTPUT_KEY)).endpoint_config("config", "model")
    assert_valid("CreateEndpointConfig", request)
    assert request["AsyncInferenceConfig"]["OutputConfig"]["KmsKeyId"] == OUTPUT_KEY


def _named(requests: RequestFactory) -> dict[str, dict[str, Any]]:
    """Every request under fixed names, so that two factories can be compared."""
    return {
        "CreateProcessingJob": requests.processing_job("job"),
        "CreateTrainingJob": requests.training_job("job"),
        "CreateHyperParameterTuningJob": requests.tuning_job("job"),
        "CreateModel": requests.model("model", "s3://bucket/model.tar.gz", "s3://bucket/preprocessor.tar.gz"),
        "CreateEndpointConfig": requests.endpoint_config("config", "model"),
        "CreateTransformJob": requests.transform_job("job", "model"),
    }


def test_defaults_leave_the_requests_unchanged() -> None:
    explicit = _security(
        network_isolation=False, vpc=None, kms_key_id=None, output_kms_key_id="", encrypt_inter_container_traffic=False
    )
    assert _named(factory(explicit)) == _named(factory(lambda data: data.pop("security", None)))
    security_keys = {"NetworkConfig", "VpcConfig", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption"}
    for operation, params in all_requests(factory()).items():
        assert not security_keys & set(params), operation
        assert "KmsKeyId" not in str(params), operation


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"vpc": {"subnets": ["subnet-xyz"], "security_groups": GROUPS}}, "security.vpc.subnets.0"),
        ({"vpc": {"subnets": SUBNETS, "security_groups": ["group-1"]}}, "security.vpc.security_groups.0"),
        ({"vpc": {"subnets": [], "security_groups": GROUPS}}, "security.vpc.subnets"),
        ({"vpc": {"subnets": SUBNETS * 9, "security_groups": GROUPS}}, "security.vpc.subnets"),
        ({"vpc": {"subnets": SUBNETS, "security_groups": GROUPS * 6}}, "security.vpc.security_groups"),
        ({"vpc": {"subnets": SUBNETS}}, "security.vpc.security_groups"),
        ({"kms_key_id": "my key"}, "security.kms_key_id"),
        ({"output_kms_key_id": "arn:aws:s3:::bucket"}, "security.output_kms_key_id"),
        ({"network_isolation": "maybe"}, "security.network_isolation"),
        ({"encrypt_traffic": True}, "security.encrypt_traffic"),
    ],
)
def test_invalid_values_name_the_key(values: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"config: {key}: "):
        factory(_security(**values))


@pytest.mark.parametrize("key", ["1234abcd-12ab-34cd-56ef-1234567890ab", "alias/a/b_c-d", "mrk-" + "0" * 32])
def test_kms_key_forms(key: str) -> None:
    request = factory(_security(kms_key_id=key)).training_job("job")
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == key


def _serverless(data: dict[str, Any]) -> None:
    data["endpoint"]["type"] = "serverless"
    data["endpoint"]["variants"] = data["endpoint"]["variants"][:1]
    data["endpoint"]["data_capture"]["enabled"] = False
    data["endpoint"]["autoscaling"]["enabled"] = False
    data["model"]["inference_pipeline"] = False


@pytest.mark.skipif(MODE == "builtin", reason="the built-in algorithm needs an inference pipeline, serverless none")
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vpc": {"subnets": SUBNETS, "security_groups": GROUPS}}, r"security\.vpc: serverless endpoints"),
        ({"network_isolation": True}, r"security\.network_isolation: serverless endpoints"),
    ],
)
def test_serverless_endpoints_take_no_vpc_nor_isolation(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        factory(_serverless, _security(**values))


@pytest.mark.skipif(MODE != "script", reason="script mode loads its code from S3")
def test_network_isolation_rejects_code_loaded_from_s3() -> None:
    with pytest.raises(ConfigError, match=r"security\.network_isolation: in script mode .*sagemaker_submit_directory"):
        factory(_realtime, _security(network_isolation=True))


def test_network_isolation_rejects_the_preprocessor_container(own_image_config: dict[str, Any]) -> None:
    def pipeline(data: dict[str, Any]) -> None:
        data["model"]["inference_pipeline"] = True

    with pytest.raises(ConfigError, match=r"security\.network_isolation: the preprocessor container"):
        factory(_realtime, pipeline, _security(network_isolation=True), base=own_image_config)


def test_the_local_executor_accepts_the_options(tmp_path: Path) -> None:
    """It validates them with botocore and keeps them in the descriptions; it enforces none of them locally."""
    requests = factory(_all_options)
    client = make_client(tmp_path)
    model = requests.model("model", "s3://bucket/model.tar.gz", "s3://bucket/preprocessor.tar.gz")
    client.create_model(**model)
    client.create_endpoint_config(**requests.endpoint_config("config", "model"))
    described = client.describe_model(ModelName="model")
    assert described.get("VpcConfig") == model.get("VpcConfig")
    assert client.describe_endpoint_config(EndpointConfigName="config").get("KmsKeyId") == (
        VOLUME_KEY if ENDPOINT_TYPE != "serverless" else None
    )


def test_the_readme_policy_is_json_for_the_project_prefix() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Security", 1)[1].split("\n## ", 1)[0]
    policy = json.loads(re.search(r"```json\n(.*?)\n```", section, re.DOTALL).group(1))
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    prefix = RAW["project"]["prefix"]
    assert statements["ProjectObjects"]["Resource"].endswith(f":::{RAW['project']['bucket'] or '<bucket>'}/{prefix}/*")
    assert "ec2:CreateNetworkInterface" in statements["Vpc"]["Action"]


def test_the_pipeline_steps_carry_the_options() -> None:
    config = factory(_all_options).config
    steps = {step["Name"]: step for step in PipelineBuilder(config, "bucket", ROLE).definition()["Steps"]}
    processing = [step["Arguments"] for step in steps.values() if step["Type"] == "Processing"]
    assert len(processing) == 2  # Preprocess and Evaluate
    for arguments in processing:
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == OUTPUT_KEY
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == VOLUME_KEY
    (model_step,) = [step["Arguments"] for step in steps.values() if step["Type"] in ("Training", "Tuning")]
    model_step = model_step.get("TrainingJobDefinition", model_step)
    assert model_step["ResourceConfig"]["VolumeKmsKeyId"] == VOLUME_KEY
    assert model_step["EnableInterContainerTrafficEncryption"] is True
