"""Image URIs of the AWS framework containers, per framework, version, region, purpose and instance type.

The tables follow the SageMaker Python SDK's `image_uri_config/<framework>.json`: one `ImageTable` per framework and
image scope ("training", "inference", "inference_graviton"), each with its versions, ECR repository, tag format and the
account that publishes the image in each region. Another framework (xgboost, pytorch) is one more entry in `FRAMEWORKS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .config import is_gpu_instance

PURPOSES = ("training", "inference", "processing")
GRAVITON_FAMILY = re.compile(r"^ml\.[a-z]+\d+g[a-z]*\.")


class ImageError(ValueError):
    """No AWS image matches the request; the message says what is available."""


@dataclass(frozen=True)
class ImageTable:
    """The images of one framework for one scope."""

    repository: str
    versions: tuple[str, ...]
    registries: Mapping[str, str]
    tag_format: str = "{version}-{processor}-{py_version}"
    processors: tuple[str, ...] = ("cpu",)
    py_version: str = "py3"


# Accounts of the `sagemaker-scikit-learn` images (SDK image_uri_config/sklearn.json; the same for every version).
SKLEARN_ACCOUNTS: Mapping[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}
SKLEARN_VERSIONS = ("0.20.0", "0.23-1", "1.0-1", "1.2-1")

FRAMEWORKS: Mapping[str, Mapping[str, ImageTable]] = {
    "sklearn": {
        "training": ImageTable("sagemaker-scikit-learn", SKLEARN_VERSIONS, SKLEARN_ACCOUNTS),
        "inference": ImageTable("sagemaker-scikit-learn", SKLEARN_VERSIONS, SKLEARN_ACCOUNTS),
        "inference_graviton": ImageTable(
            "sagemaker-scikit-learn",
            ("1.0-1",),
            SKLEARN_ACCOUNTS,
            tag_format="{version}-arm64-{processor}-{py_version}",
        ),
    },
}


def is_graviton_instance(instance_type: str) -> bool:
    """True for the Arm (AWS Graviton) families such as ml.c6g, ml.m6gd, ml.c7g."""
    return bool(GRAVITON_FAMILY.match(instance_type))


def ecr_domain(region: str) -> str:
    """The ECR domain of a region's partition."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-isob-"):
        return "sc2s.sgov.gov"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    return "amazonaws.com"


def _scope(purpose: str, instance_type: str) -> str:
    """Processing jobs use the training image, as the SDK's SKLearnProcessor does; Arm instances their own images."""
    if purpose not in PURPOSES:
        raise ImageError(f"image purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    scope = "training" if purpose == "processing" else purpose
    return f"{scope}_graviton" if is_graviton_instance(instance_type) else scope


def _table(framework: str, scope: str, instance_type: str) -> ImageTable:
    scopes = FRAMEWORKS.get(framework)
    if scopes is None:
        raise ImageError(
            f"no AWS image table for framework {framework!r} (known: {', '.join(FRAMEWORKS)}); set image_uri instead"
        )
    table = scopes.get(scope)
    if table is None:
        kind = "Arm (Graviton)" if scope.endswith("_graviton") else scope
        raise ImageError(f"AWS publishes no {kind} {framework} image for {instance_type}: choose another instance type")
    return table


def image_uri(framework: str, version: str, region: str, purpose: str, instance_type: str) -> str:
    """The ECR URI of the AWS image.

    `image_uri("sklearn", "1.2-1", "us-east-1", "training", "ml.m5.large")` ->
    `683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3`.
    """
    scope = _scope(purpose, instance_type)
    table = _table(framework, scope, instance_type)
    if version not in table.versions:
        raise ImageError(
            f"{framework} has no {scope} image version {version!r} (available: {', '.join(table.versions)}); "
            "fix framework_version or set image_uri"
        )
    account = table.registries.get(region)
    if account is None:
        raise ImageError(
            f"AWS publishes no {framework} image in region {region!r} "
            f"(available: {', '.join(sorted(table.registries))}); set image_uri instead"
        )
    processor = "gpu" if is_gpu_instance(instance_type) else "cpu"
    if processor not in table.processors:
        raise ImageError(
            f"{framework} images are CPU-only: {instance_type} is a GPU instance type; use e.g. ml.m5.large"
        )
    tag = table.tag_format.format(version=version, processor=processor, py_version=table.py_version)
    return f"{account}.dkr.ecr.{region}.{ecr_domain(region)}/{table.repository}:{tag}"
