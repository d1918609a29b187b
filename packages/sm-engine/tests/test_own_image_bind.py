"""The own image's `serve` listens on every interface inside the container, as SageMaker requires, but only on the
loopback interface when the local executor runs it on the host (issue 16, item 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sm_engine.local.containers import StagedContainer
from sm_engine.local.own_image import program, serve_environment

PORT = 18080
BOUND_ADDRESS = """
import runpy, sys
namespace = runpy.run_path(sys.argv[1], run_name="serve")
print(namespace["Server"]().cfg.bind[0])
"""


def bound_address(serve: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", BOUND_ADDRESS, str(serve)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_serve_binds_the_loopback_interface_when_the_executor_runs_it(own_image_project: Path, tmp_path: Path) -> None:
    staged = StagedContainer("container-1", tmp_path / "model", tmp_path / "code")
    env = serve_environment(staged, own_image_project, PORT)
    serve = program(own_image_project, "serve")
    assert bound_address(serve, env) == f"127.0.0.1:{PORT}"
    in_the_image = {key: value for key, value in env.items() if key != "LOCAL_BIND_HOST"}
    assert bound_address(serve, in_the_image) == f"0.0.0.0:{PORT}"
