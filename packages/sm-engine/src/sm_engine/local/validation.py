"""Request validation against botocore's SageMaker service model, worded as the service words it."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

from ..errors import ValidationException

ACCOUNT = "000000000000"


@cache
def service_model() -> ServiceModel:
    """The SageMaker service model shipped with botocore (loaded once)."""
    return botocore.session.get_session().get_service_model("sagemaker")


@cache
def operation_model(operation: str) -> OperationModel:
    """The model of one operation, by its API name (`CreateTrainingJob`)."""
    return service_model().operation_model(operation)


def _constraint_errors(params: dict[str, Any], shape: Any) -> list[str]:
    """The service's own checks botocore leaves out: length and pattern of top-level strings (names, ARNs)."""
    errors = []
    for key, value in params.items():
        member = shape.members.get(key)
        if member is None or member.type_name != "string" or not isinstance(value, str):
            continue
        field = key[0].lower() + key[1:]
        limit, pattern = member.metadata.get("max"), member.metadata.get("pattern")
        if limit is not None and len(value) > limit:
            errors.append(
                f"Value '{value}' at '{field}' failed to satisfy constraint: Member must have length less "
                f"than or equal to {limit}"
            )
        elif pattern is not None and _fullmatch(pattern, value) is False:
            errors.append(
                f"Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {pattern}"
            )
    return errors


def _fullmatch(pattern: str, value: str) -> bool | None:
    """Whether `value` matches the (Java) pattern entirely; None when Python cannot compile the pattern."""
    try:
        return re.fullmatch(pattern, value, flags=re.DOTALL) is not None
    except re.error:
        return None


def validate(operation: str, params: dict[str, Any]) -> None:
    """Raise ValidationException when `params` do not fit the operation.

    First botocore's own report (missing or unknown keys, wrong types), then the length and pattern constraints
    the service checks, worded like the service ("1 validation error detected: ...").
    """
    shape = operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise ValidationException(report.generate_report())
    errors = _constraint_errors(params, shape)
    if errors:
        count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
        raise ValidationException(count + "; ".join(errors))


def response_metadata() -> dict[str, Any]:
    """The ResponseMetadata every boto3 response carries."""
    return {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}


def arn(region: str, kind: str, name: str) -> str:
    """`arn:aws:sagemaker:<region>:000000000000:<kind>/<lowercase name>` as the service writes them."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"
