"""AWS naming rules shared by the template's pre-generation hook and the config schema, so both accept the same
values. Standard library only: the hook loads this file from the template checkout before the engine is installed."""

from __future__ import annotations

import re

# Partition prefix, optional sub-partition, direction, number: us-east-1, us-gov-west-1, us-isob-east-1,
# eusc-de-east-1, ap-southeast-7.
REGION_PATTERN = re.compile(r"[a-z]{2,4}(-[a-z]{2,9}){1,2}-\d{1,2}", re.ASCII)
# ml.<family>.<size>; a family is letters, a generation digit, attribute letters and an optional suffix (p6-b200,
# c7i-flex, p6e-gb200), which admits the families AWS adds without a release of this file. tests/test_rules.py checks
# every instance type of botocore's SageMaker model against it.
INSTANCE_TYPE_PATTERN = re.compile(
    r"ml\.[a-z]+\d+[a-z]*(-[a-z0-9]+)?\.(\d*xlarge|large|medium|small|micro|nano|metal(-\d+xl)?)", re.ASCII
)
# arn:<partition>:iam::<account>:role/<path/><name>; a name has at most 64 characters.
ROLE_ARN_PATTERN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII)
ROLE_ARN_MAX_LENGTH = 2048

BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
IP_PATTERN = re.compile(r"\d{1,3}(\.\d{1,3}){3}", re.ASCII)
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def is_region(text: str) -> bool:
    return bool(REGION_PATTERN.fullmatch(text))


def is_instance_type(text: str) -> bool:
    return bool(INSTANCE_TYPE_PATTERN.fullmatch(text))


def is_role_arn(text: str) -> bool:
    return len(text) <= ROLE_ARN_MAX_LENGTH and bool(ROLE_ARN_PATTERN.fullmatch(text))


def bucket_problem(name: str) -> str | None:
    """What S3's bucket naming rules say against `name` (the text after the quoted name), or None."""
    if not BUCKET_PATTERN.fullmatch(name):
        return (
            "is not a valid bucket name; use 3-63 lowercase letters, digits, dots and hyphens, starting and ending "
            "with a letter or digit"
        )
    if ".." in name:
        return "has two adjacent dots; remove one"
    if IP_PATTERN.fullmatch(name):
        return "looks like an IP address; S3 does not allow that as a bucket name"
    if name.startswith(BUCKET_RESERVED_PREFIXES) or name.endswith(BUCKET_RESERVED_SUFFIXES):
        reserved = ", ".join(BUCKET_RESERVED_PREFIXES + BUCKET_RESERVED_SUFFIXES)
        return f"uses a prefix or suffix S3 reserves ({reserved}); choose another name"
    return None
