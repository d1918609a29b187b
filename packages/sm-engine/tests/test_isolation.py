"""Running a job with /opt/ml bound to its folder (a private mount namespace), and the path-mapping fallback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sm_engine.local import isolation, processes

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers


def _run(command: list[str], env: dict[str, str], job_dir: Path, cwd: str) -> processes.Finished:
    lines: list[str] = []
    prepared, prepared_env, prepared_cwd = isolation.prepare(command, env, job_dir, cwd)
    finished = processes.run_streaming(prepared, prepared_env, prepared_cwd, lambda _stream, line: lines.append(line))
    finished.stderr_tail = lines
    return finished


def test_map_path_rewrites_only_opt_ml_paths(tmp_path: Path) -> None:
    assert isolation.map_path("/opt/ml/model", tmp_path) == f"{tmp_path}/model"
    assert isolation.map_path("--out=/opt/ml/output", tmp_path) == f"--out={tmp_path}/output"
    assert isolation.map_path('{"a":"/opt/ml/input"}', tmp_path) == '{"a":"' + f"{tmp_path}/input" + '"}'
    assert isolation.map_path("/opt/ml", tmp_path) == str(tmp_path)
    assert isolation.map_path("/opt/mlx/a", tmp_path) == "/opt/mlx/a"
    assert isolation.map_path("/data/opt/ml/a", tmp_path) == "/data/opt/ml/a"


def test_fallback_maps_paths_and_sets_the_base_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.SWITCH, "off")
    assert not isolation.isolation_enabled()
    (tmp_path / "code").mkdir()
    script = "import os, sys; print(os.getcwd()); print(os.environ['SAGEMAKER_BASE_DIR']); print(sys.argv[1])"
    finished = _run(
        [sys.executable, "-c", script, "/opt/ml/model"], {"PATH": "/usr/bin:/bin"}, tmp_path, "/opt/ml/code"
    )
    assert finished.returncode == 0
    assert finished.stderr_tail == [str(tmp_path / "code"), str(tmp_path), f"{tmp_path}/model"]


def test_isolation_binds_the_job_folder_on_opt_ml(tmp_path: Path) -> None:
    if not isolation.isolation_enabled():
        pytest.skip("user namespaces are not available here")
    (tmp_path / "code").mkdir()
    (tmp_path / "marker.txt").write_text("mine")
    script = "import os; print(os.getcwd()); print(open('/opt/ml/marker.txt').read()); print(os.environ['A-B'])"
    finished = _run([sys.executable, "-c", script], {"PATH": "/usr/bin:/bin", "A-B": "odd"}, tmp_path, "/opt/ml/code")
    assert finished.returncode == 0, finished.stderr_tail
    assert finished.stderr_tail == ["/opt/ml/code", "mine", "odd"]
    assert not Path("/opt/ml/marker.txt").exists()


def test_isolation_overhead_is_small(tmp_path: Path) -> None:
    """The namespace launcher adds an interpreter start to a process start (measured: ~10-20 ms here)."""
    if not isolation.isolation_enabled():
        pytest.skip("user namespaces are not available here")
    command = ["true"]
    runs = 10

    def timed(prepared: list[str], cwd: str) -> float:
        """The fastest of `runs` starts: what the machine's load adds to some of them is not the launcher's."""
        durations = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(prepared, cwd=cwd, check=True)
            durations.append(time.perf_counter() - started)
        return min(durations)

    prepared, _env, cwd = isolation.prepare(command, {}, tmp_path, "/opt/ml")
    overhead = timed(prepared, cwd) - timed(command, str(tmp_path))
    assert overhead < 0.05, f"isolation adds {overhead * 1000:.1f} ms per process"


def test_a_timed_out_command_is_killed_with_its_children(tmp_path: Path) -> None:
    started = time.monotonic()
    finished = processes.run_streaming(
        ["sh", "-c", "sleep 30 & sleep 30"], {"PATH": "/usr/bin:/bin"}, str(tmp_path), lambda *_: None, timeout=0.3
    )
    assert finished.timed_out
    assert time.monotonic() - started < 10
