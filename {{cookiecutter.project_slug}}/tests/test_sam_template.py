"""infra/template.yaml: valid for cfn-lint with the SAM translator, least privilege for the API's Lambda."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATE = PROJECT / "infra" / "template.yaml"
ENDPOINT_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/${EndpointName}"
CONFIG = yaml.safe_load((PROJECT / "config" / "project.yaml").read_text())
ASYNC = CONFIG["endpoint"]["type"] == "async"
INPUT_OBJECTS = "arn:${AWS::Partition}:s3:::${Bucket}/${AsyncInputPrefix}/*"
DEFAULT_BUCKET = {
    "Fn::If": ["UseDefaultBucket", {"Fn::Sub": "sagemaker-${AWS::Region}-${AWS::AccountId}"}, {"Ref": "DataBucket"}]
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE.read_text())  # long-form intrinsic functions (Fn::Sub): plain YAML


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = template["Resources"]["PredictFunctionRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in role["Properties"], "managed policies grant more than this function needs"
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


def test_cfn_lint_reports_no_errors() -> None:
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is in the dev extra")
    matches = api.lint_file(TEMPLATE, config=api.ManualArgs(regions=["us-east-1"]))
    errors = [f"{match.rule.id} line {match.linenumber}: {match.message}" for match in matches]
    assert not [error for error in errors if error.startswith("E")], errors


def test_role_may_only_invoke_the_endpoint_and_write_its_logs(template: dict[str, Any]) -> None:
    statements = role_statements(template)
    assert all(statement["Effect"] == "Allow" for statement in statements)
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in as_list(s["Action"]))]
    assert len(sagemaker) == 1
    invoke = "sagemaker:InvokeEndpointAsync" if ASYNC else "sagemaker:InvokeEndpoint"
    assert as_list(sagemaker[0]["Action"]) == [invoke]
    assert as_list(sagemaker[0]["Resource"]) == [{"Fn::Sub": ENDPOINT_ARN}]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    if ASYNC:  # the payload goes to S3 first: PutObject under the async input prefix, nothing else
        assert len(s3) == 1 and as_list(s3[0]["Action"]) == ["s3:PutObject"]
        assert as_list(s3[0]["Resource"]) == [{"Fn::Sub": [INPUT_OBJECTS, {"Bucket": DEFAULT_BUCKET}]}]
    else:
        assert s3 == []
    others = [s for s in statements if s is not sagemaker[0] and s not in s3]
    for statement in others:
        assert set(as_list(statement["Action"])) <= {"logs:CreateLogStream", "logs:PutLogEvents"}
        assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["PredictFunctionLogGroup", "Arn"]}]
    for statement in statements:
        for action in as_list(statement["Action"]):
            assert "*" not in action
        for resource in as_list(statement["Resource"]):
            assert resource != "*" and "*" not in str(resource).replace(INPUT_OBJECTS, "")


def test_function_behind_a_post_predict_proxy_route(template: dict[str, Any]) -> None:
    function = template["Resources"]["PredictFunction"]["Properties"]
    assert function["Handler"] == "app.lambda_handler"
    assert (TEMPLATE.parent / function["CodeUri"] / "app.py").is_file()
    assert function["Role"] == {"Fn::GetAtt": ["PredictFunctionRole", "Arn"]}
    assert function["Environment"]["Variables"]["ENDPOINT_NAME"] == {"Ref": "EndpointName"}
    if ASYNC:
        prefix = {"Fn::Sub": ["s3://${Bucket}/${AsyncInputPrefix}", {"Bucket": DEFAULT_BUCKET}]}
        assert function["Environment"]["Variables"]["ASYNC_INPUT_PREFIX"] == prefix
        default_prefix = template["Parameters"]["AsyncInputPrefix"]["Default"]
        assert default_prefix == f"{CONFIG['project']['prefix']}/async-inference/input"  # ProjectLocations.async_input
    else:
        assert "ASYNC_INPUT_PREFIX" not in function["Environment"]["Variables"]
    (event,) = function["Events"].values()
    assert event["Type"] == "Api"
    assert event["Properties"]["Method"].lower() == "post"
    assert event["Properties"]["Path"] == "/predict"
    assert template["Resources"][event["Properties"]["RestApiId"]["Ref"]]["Type"] == "AWS::Serverless::Api"
    assert "/predict" in template["Outputs"]["InvokeUrl"]["Value"]["Fn::Sub"]


def test_endpoint_name_parameter_is_lowercase_like_its_arn(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["EndpointName"]["AllowedPattern"]
    assert re.fullmatch(pattern, "{{ cookiecutter.project_slug | replace('_', '-') }}-endpoint-20240101-120000")
    assert not re.fullmatch(pattern, "Mixed-Case")
