"""Ctrl-C during `run` leaves no job process, no endpoint server and no open port behind, and the next run works."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from helpers import cli, cli_command, copy_project

from sm_engine.config import load_config
from sm_engine.local.client import LocalSageMakerClient

pytestmark = [pytest.mark.slow, pytest.mark.executor]  # the executor, whatever the answers
POLL_S = 0.05
TIMEOUT_S = 120


def processes_of(project: Path) -> list[str]:
    """`pid cmdline` of every live process working in or naming the project folder (this test's own excepted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if "zombie" not in state and (cwd.startswith(str(project)) or str(project) in command):
            found.append(f"{entry.name} {command[:200]}")
    return found


def start_run(project: Path) -> subprocess.Popen:
    """`run` in a session of its own, as a terminal runs it (its process group receives Ctrl-C)."""
    return subprocess.Popen(
        cli_command("run"),
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(condition: Callable[[], object], run: subprocess.Popen) -> object:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert run.poll() is None, "run ended before the moment to interrupt it came"
        time.sleep(POLL_S)
    raise AssertionError("the moment to interrupt the run never came")


def ctrl_c(run: subprocess.Popen) -> str:
    """SIGINT to the run's process group, as the terminal sends it; answer yes to a stop question; its output."""
    os.killpg(run.pid, signal.SIGINT)
    output, _ = run.communicate(b"y\n", timeout=TIMEOUT_S)
    return output.decode(errors="replace")


def port_is_closed(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parsed.hostname, parsed.port)) != 0


def assert_nothing_left(project: Path, client: LocalSageMakerClient, urls: list[str]) -> None:
    deadline = time.monotonic() + 10
    while processes_of(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(project) == []
    for url in urls:
        assert port_is_closed(url), f"{url} still accepts connections"
    endpoints = client.list_endpoints()["Endpoints"]
    assert all(client.endpoint_url(endpoint["EndpointName"]) is None for endpoint in endpoints)


def in_progress_training_job(client: LocalSageMakerClient) -> str | None:
    summaries = client.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]
    return summaries[0]["TrainingJobName"] if summaries else None


def live_endpoint_urls(client: LocalSageMakerClient) -> list[str]:
    names = [endpoint["EndpointName"] for endpoint in client.list_endpoints()["Endpoints"]]
    return [url for url in (client.endpoint_url(name) for name in names) if url]


@pytest.fixture
def project(tmp_path: Path, project_root: Path) -> Path:
    """A fresh copy of this project for each test (an interrupted run leaves its state behind)."""
    return copy_project(project_root, tmp_path / "project")


def test_ctrl_c_while_training_stops_the_job_and_leaves_no_process(project: Path) -> None:
    client = LocalSageMakerClient(project / ".sagemaker-local")
    run = start_run(project)
    wait_until(lambda: in_progress_training_job(client), run)
    output = ctrl_c(run)
    assert run.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    assert_nothing_left(project, client, [])


def test_ctrl_c_while_the_endpoint_serves_tears_it_down_and_the_next_run_works(project: Path) -> None:
    client = LocalSageMakerClient(project / ".sagemaker-local")
    if load_config(project / "config" / "project.yaml").endpoint.type == "batch":
        pytest.skip("endpoint.type batch: no endpoint to interrupt")
    run = start_run(project)
    urls = wait_until(lambda: live_endpoint_urls(client), run)
    output = ctrl_c(run)
    assert run.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    assert_nothing_left(project, client, list(urls))
    again = cli(project, "run")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert_nothing_left(project, client, [])
