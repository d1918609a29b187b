"""Image URIs of the AWS framework containers, per framework, version, region, purpose and instance type.

The tables follow the SageMaker Python SDK's `image_uri_config/<framework>.json`: one `ImageTable` per framework and
image scope ("training", "inference", "inference_graviton"), each with its versions, ECR repository, tag format and the
account that publishes the image in each region. Another framework (xgboost, pytorch) is one more entry in `FRAMEWORKS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .config import is_gpu_instance
from .errors import UserError

PURPOSES = ("training", "inference", "processing")
LOCAL_ACCOUNT = "000000000000"
"""The account of the local executor's resources (its default bucket, role and the project's own image)."""
# (framework, version, region, purpose, instance type) -> image URI: `image_uri` below, or the SDK's lookup on AWS.
ImageResolver = Callable[[str, str, str, str, str], str]
GRAVITON_FAMILY = re.compile(r"^ml\.[a-z]+\d+g[a-z]*\.")


class ImageError(UserError, ValueError):
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
SKLEARN_INFERENCE_VERSIONS = ("0.20.0", "0.23-1", "1.0-1", "1.2-1", "1.4-2-py312", "1.9-0")
SKLEARN_TRAINING_VERSIONS = ("0.20.0", "0.23-1", "1.0-1", "1.2-1", "1.4-2", "1.4-2-py312", "1.9-0")
# `sagemaker-xgboost:<version>` (SDK image_uri_config/xgboost.json, versions 1.0-1 on: the scikit-learn accounts, one
# image for CPU and GPU, for script mode and for the built-in algorithm alike).
XGBOOST_VERSIONS = ("1.0-1", "1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5", "3.2-0")
XGBOOST_IMAGE = ImageTable("sagemaker-xgboost", XGBOOST_VERSIONS, SKLEARN_ACCOUNTS, "{version}", ("cpu", "gpu"))
# The AWS Deep Learning Containers `pytorch-training` / `pytorch-inference` (SDK image_uri_config/pytorch.json, version
# 2.6.0, py312; the training and Graviton images are not published in me-west-1). Other versions: set image_uri, or use
# the SDK lookup on AWS (aws/images.py).
PYTORCH_ACCOUNTS: Mapping[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-east-2": "975050140332",
    "ap-northeast-1": "763104351884",
    "ap-northeast-2": "763104351884",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "763104351884",
    "ap-south-2": "772153158452",
    "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437",
    "ca-central-1": "763104351884",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": "763104351884",
    "eu-central-2": "380420809688",
    "eu-north-1": "763104351884",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": "763104351884",
    "eu-west-2": "763104351884",
    "eu-west-3": "763104351884",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "me-west-1": "124382933778",
    "mx-central-1": "637423239942",
    "sa-east-1": "763104351884",
    "us-east-1": "763104351884",
    "us-east-2": "763104351884",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-west-1": "763104351884",
    "us-west-2": "763104351884",
}
PYTORCH_VERSIONS = ("2.6.0",)
PYTORCH_TRAINING_ACCOUNTS: Mapping[str, str] = {k: v for k, v in PYTORCH_ACCOUNTS.items() if k != "me-west-1"}

FRAMEWORKS: Mapping[str, Mapping[str, ImageTable]] = {
    "sklearn": {
        "training": ImageTable("sagemaker-scikit-learn", SKLEARN_TRAINING_VERSIONS, SKLEARN_ACCOUNTS),
        "inference": ImageTable("sagemaker-scikit-learn", SKLEARN_INFERENCE_VERSIONS, SKLEARN_ACCOUNTS),
        "inference_graviton": ImageTable(
            "sagemaker-scikit-learn",
            ("1.0-1",),
            SKLEARN_ACCOUNTS,
            tag_format="{version}-arm64-{processor}-{py_version}",
        ),
    },
    "xgboost": {"training": XGBOOST_IMAGE, "inference": XGBOOST_IMAGE},
    "pytorch": {
        "training": ImageTable(
            "pytorch-training",
            PYTORCH_VERSIONS,
            PYTORCH_TRAINING_ACCOUNTS,
            processors=("cpu", "gpu"),
            py_version="py312",
        ),
        "inference": ImageTable(
            "pytorch-inference", PYTORCH_VERSIONS, PYTORCH_ACCOUNTS, processors=("cpu", "gpu"), py_version="py312"
        ),
        "inference_graviton": ImageTable(
            "pytorch-inference-arm64",
            PYTORCH_VERSIONS,
            PYTORCH_TRAINING_ACCOUNTS,
            tag_format="{version}-{processor}-{py_version}-ubuntu22.04-sagemaker",
            py_version="py312",
        ),
    },
}


def is_graviton_instance(instance_type: str) -> bool:
    """True for the Arm (AWS Graviton) families such as ml.c6g, ml.m6gd, ml.c7g."""
    return bool(GRAVITON_FAMILY.match(instance_type))


def own_image_uri(account: str, region: str, repository: str, tag: str) -> str:
    """The project's own image in the account's ECR registry (where container/build_and_push.sh pushes it)."""
    return f"{account}.dkr.ecr.{region}.{ecr_domain(region)}/{repository}:{tag}"


def ecr_domain(region: str) -> str:
    """The ECR domain of a region's partition."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-isob-"):
        return "sc2s.sgov.gov"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    return "amazonaws.com"


def image_scope(purpose: str) -> str:
    """The SDK's image scope of a purpose: processing jobs use the training image, as SKLearnProcessor does."""
    if purpose not in PURPOSES:
        raise ImageError(f"image purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    return "training" if purpose == "processing" else purpose


def _scope(purpose: str, instance_type: str) -> str:
    """The table's scope: Arm (Graviton) instances have images of their own."""
    scope = image_scope(purpose)
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
