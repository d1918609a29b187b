"""The naming rules shared by the template's hook and the config: real AWS names pass, malformed ones do not."""

from __future__ import annotations

import botocore.session
import pytest

from sm_engine import rules

INSTANCE_TYPE_SHAPES = (
    "TrainingInstanceType",
    "ProcessingInstanceType",
    "ProductionVariantInstanceType",
    "TransformInstanceType",
)


def botocore_instance_types() -> set[str]:
    """Every instance type that botocore's SageMaker model lists for jobs and endpoints."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {value for shape in INSTANCE_TYPE_SHAPES for value in model.shape_for(shape).enum}


def test_every_instance_type_of_the_sagemaker_model_is_accepted() -> None:
    types = botocore_instance_types()
    assert len(types) > 100
    assert sorted(t for t in types if not rules.is_instance_type(t)) == []


@pytest.mark.parametrize("text", ["ml.zz.qq", "ml.m5", "m5.large", "ML.M5.LARGE", "ml.m5.huge", "ml..large"])
def test_a_malformed_instance_type_is_refused(text: str) -> None:
    assert not rules.is_instance_type(text)


@pytest.mark.parametrize("text", ["us-east-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1", "ap-southeast-7"])
def test_regions_of_every_partition_are_accepted(text: str) -> None:
    assert rules.is_region(text)


@pytest.mark.parametrize("text", ["useast1", "US-EAST-1", "moon", "us-east-1\n", "us-east", "us-east-123"])
def test_a_malformed_region_is_refused(text: str) -> None:
    assert not rules.is_region(text)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("xn--bucket", "reserves"),
        ("sthree-data", "reserves"),
        ("data--x-s3", "reserves"),
        ("data-s3alias", "reserves"),
        ("my..bucket", "two adjacent dots"),
        ("192.168.0.1", "IP address"),
        ("Bad_Bucket", "not a valid bucket name"),
        ("ab", "not a valid bucket name"),
    ],
)
def test_a_bucket_name_s3_refuses_is_named(name: str, problem: str) -> None:
    assert problem in (rules.bucket_problem(name) or "")


def test_a_valid_bucket_has_no_problem() -> None:
    assert rules.bucket_problem("my-bucket.data-2024") is None


@pytest.mark.parametrize(
    ("arn", "valid"),
    [
        ("arn:aws:iam::123456789012:role/SageMakerRole", True),
        ("arn:aws-us-gov:iam::123456789012:role/service/SageMaker+x", True),
        ("arn:aws:iam::123456789012:role/", False),
        ("arn:aws:iam::123456789012:role//x", False),
        ("arn:aws:iam::123456789012:role/" + "n" * 65, False),
        ("arn:aws:iam::123456789012:user/alice", False),
        ("arn:aws:iam::12345:role/x", False),
    ],
)
def test_role_arns(arn: str, valid: bool) -> None:
    assert rules.is_role_arn(arn) is valid
