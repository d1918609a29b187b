"""Run a job's command so that /opt/ml IS the job's folder, or fall back to mapping /opt/ml paths.

With isolation (Linux, unprivileged user namespaces), the command runs in a private mount namespace in which /opt/ml
is the job folder (namespace.py), so scripts that hard-code /opt/ml paths work (contract §1, §2). Without it (no user
namespaces, /opt/ml cannot be created, or SM_LOCAL_ISOLATION=off), every /opt/ml path in the environment and in the
command is rewritten to the job folder and SAGEMAKER_BASE_DIR points there.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

from . import namespace, warm
from .processes import Finished, run_streaming

OPT_ML = "/opt/ml"
SWITCH = "SM_LOCAL_ISOLATION"
FALLBACK_MESSAGE = (
    "isolation unavailable: /opt/ml paths are mapped through SM_* variables and SAGEMAKER_BASE_DIR; "
    "scripts that hard-code /opt/ml will not find their files"
)
_OPT_ML_PATTERN = re.compile(r"(?<![\w./-])/opt/ml(?=/|$|[\s\"',;:=])")
_warned = threading.Event()
logger = logging.getLogger(__name__)


@cache
def _probe() -> bool:
    """Whether a job can enter a namespace with a folder bound on /opt/ml here (checked once per process)."""
    try:
        Path(OPT_ML).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = subprocess.run([*namespace.launcher(Path(folder), "/"), "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return result.returncode == 0


def isolation_enabled() -> bool:
    """True when jobs run with /opt/ml bound to their folder; SM_LOCAL_ISOLATION=off forces the fallback."""
    if os.environ.get(SWITCH, "").lower() in {"off", "0", "false", "no"}:
        return False
    return _probe()


def map_path(value: str, job_dir: Path) -> str:
    """Rewrite every /opt/ml path inside `value` to the job folder."""
    return _OPT_ML_PATTERN.sub(lambda _match: str(job_dir), value)


def prepare(
    command: list[str],
    env: dict[str, str],
    job_dir: Path,
    cwd: str,
    log: Callable[[str], None] | None = None,
) -> tuple[list[str], dict[str, str], str]:
    """The (command, environment, working directory) that run `command` with /opt/ml = `job_dir`.

    `command`, `env` and `cwd` are written with /opt/ml paths; in the fallback they are mapped to the job folder.
    """
    if isolation_enabled():
        return [*namespace.launcher(Path(job_dir), cwd), *command], env, str(job_dir)
    if not _warned.is_set():
        _warned.set()
        logger.warning(FALLBACK_MESSAGE)
        if log is not None:
            log(FALLBACK_MESSAGE)
    mapped_env = {key: map_path(value, job_dir) for key, value in env.items()}
    mapped_env["SAGEMAKER_BASE_DIR"] = str(job_dir)
    return [map_path(part, job_dir) for part in command], mapped_env, map_path(cwd, job_dir)


def run_job(
    command: list[str],
    env: dict[str, str],
    job_dir: Path,
    cwd: str,
    on_line: Callable[[str, str], None],
    *,
    on_start: Callable[[int], None] | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Finished:
    """Run `command` (written with /opt/ml paths) with /opt/ml = `job_dir`: warm through the fork server when it is a
    Python script (see warm.py), else (or when the warm path is unavailable) as a fresh subprocess."""
    if warm.enabled() and warm.eligible(command):
        isolated = isolation_enabled()
        if isolated:
            warm_command, warm_env, warm_cwd = command, env, cwd
        else:
            warm_command, warm_env, warm_cwd = prepare(command, env, job_dir, cwd, log)
        try:
            return warm.run(
                warm_command,
                warm_env,
                warm_cwd,
                on_line,
                mount=str(job_dir) if isolated else None,
                on_start=on_start,
                timeout=timeout,
            )
        except warm.Unavailable as error:
            logger.info("cold start: %s", error)
    prepared, prepared_env, prepared_cwd = prepare(command, env, job_dir, cwd, log)
    return run_streaming(prepared, prepared_env, prepared_cwd, on_line, on_start=on_start, timeout=timeout)
