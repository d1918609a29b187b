"""The Lambda handler (api/app.py) against a real sagemaker-runtime client whose calls are stubbed (no network)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import app
import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from sm_engine.lambda_local import api_gateway_event

ENDPOINT = "mpg-internal-endpoint-7"
CSV_BODY = "1.5,20,300,4000,5,60,7\n"


def event(body: str | None = CSV_BODY, content_type: str = "text/csv", method: str = "POST", **extra) -> dict:
    """A REST API proxy-integration event (contract §8), as the local workflow builds it, with test overrides."""
    built = api_gateway_event(body, content_type, method)
    built["headers"].update(extra.pop("headers", {}))
    built["multiValueHeaders"] = {key: [value] for key, value in built["headers"].items()}
    return {**built, **extra}


def streaming(payload: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(payload), len(payload))


@pytest.fixture
def runtime():
    return boto3.client(
        "sagemaker-runtime", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def stubber(runtime) -> Iterator[Stubber]:
    with Stubber(runtime) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_call(
    stubber: Stubber, body: bytes, content_type: str = "text/csv", accept: str = "application/json"
) -> None:
    stubber.add_response(
        "invoke_endpoint",
        {"Body": streaming(b'{"predictions": [17.5]}'), "ContentType": "application/json"},
        {"EndpointName": ENDPOINT, "ContentType": content_type, "Accept": accept, "Body": body},
    )


def model_error(stubber: Stubber, original_status: int, original_message: str) -> None:
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message=f'Received client error ({original_status}) from primary with message "{original_message}"',
        http_status_code=424,
        modeled_fields={
            "OriginalStatusCode": original_status,
            "OriginalMessage": original_message,
            "LogStreamArn": f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{ENDPOINT}",
        },
    )


def error_of(response: dict) -> str:
    """The error message of a response; it must be a clean JSON body that names nothing internal."""
    assert response["headers"]["Content-Type"] == "application/json"
    payload = json.loads(response["body"])
    assert list(payload) == ["error"]
    for secret in ("Traceback", 'File "', ENDPOINT, "123456789012", "arn:aws"):
        assert secret not in response["body"]
    return payload["error"]


def test_csv_is_forwarded_and_the_answer_returned(runtime, stubber) -> None:
    expect_call(stubber, CSV_BODY.encode())
    response = app.handle(event(), runtime, ENDPOINT)
    assert response == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"predictions": [17.5]}',
    }


def test_base64_bodies_are_decoded(runtime, stubber) -> None:
    expect_call(stubber, CSV_BODY.encode())
    encoded = base64.b64encode(CSV_BODY.encode()).decode()
    assert app.handle(event(encoded, isBase64Encoded=True), runtime, ENDPOINT)["statusCode"] == 200


def test_json_with_a_charset_and_a_csv_accept(runtime, stubber) -> None:
    body = json.dumps({"instances": [[1.5, 20, 300, 4000, 5, 60, 7]]})
    expect_call(stubber, body.encode(), content_type="application/json", accept="text/csv")
    request = event(body, "application/json; charset=utf-8", headers={"Accept": "text/csv"})
    assert app.handle(request, runtime, ENDPOINT)["statusCode"] == 200


@pytest.mark.parametrize(
    ("request_event", "status", "fragment"),
    [
        (event(method="GET"), 405, "use POST"),
        (event(body=None), 400, "no body"),
        (event(body=""), 400, "no body"),
        (event(body="   \n"), 400, "empty"),
        (event(body="not base64!", isBase64Encoded=True), 400, "not valid base64"),
        (event('{"instances": [[1.5, 20', "application/json"), 400, "not valid JSON"),
        (event(content_type="application/x-www-form-urlencoded"), 415, "unsupported Content-Type"),
        (event(headers={"Content-Type": ""}), 415, "unsupported Content-Type"),
        (event(headers={"Accept": "image/png"}), 406, "unsupported Accept"),
        (event("1" * (6 * 1024 * 1024 + 1)), 413, "the limit is 6291456 bytes"),
    ],
)
def test_bad_requests_never_reach_the_endpoint(runtime, stubber, request_event, status, fragment) -> None:
    response = app.handle(request_event, runtime, ENDPOINT)
    assert response["statusCode"] == status
    assert fragment in error_of(response)


def test_get_is_answered_with_allow(runtime, stubber) -> None:
    assert app.handle(event(method="GET"), runtime, ENDPOINT)["headers"]["Allow"] == "POST"


def test_a_model_4xx_becomes_400_with_the_models_message(runtime, stubber) -> None:
    model_error(stubber, 400, json.dumps({"error": "row 1 has 3 columns, expected 7"}))
    response = app.handle(event("1.5,20,300\n"), runtime, ENDPOINT)
    assert response["statusCode"] == 400
    assert error_of(response) == "row 1 has 3 columns, expected 7"


def test_a_model_5xx_becomes_502_without_its_details(runtime, stubber) -> None:
    model_error(stubber, 500, 'Traceback (most recent call last):\n  File "/opt/ml/code/model_inference.py"\nKeyError')
    response = app.handle(event(), runtime, ENDPOINT)
    assert response["statusCode"] == 502
    assert error_of(response) == "the model failed to answer"


@pytest.mark.parametrize(
    ("code", "http_status", "message", "status"),
    [
        ("ValidationError", 400, f"Endpoint {ENDPOINT} of account 123456789012 not found.", 404),
        ("ValidationError", 400, "1 validation error detected", 400),
        ("ThrottlingException", 400, "Rate exceeded", 429),
        ("ModelNotReadyException", 429, "Model not ready", 429),
        ("ServiceUnavailable", 503, "try later", 503),
        ("InternalFailure", 500, f"failure in {ENDPOINT}", 500),
    ],
)
def test_service_errors_map_to_statuses(runtime, stubber, code, http_status, message, status) -> None:
    stubber.add_client_error("invoke_endpoint", code, message, http_status_code=http_status)
    response = app.handle(event(), runtime, ENDPOINT)
    assert response["statusCode"] == status
    error_of(response)


class FailingRuntime:
    """A runtime client whose call raises; for failures the Stubber cannot produce."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def invoke_endpoint(self, **_request) -> dict:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ReadTimeoutError(endpoint_url=f"https://runtime.sagemaker/endpoints/{ENDPOINT}"), 504),
        (EndpointConnectionError(endpoint_url=f"https://runtime.sagemaker/endpoints/{ENDPOINT}"), 504),
        (RuntimeError(f"secret detail about {ENDPOINT}"), 500),
    ],
)
def test_timeouts_and_unexpected_failures(error: Exception, status: int, caplog) -> None:
    response = app.handle(event(), FailingRuntime(error), ENDPOINT)
    assert response["statusCode"] == status
    error_of(response)
    assert ENDPOINT in caplog.text  # the details are logged, not returned


def test_lambda_handler_uses_the_configured_endpoint_and_one_cached_client(runtime, stubber, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    app.runtime_client.cache_clear()
    try:
        assert app.runtime_client() is app.runtime_client()
    finally:
        app.runtime_client.cache_clear()
    monkeypatch.setattr(app, "runtime_client", lambda: runtime)
    monkeypatch.delenv("ENDPOINT_NAME", raising=False)
    assert app.lambda_handler(event(), None)["statusCode"] == 500
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    expect_call(stubber, CSV_BODY.encode())
    assert app.lambda_handler(event(), None)["statusCode"] == 200


# -- asynchronous endpoints ----------------------------------------------------------------------------------------

INPUT_PREFIX = "s3://project-bucket/mpg/async-inference/input"
OUTPUT = "s3://project-bucket/mpg/async-inference/output/abc.out"
FAILURE = "s3://project-bucket/mpg/async-inference/failure/abc-error.out"


@pytest.fixture
def s3():
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def test_async_puts_the_payload_under_the_prefix_and_answers_202(runtime, stubber, s3) -> None:
    with Stubber(s3) as s3_stub:
        s3_stub.add_response(
            "put_object",
            {},
            {"Bucket": "project-bucket", "Key": ANY, "Body": CSV_BODY.encode(), "ContentType": "text/csv"},
        )
        stubber.add_response(
            "invoke_endpoint_async",
            {"InferenceId": "abc", "OutputLocation": OUTPUT, "FailureLocation": FAILURE},
            {"EndpointName": ENDPOINT, "InputLocation": ANY, "ContentType": "text/csv", "Accept": "application/json"},
        )
        response = app.handle_async(event(), runtime, s3, ENDPOINT, INPUT_PREFIX)
        s3_stub.assert_no_pending_responses()
    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {"inferenceId": "abc", "outputLocation": OUTPUT, "failureLocation": FAILURE}


def test_async_input_location_is_the_uploaded_object(runtime, s3) -> None:
    calls: dict[str, dict] = {}

    class Recorder:
        def __init__(self, name: str, answer: dict) -> None:
            self.name, self.answer = name, answer

        def __call__(self, **kwargs: object) -> dict:
            calls[self.name] = kwargs
            return self.answer

    s3_fake = type("S3", (), {"put_object": staticmethod(Recorder("put", {}))})()
    runtime_fake = type(
        "Runtime", (), {"invoke_endpoint_async": staticmethod(Recorder("invoke", {"InferenceId": "x"}))}
    )()
    assert app.handle_async(event(), runtime_fake, s3_fake, ENDPOINT, INPUT_PREFIX)["statusCode"] == 202
    key = calls["put"]["Key"]
    assert calls["put"]["Bucket"] == "project-bucket" and key.startswith("mpg/async-inference/input/")
    assert calls["invoke"]["InputLocation"] == f"s3://project-bucket/{key}"


def test_async_bad_requests_never_reach_s3(runtime, stubber, s3) -> None:
    with Stubber(s3) as s3_stub:  # no response queued: any S3 call would fail the test
        response = app.handle_async(event(content_type="text/plain"), runtime, s3, ENDPOINT, INPUT_PREFIX)
        s3_stub.assert_no_pending_responses()
    assert response["statusCode"] == 415
    error_of(response)


def test_async_service_errors_are_clean(runtime, stubber, s3) -> None:
    with Stubber(s3) as s3_stub:
        s3_stub.add_response("put_object", {})
        stubber.add_client_error(
            "invoke_endpoint_async", "ValidationError", f"Endpoint {ENDPOINT} of account 123456789012 not found."
        )
        response = app.handle_async(event(), runtime, s3, ENDPOINT, INPUT_PREFIX)
    assert response["statusCode"] == 404
    error_of(response)


def test_lambda_handler_switches_to_async_with_an_input_prefix(monkeypatch) -> None:
    seen: list[tuple] = []
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setattr(app, "runtime_client", lambda: "runtime")
    monkeypatch.setattr(app, "s3_client", lambda: "s3")
    monkeypatch.setattr(app, "handle_async", lambda *args: seen.append(args) or {"statusCode": 202})
    monkeypatch.setenv("ASYNC_INPUT_PREFIX", "not-s3")
    assert app.lambda_handler(event(), None)["statusCode"] == 500
    monkeypatch.setenv("ASYNC_INPUT_PREFIX", INPUT_PREFIX)
    assert app.lambda_handler(event(), None)["statusCode"] == 202
    assert seen[0][1:] == ("runtime", "s3", ENDPOINT, INPUT_PREFIX)
