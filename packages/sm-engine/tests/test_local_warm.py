"""Warm starts: jobs forked from the fork server see what a fresh `python script.py` sees, and end the same way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sm_engine.local import isolation, processes, warm

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

DUMP = """
import json, os, sys
print(json.dumps({"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd(), "path": sys.path, "name": __name__,
                  "parent": os.getppid(), "stdout": [sys.stdout.encoding, sys.stdout.errors, sys.stderr.errors]}))
"""
ENV = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "PYTHONPATH": "/opt/ml/code", "A-B": "odd"}


def _job(tmp_path: Path, script: str) -> Path:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "job.py").write_text(script)
    return tmp_path


def _run(
    job_dir: Path, *args: str, timeout: float | None = None, env: dict[str, str] | None = None
) -> tuple[processes.Finished, list[str], list[str]]:
    out: list[str] = []
    err: list[str] = []
    finished = isolation.run_job(
        [sys.executable, "/opt/ml/code/job.py", *args],
        {**ENV, **(env or {})},
        job_dir,
        "/opt/ml/code",
        lambda stream, line: (out if stream == "stdout" else err).append(line),
        timeout=timeout,
    )
    return finished, out, err


def test_eligible_commands() -> None:
    assert warm.eligible([sys.executable, "a.py", "--x", "1"])
    assert warm.eligible(["python3", "/opt/ml/code/a.py"])
    assert not warm.eligible(["/bin/sh", "a.sh"])
    assert not warm.eligible([sys.executable, "-m", "a.py"])
    assert not warm.eligible([sys.executable, "-c", "print(1)"])
    assert not warm.eligible(["/usr/bin/env", "a.py"])


def test_a_program_without_a_suffix_is_eligible_when_its_shebang_names_python(tmp_path: Path) -> None:
    (tmp_path / "train").write_text("#!/usr/bin/env python3\nprint(1)\n")
    (tmp_path / "serve.sh").write_text("#!/usr/bin/env python3\nprint(1)\n")
    (tmp_path / "build").write_text("#!/bin/sh\necho 1\n")
    assert warm.eligible([sys.executable, str(tmp_path / "train"), "--x", "1"])
    assert not warm.eligible([sys.executable, str(tmp_path / "serve.sh")])
    assert not warm.eligible([sys.executable, str(tmp_path / "build")])
    assert not warm.eligible([sys.executable, str(tmp_path / "missing")])


@pytest.mark.parametrize("env", [{}, {"LANG": "C.UTF-8", "PYTHONIOENCODING": "latin-1"}], ids=["c-locale", "utf8"])
def test_warm_job_sees_the_same_argv_env_and_cwd_as_cold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    job_dir = _job(tmp_path, DUMP)
    monkeypatch.setenv(warm.SWITCH, "off")
    cold, cold_out, _ = _run(job_dir, "--alpha", "1", env=env)
    monkeypatch.setenv(warm.SWITCH, "on")
    hot, hot_out, err = _run(job_dir, "--alpha", "1", env=env)
    assert cold.returncode == hot.returncode == 0, err
    cold_dump, hot_dump = json.loads(cold_out[-1]), json.loads(hot_out[-1])
    assert cold_dump["parent"] == os.getpid()
    assert hot_dump.pop("parent") != os.getpid(), "the warm job must be a child of the fork server"
    cold_dump.pop("parent")
    for variable in ("PWD", "OLDPWD", "SHLVL", "_"):  # set by sh in the cold isolation wrapper
        cold_dump["env"].pop(variable, None)
        hot_dump["env"].pop(variable, None)
    assert hot_dump == cold_dump
    assert hot_dump["argv"][1:] == ["--alpha", "1"]


def test_isolation_binds_the_job_folder_warm(tmp_path: Path) -> None:
    if not isolation.isolation_enabled():
        pytest.skip("user namespaces are not available here")
    job_dir = _job(tmp_path, "print(open('/opt/ml/marker.txt').read())\n")
    (job_dir / "marker.txt").write_text("mine")
    finished, out, err = _run(job_dir)
    assert finished.returncode == 0, err
    assert out == ["mine"]
    assert not Path("/opt/ml/marker.txt").exists()


@pytest.mark.parametrize(
    ("body", "code", "stderr"),
    [
        ("print('ok')", 0, []),
        ("import sys; sys.exit(1)", 1, []),
        ("import sys; sys.exit(3)", 3, []),
        ("raise SystemExit('bad input')", 1, ["bad input"]),
    ],
)
def test_exit_codes(tmp_path: Path, body: str, code: int, stderr: list[str]) -> None:
    finished, _out, err = _run(_job(tmp_path, body + "\n"))
    assert finished.returncode == code
    assert err == stderr


def test_uncaught_exception_prints_the_scripts_traceback(tmp_path: Path) -> None:
    finished, _out, err = _run(_job(tmp_path, "def fail():\n    raise ValueError('boom')\n\nfail()\n"))
    assert finished.returncode == 1
    assert err[0] == "Traceback (most recent call last):"
    assert err[-1] == "ValueError: boom"
    assert not any("runpy" in line or "zygote.py" in line for line in err), err


def test_timeout_kills_the_child_and_its_group(tmp_path: Path) -> None:
    script = "import subprocess, time\nsubprocess.Popen(['sleep', '30'])\nprint('started', flush=True)\ntime.sleep(9)\n"
    started = time.monotonic()
    finished, out, _err = _run(_job(tmp_path, script), timeout=1.0)
    assert finished.timed_out
    assert out == ["started"]
    assert finished.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 8


def test_stop_through_the_reported_pid(tmp_path: Path) -> None:
    job_dir = _job(tmp_path, "import time\nprint('started', flush=True)\ntime.sleep(30)\n")
    pids: list[int] = []

    def stop_when_started(_stream: str, line: str) -> None:
        if line == "started":
            threading.Thread(target=processes.terminate, args=(pids[0],), daemon=True).start()

    finished = isolation.run_job(
        [sys.executable, "/opt/ml/code/job.py"], dict(ENV), job_dir, "/opt/ml/code", stop_when_started,
        on_start=pids.append,
    )  # fmt: skip
    assert finished.returncode == -signal.SIGTERM
    assert len(pids) == 1


def test_children_get_fresh_random_state(tmp_path: Path) -> None:
    job_dir = _job(tmp_path, "import random\nimport numpy\nprint(random.random(), numpy.random.rand())\n")
    first, second = _run(job_dir)[1], _run(job_dir)[1]
    assert first != second
    assert len(set(first[0].split())) == 2


def test_blas_works_in_forked_children(tmp_path: Path) -> None:
    script = (
        "import numpy as np\n"
        "a = np.random.rand(200, 200) + 200 * np.eye(200)\n"
        "print(np.allclose(a @ np.linalg.inv(a), np.eye(200)))\n"
    )
    finished, out, err = _run(_job(tmp_path, script))
    assert finished.returncode == 0, err
    assert out == ["True"]


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False


def test_the_fork_server_dies_with_its_parent() -> None:
    code = (
        "import sys, time\n"
        "from sm_engine.local import warm\n"
        "server = warm.server(); server.connect().close()\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        zygote = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        assert _gone(zygote, 5), "the fork server outlived its parent"
    finally:
        parent.kill()
        parent.stdout.close()


def test_a_process_given_the_shared_socket_forks_its_jobs_from_that_fork_server(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text("import os\nprint(os.getppid())\n")
    code = (
        "import sys\n"
        "from sm_engine.local import warm\n"
        "lines = []\n"
        f"warm.run([sys.executable, 'job.py'], {{}}, {str(tmp_path)!r}, lambda _s, line: lines.append(line))\n"
        "print(lines[-1], warm._server)\n"
    )
    shared = warm.server()
    env = {**os.environ, warm.SHARED: shared.path}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(shared.process.pid), "None"]  # no fork server of its own


def test_a_script_that_imports_torch_finds_it_imported_already(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    script = "import sys\nprint('torch' in sys.modules)\nimport torch  # a module of zygote.ON_DEMAND\n"
    finished, out, err = _run(_job(tmp_path, script))
    assert finished.returncode == 0, err
    assert out == ["True"]


def test_on_demand_imports_are_read_from_the_script_on_this_machine(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("import numpy\nfrom torch import nn\n")
    (tmp_path / "code" / "other.py").write_text("# import torch, one day\nimport torchvision\n")
    assert warm.on_demand_imports("train.py", str(tmp_path / "code")) == ["torch"]
    assert warm.on_demand_imports("/opt/ml/code/train.py", "/", mount=str(tmp_path)) == ["torch"]
    assert warm.on_demand_imports("train.py", "/opt/ml/code", mount=str(tmp_path)) == ["torch"]
    assert warm.on_demand_imports("other.py", str(tmp_path / "code")) == []
    assert warm.on_demand_imports("missing.py", str(tmp_path)) == []


def test_cold_fallback_when_the_fork_server_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm, "_server", None)
    monkeypatch.setattr(warm, "ZYGOTE", tmp_path / "missing.py")
    finished, out, err = _run(_job(tmp_path, DUMP))
    assert finished.returncode == 0, err
    assert json.loads(out[-1])["parent"] == os.getpid()
