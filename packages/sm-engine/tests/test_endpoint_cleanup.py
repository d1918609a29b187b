"""No endpoint server outlives its endpoint: a deletion during the deployment stops the starting server, `teardown`
finds servers whose record is gone, and deleted or replaced endpoints leave no staging folder (issue 16, items 2
and 6)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_local_client import _in_service, _served_model
from test_local_helpers import make_client

from sm_engine.local import endpoint_server
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.local.state import process_alive

pytestmark = pytest.mark.executor

INTERRUPTED_DEPLOYMENT = """
import os, sys, time
from pathlib import Path
from sm_engine.local.client import LocalSageMakerClient

root = Path(sys.argv[1])
client = LocalSageMakerClient(root)
client.create_endpoint(EndpointName="interrupted", EndpointConfigName="blue-config")
deadline = time.monotonic() + 60
while not list((root / "endpoints").rglob("server.pid")) and time.monotonic() < deadline:
    time.sleep(0.01)
print(next((root / "endpoints").rglob("server.pid")).read_text(), flush=True)
client.delete_endpoint(EndpointName="interrupted")  # what the CLI's teardown does on Ctrl-C
os._exit(0)  # no atexit: the deletion alone must have stopped the server
"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LocalSageMakerClient]:
    client = make_client(tmp_path / "root")
    yield client
    endpoint_server.stop_servers_in(client.root)  # never leave a server behind, even after a failure


def test_deleting_an_endpoint_while_its_server_starts_stops_the_server(
    client: LocalSageMakerClient, tmp_path: Path
) -> None:
    _served_model(client, tmp_path, "blue", "1")
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_DEPLOYMENT, str(client.root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 5
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(pid)
    assert not (client.root / "endpoints" / "interrupted").exists()


def test_teardown_stops_a_server_whose_record_is_gone(client: LocalSageMakerClient, tmp_path: Path) -> None:
    _served_model(client, tmp_path, "blue", "1")
    client.create_endpoint(EndpointName="orphan", EndpointConfigName="blue-config")
    assert _in_service(client, "orphan")["EndpointStatus"] == "InService"
    pid = client.store.read("endpoints", "orphan")["private"]["pid"]
    client.store.delete("endpoints", "orphan")  # as a deletion interrupted after the record went
    assert client.list_endpoints()["Endpoints"] == []

    assert client.remove_orphan_endpoints() == ["orphan"]
    assert not process_alive(pid)
    assert not (client.root / "endpoints" / "orphan").exists()
    assert client.remove_orphan_endpoints() == []


def test_an_update_and_a_deletion_remove_the_staging_folders(client: LocalSageMakerClient, tmp_path: Path) -> None:
    _served_model(client, tmp_path, "blue", "1")
    _served_model(client, tmp_path, "green", "2")
    client.create_endpoint(EndpointName="live", EndpointConfigName="blue-config")
    _in_service(client, "live")
    client.update_endpoint(EndpointName="live", EndpointConfigName="green-config")
    assert _in_service(client, "live")["EndpointConfigName"] == "green-config"
    run_dirs = [path.name for path in (client.root / "endpoints" / "live").iterdir()]
    assert len(run_dirs) == 1 and run_dirs[0].startswith("green-config-")
    client.delete_endpoint(EndpointName="live")
    assert not (client.root / "endpoints" / "live").exists()
