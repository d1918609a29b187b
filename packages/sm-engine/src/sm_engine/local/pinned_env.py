"""Pinned environments (config `local.environments: pinned`): a local job or endpoint runs in a virtualenv built with
the Python and library versions its image ships (image_versions.IMAGE_CONTENTS), so a script that passes locally
passes on the real image.

An environment is built once with uv, under `~/.cache/sm-template-engine/envs/<repository>-<version>-py<X.Y>`
(SM_LOCAL_ENVS_DIR moves it), behind a file lock so that parallel jobs build it once, and reused while its
requirements stay the same. Its Python is the image's when uv finds it (or a pyenv version, or `uv python install`
provides it), else this machine's, said in one log line; a version older than the engine's own minimum is raised to
it, since the endpoint server and the built-in algorithms' stand-ins run the engine inside the environment. The engine
reaches the environment by PYTHONPATH, through a folder that links only its two packages (`sm_engine`, `sm_runtime`),
never this machine's site-packages; what it imports beyond the image's libraries (`ENGINE_NEEDS`) is installed too.
A pinned job runs cold (warm.py forks this interpreter): the environment's python is first on PATH.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sm_engine
import sm_runtime

from ..algorithms import image_repository
from ..errors import JobError
from ..image_versions import ImageContents, contents_of, image_version

Environments = Literal["host", "pinned"]
"""Where local jobs and endpoints run (config `local.environments`): this machine's Python, or a pinned environment."""
HOST: Environments = "host"
PINNED: Environments = "pinned"
CACHE_VARIABLE = "SM_LOCAL_ENVS_DIR"
MINIMUM_PYTHON = (3, 10)  # the engine's requires-python: its serving stack runs inside the environment
ENGINE_NEEDS = ("gunicorn", "pydantic", "pyyaml", "botocore")  # what the endpoint server imports beyond the image's
DISTRIBUTIONS = {"sklearn": "scikit-learn"}  # import name -> distribution, where they differ
COMPLETE = ".sm-requirements"  # written last: the requirements of a finished environment
INSTALL_TIMEOUT_S = 900
Log = Callable[[str], None]


class PinnedEnvironmentError(JobError):
    """The image's versions cannot be installed here; the message says which and what to do."""


@dataclass(frozen=True)
class Interpreter:
    """A built environment: how a command and its environment variables use it."""

    folder: Path

    @property
    def python(self) -> Path:
        return self.folder / "bin" / "python"

    def command(self, command: list[str]) -> list[str]:
        """`command` with this machine's interpreter (or `python`, `python3`) replaced by the environment's."""
        if command and (command[0] == sys.executable or command[0] in {"python", "python3"}):
            return [str(self.python), *command[1:]]
        return command

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with the environment's bin/ first on PATH and the engine's packages last on PYTHONPATH."""
        search = [str(self.folder / "bin"), env.get("PATH", os.defpath)]
        paths = [*filter(None, [env.get("PYTHONPATH")]), str(engine_path())]
        return {
            **env,
            "PATH": os.pathsep.join(search),
            "PYTHONPATH": os.pathsep.join(paths),
            "VIRTUAL_ENV": str(self.folder),
        }


def envs_root() -> Path:
    """Where environments are kept: SM_LOCAL_ENVS_DIR, else the user's cache folder."""
    if configured := os.environ.get(CACHE_VARIABLE):
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "sm-template-engine" / "envs"


def engine_path() -> Path:
    """A folder holding links to this engine's `sm_engine` and `sm_runtime` packages only (created once per engine
    location, in the temporary folder): the environment imports the engine from there, not its dependencies."""
    packages = [Path(sm_engine.__file__).parent, Path(sm_runtime.__file__).parent]
    digest = hashlib.sha256("\n".join(map(str, packages)).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"sm-engine-packages-{digest}"
    if all((folder / package.name).exists() for package in packages):
        return folder
    staging = Path(tempfile.mkdtemp(prefix=folder.name, dir=folder.parent))
    for package in packages:
        (staging / package.name).symlink_to(package, target_is_directory=True)
    try:
        staging.rename(folder)
    except OSError:  # another process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def uv_binary() -> str:
    """The uv executable: the `uv` package is a dependency of the engine (imported here, not at the top: the engine
    also runs inside the environments, which do not have it)."""
    try:
        from uv import find_uv_bin
    except ImportError:
        raise PinnedEnvironmentError(
            "local.environments pinned needs uv: `pip install uv` in this environment (sm-template-engine requires it)"
        ) from None
    return find_uv_bin()


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def distribution(module: str, version: str) -> str:
    """The requirement that installs `module` at `version`; XGBoost from 2.1 on as `xgboost-cpu` (the `xgboost` wheel
    pulls NVIDIA's NCCL, hundreds of MB, for the GPU only)."""
    if module == "xgboost" and _version_tuple(version) >= (2, 1):
        return f"xgboost-cpu=={version}"
    return f"{DISTRIBUTIONS.get(module, module)}=={version}"


def requirements(contents: ImageContents) -> list[str]:
    """What an environment installs: the image's pinned libraries, then the engine's own needs."""
    return [*(distribution(module, version) for module, version in contents.packages.items()), *ENGINE_NEEDS]


@functools.cache
def _find_python(version: str) -> str | None:
    """An interpreter of `version` (X.Y): one uv finds (its own or on PATH), a pyenv version, or one that `uv python
    install` provides; None when there is none (cached for the process: an install that failed takes seconds)."""
    uv = uv_binary()
    quiet = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}

    def find() -> str | None:
        found = subprocess.run([uv, "python", "find", version], capture_output=True, text=True, env=quiet, check=False)
        return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None

    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates = sorted(
        pyenv.glob(f"{version}.*/bin/python{version}"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.parent.name)],
    )
    if (found := find()) or candidates:
        return found or str(candidates[-1])
    installed = subprocess.run([uv, "python", "install", version], capture_output=True, text=True, check=False)
    return find() if installed.returncode == 0 else None


def _python_version(contents: ImageContents, log: Log) -> str:
    """The Python (X.Y) of the image's environment: the image's, raised to the engine's minimum (said in the log)."""
    if _version_tuple(contents.python) >= MINIMUM_PYTHON:
        return contents.python
    minimum = ".".join(map(str, MINIMUM_PYTHON))
    log(
        f"pinned environment: the image's Python {contents.python} is older than the local executor needs: "
        f"Python {minimum}"
    )
    return minimum


def _interpreter_of(version: str, log: Log) -> tuple[str, str]:
    """(X.Y, interpreter): Python `version` if available here, else this machine's (said in the log)."""
    found = _find_python(version)
    if found is not None:
        return version, found
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    log(
        f"pinned environment: Python {version} is not available here (uv finds none and `uv python install {version}` "
        f"failed): using this machine's Python {host}"
    )
    return host, sys.executable


def _failure_reason(output: str) -> str:
    """uv's reason in one line: its `cause:`/`Because ...` sentence, else its last line."""
    lines = [re.sub(r"^(error|cause|hint):\s*", "", line.strip()) for line in output.splitlines() if line.strip()]
    reasons = [line for line in lines if line.startswith("Because")]
    return (reasons or lines or ["uv failed"])[-1]


def _build(folder: Path, python: str, wanted: list[str], torch: bool) -> None:
    uv = uv_binary()
    shutil.rmtree(folder, ignore_errors=True)
    created = subprocess.run(
        [uv, "venv", "--quiet", "--seed", "--python", python, str(folder)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        raise PinnedEnvironmentError(f"uv venv failed: {_failure_reason(created.stderr)}")
    # compiled at install as pip does: a job's interpreter may not write __pycache__ (PYTHONDONTWRITEBYTECODE)
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(folder / "bin" / "python")]
    install += ["--only-binary", ":all:"]
    install += ["--torch-backend", "cpu"] if torch else []
    try:
        installed = subprocess.run(
            [*install, *wanted], capture_output=True, text=True, check=False, timeout=INSTALL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise PinnedEnvironmentError(f"installing {' '.join(wanted)} took over {INSTALL_TIMEOUT_S} s") from None
    if installed.returncode != 0:
        raise PinnedEnvironmentError(_failure_reason(installed.stderr))
    (folder / COMPLETE).write_text("\n".join(wanted), encoding="utf-8")


def _built(folder: Path, wanted: Iterable[str]) -> bool:
    marker = folder / COMPLETE
    return marker.is_file() and marker.read_text(encoding="utf-8").splitlines() == list(wanted)


def _advice(image_python: str, used: str) -> str:
    """What to do when the image's versions do not install on the Python `used`."""
    host = "set local.environments: host in config/project.yaml to run on this machine's libraries"
    if _version_tuple(image_python) < MINIMUM_PYTHON:
        return (
            f"The local executor cannot run the image's Python {image_python}: choose a newer image version, or {host}"
        )
    if used != image_python:
        return f"Install the image's Python (`uv python install {image_python}`) to install them from wheels, or {host}"
    return host[0].upper() + host[1:]


def interpreter_for(image: str, log: Log) -> Interpreter | None:
    """The pinned environment of `image`, built on first use; None when IMAGE_CONTENTS does not know the image (it
    runs on this machine's Python). PinnedEnvironmentError when the image's versions cannot be installed."""
    contents = contents_of(image)
    if contents is None:
        if image:
            log(f"pinned environment: no version table for image {image}: running on this machine's Python")
        return None
    name = f"{image_repository(image)} {image_version(image)}"
    wanted = requirements(contents)
    root = envs_root()
    python_version = _python_version(contents, log)
    folder = root / f"{image_repository(image)}-{image_version(image)}-py{python_version}"
    if not _built(folder, wanted):  # a built environment needs no search for its Python
        python_version, python = _interpreter_of(python_version, log)
        folder = folder.with_name(f"{folder.name.rpartition('-py')[0]}-py{python_version}")
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel job waits here while the first one builds
            if not _built(folder, wanted):
                log(f"building the environment of {name} (Python {python_version}) in {folder} ... (once)")
                _build_or_explain(folder, python, wanted, contents, name)
                return Interpreter(folder)
    log(f"running in the pinned environment of {name} (Python {python_version}): {folder}")
    return Interpreter(folder)


def _build_or_explain(folder: Path, python: str, wanted: list[str], contents: ImageContents, name: str) -> None:
    """Build the environment; if its versions do not install, remove what was made and say what to do."""
    python_version = folder.name.rpartition("-py")[2]
    try:
        _build(folder, python, wanted, torch="torch" in contents.packages)
    except PinnedEnvironmentError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise PinnedEnvironmentError(
            f"local.environments pinned: the versions of {name} do not install on Python {python_version}: "
            f"{str(error).rstrip('.')}. {_advice(contents.python, python_version)}"
        ) from None


def serving_interpreter(spec: Mapping, log: Log) -> Interpreter | None:
    """The pinned environment of an endpoint server spec (endpoint_server.start): the one of its containers' image
    version; None in host mode, and (said in the log) when its containers' images ship different versions."""
    if spec.get("environments", HOST) != PINNED:
        return None
    images = {
        str(container.get("Image") or "")
        for variant in spec["variants"]
        for container in variant["model"].get("Containers") or [variant["model"].get("PrimaryContainer") or {}]
    }
    if len({repr(contents_of(image)) for image in images}) > 1:
        log(
            f"pinned environment: the containers' images ship different versions ({', '.join(sorted(images))}): "
            "the endpoint runs on this machine's Python"
        )
        return None
    return interpreter_for(images.pop(), log)
