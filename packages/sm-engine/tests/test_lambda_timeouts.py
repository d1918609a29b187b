"""The Lambda handler's clients give up before API Gateway (29 s) and the function (30 s) do, so that its own 504
answers a slow endpoint (issue 16, item 13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import app
import pytest

API_GATEWAY_TIMEOUT_SECONDS = 29
BACKOFF_ALLOWANCE_SECONDS = 2


@pytest.mark.parametrize("make_client", [app.runtime_client, app.s3_client])
def test_every_attempt_of_a_client_ends_before_the_gateway_times_out(
    make_client: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    make_client.cache_clear()
    try:
        config = make_client().meta.config
    finally:
        make_client.cache_clear()
    attempts = config.retries["total_max_attempts"]
    worst_case = attempts * (config.connect_timeout + config.read_timeout) + BACKOFF_ALLOWANCE_SECONDS
    assert worst_case < API_GATEWAY_TIMEOUT_SECONDS
