"""The pytest plugin stops the endpoint servers a test session left running under its temporary folders, in each
xdist worker (issue 16, item 12: module fixtures such as `run --keep` are set up once per worker)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sm_engine.local.state import process_alive

LEAKING_TESTS = """
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def kept_server(tmp_path_factory):
    \"\"\"A stand-in for an endpoint server (its command line names the module and its run folder), never stopped.\"\"\"
    run_dir = tmp_path_factory.mktemp("root") / "endpoints" / "ep" / "config-1"
    run_dir.mkdir(parents=True)
    command = [sys.executable, "-c", "import time; time.sleep(300)", "sm_engine.local.endpoint_server", str(run_dir)]
    server = subprocess.Popen(command, start_new_session=True)
    (run_dir / "server.pid").write_text(str(server.pid))
    with open(os.environ["LEAKED_PIDS"], "a") as pids:
        pids.write(f"{server.pid}\\n")
    return server


@pytest.mark.parametrize("index", range(4))
def test_uses_the_kept_server(kept_server, index):
    assert kept_server.poll() is None
"""


def test_no_server_outlives_a_parallel_session(tmp_path: Path) -> None:
    (tmp_path / "test_leaking.py").write_text(textwrap.dedent(LEAKING_TESTS))
    pids_file = tmp_path / "pids.txt"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "test_leaking.py"]
    command += ["--basetemp", str(tmp_path / "basetemp")]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env={**os.environ, "LEAKED_PIDS": str(pids_file)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    pids = [int(line) for line in pids_file.read_text().split()]
    try:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert len(pids) == 2  # one per worker
        deadline = time.monotonic() + 5
        while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(process_alive(pid) for pid in pids)
    finally:
        for pid in pids:
            if process_alive(pid):
                os.kill(pid, 9)
