"""container/train and container/serve run as SageMaker runs them in the image: `train` with the hyperparameters file
of the real request, `serve` on a port with /ping and /invocations; /opt/ml is a temporary folder here."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import (
    CONFIG,
    PROJECT_ROOT,
    REQUESTS,
    TRAINING_HYPERPARAMETERS,
    JobRun,
    csv_answers,
    reference_answers,
    run_training,
)

CONTAINER = PROJECT_ROOT / "container"
CLASSIFICATION = CONFIG.data.classes is not None


def image_env(base: Path, **extra: str) -> dict[str, str]:
    """What the Dockerfile sets (PYTHONPATH of jobs/ and src/), with SAGEMAKER_BASE_DIR standing for /opt/ml."""
    paths = os.pathsep.join(str(PROJECT_ROOT / folder) for folder in ("jobs", "src"))
    return {**os.environ, "PYTHONPATH": paths, "SAGEMAKER_BASE_DIR": str(base), **extra}


def channels(processed: Path) -> dict[str, Path]:
    return {name: processed / name / f"{name}.csv" for name in ("train", "validation")}


@pytest.fixture(scope="module")
def trained(training_run: JobRun) -> Path:
    """`train` once (conftest's training_run: the config's hyperparameters, made faster)."""
    assert training_run.result.returncode == 0, training_run.result.stdout + training_run.result.stderr
    return training_run.base


def test_train_fits_the_additive_model_and_prints_the_metric_lines(training_run: JobRun, trained: Path) -> None:
    assert (trained / "model" / "model.joblib").is_file()
    assert (trained / "model" / "classes.json").is_file() == CLASSIFICATION
    assert set(json.loads((trained / "output" / "data" / "metrics.json").read_text())) == {"train", "validation"}
    for definition in REQUESTS.training_job("t")["AlgorithmSpecification"]["MetricDefinitions"]:
        assert re.search(definition["Regex"], training_run.result.stdout), definition["Name"]
    assert "estimator: Additive" in training_run.result.stdout


def test_train_reads_the_hyperparameters_file_not_the_command_line(tmp_path: Path, processed: Path) -> None:
    done = run_training(tmp_path, channels(processed), {**TRAINING_HYPERPARAMETERS, "n_knots": 4, "alpha": 0.5})
    assert done.returncode == 0, done.stderr
    model = joblib.load(tmp_path / "model" / "model.joblib")
    assert (model.n_knots, model.alpha) == (4, 0.5)


@pytest.mark.parametrize(
    ("hyperparameters", "cause"),
    [
        ({"n_knots": "many"}, "TrainingError: bad hyperparameter: argument --n_knots"),
        ({"algorithm": "random_forest"}, "TrainingError: this image trains the additive model"),
    ],
)
def test_a_bad_hyperparameter_writes_the_failure_file(
    tmp_path: Path, processed: Path, hyperparameters: dict[str, str], cause: str
) -> None:
    done = run_training(tmp_path, channels(processed), {**TRAINING_HYPERPARAMETERS, **hyperparameters})
    assert done.returncode == 1
    assert (tmp_path / "output" / "failure").read_text().startswith(cause)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(trained: Path) -> Iterator[str]:
    """`serve` on a free port, its model the trained one; yields the URL and stops it afterwards."""
    port = free_port()
    env = image_env(trained, SAGEMAKER_BIND_TO_PORT=str(port), SAGEMAKER_MODEL_SERVER_WORKERS="1")
    process = subprocess.Popen(
        [sys.executable, str(CONTAINER / "serve")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as reply:
                assert reply.status == 200
                break
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "serve did not answer /ping within 30 s"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def post(url: str, body: bytes, content_type: str, accept: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": content_type, "Accept": accept}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as failure:
        return failure.code, failure.read()


def test_serve_answers_like_the_model_itself(server: str, trained: Path, processed: Path) -> None:
    features = np.loadtxt(processed / "test" / "test.csv", delimiter=",")[:, 1:]
    body = "\n".join(",".join(map(repr, row.tolist())) for row in features).encode()
    status, answer = post(server, body, "text/csv", accept="text/csv")
    assert status == 200
    expected = reference_answers(trained / "model", features)
    got = csv_answers(answer, CLASSIFICATION)
    if CLASSIFICATION:
        assert got == expected
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"1,2", "text/csv", 400),
        (b"", "text/csv", 400),
        (b"1,2", "application/xml", 415),
        (b"[1,", "application/json", 400),
    ],
)
def test_serve_answers_bad_requests_with_their_status_and_a_json_error(
    server: str, body: bytes, content_type: str, status: int
) -> None:
    got, answer = post(server, body, content_type)
    assert got == status
    assert json.loads(answer)["error"]


def test_serve_refuses_a_body_over_6_mb_and_unknown_routes(server: str) -> None:
    status, answer = post(server, b"1" * (6 * 1024 * 1024 + 1), "text/csv")
    assert (status, "larger than" in json.loads(answer)["error"]) == (413, True)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{server}/models", timeout=5)
    assert missing.value.code == 404
