"""The bring-your-own-container files, checked without a Docker engine: the Dockerfile lints clean (hadolint) and
copies only what exists, and build_and_push.sh (shellcheck clean) drives the AWS CLI and docker in the right order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTAINER = PROJECT_ROOT / "container"
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
REPOSITORY = "{{ cookiecutter.project_slug | replace('_', '-') }}"
STAGING = "build/image/"
"""Where build_and_push.sh stages the engine's container-side helpers (sm_runtime) for the build."""


def tool(name: str) -> str:
    """A linter installed by the dev extra (beside this Python, or on PATH)."""
    found = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert found, f"{name} is missing: pip install -e '.[dev]' installs it"
    return found


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    joined = CONTAINER.joinpath("Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run([tool("hadolint"), str(CONTAINER / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_has_the_programs_sagemaker_runs_and_only_copies_what_exists() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", f"python:{PYTHON_VERSION}-slim-bookworm")
    copies = [arguments.split() for name, arguments in steps if name == "COPY"]
    for *sources, _destination in copies:
        for source in sources:
            exists = source.startswith(STAGING) or (PROJECT_ROOT / source).exists()
            assert exists, f"COPY {source}: not in the project (the build context)"
    assert ["container/train", "container/serve", "/opt/program/"] in copies
    assert [f"{STAGING}sm_runtime/", "/opt/program/src/sm_runtime/"] in copies  # on the image's PYTHONPATH
    environment = " ".join(arguments for name, arguments in steps if name == "ENV")
    assert 'PATH="/opt/program:${PATH}"' in environment  # `docker run <image> train` finds the program
    assert ("EXPOSE", "8080") in steps
    assert not any(name in ("ENTRYPOINT", "CMD") for name, _ in steps)  # SageMaker passes train / serve itself
    for program in ("train", "serve"):
        assert os.access(CONTAINER / program, os.X_OK)
        assert (CONTAINER / program).read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")


def test_shellcheck_finds_nothing() -> None:
    done = subprocess.run([tool("shellcheck"), str(CONTAINER / "build_and_push.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


FAKE_AWS = """#!/bin/sh
echo "aws $*" >> "$CALLS"
case "$*" in
  "sts get-caller-identity"*) echo 123456789012 ;;
  "configure get region") exit 1 ;;
  "ecr describe-repositories"*) [ -n "$REPOSITORY_EXISTS" ] || exit 254 ;;
  "ecr get-login-password"*) echo secret-password ;;
esac
"""
FAKE_DOCKER = """#!/bin/sh
if [ "$1" = login ]; then echo "docker $* stdin=$(cat)" >> "$CALLS"; else echo "docker $*" >> "$CALLS"; fi
if [ "$1" = build ]; then ls -A build/image/sm_runtime > "$CALLS.staged"; fi
"""


def build_and_push(tmp_path: Path, *arguments: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run the script with fake `aws` and `docker` on PATH; return the result and the calls they saw."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls.txt"
    base = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {"PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(CONTAINER / "build_and_push.sh"), *arguments],
        env={**base, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls), **env},
        capture_output=True,
        text=True,
    )
    return done, calls.read_text().splitlines() if calls.exists() else []


def test_build_and_push_creates_the_missing_repository_then_logs_in_builds_tags_and_pushes(tmp_path: Path) -> None:
    done, calls = build_and_push(tmp_path, "v1", AWS_REGION="eu-west-1")
    assert done.returncode == 0, done.stderr
    image = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{REPOSITORY}:v1"
    assert done.stdout.strip() == image
    verbs = [" ".join(call.split()[:3]) for call in calls]
    assert verbs == [
        "aws sts get-caller-identity",
        "aws ecr describe-repositories",
        "aws ecr create-repository",
        "aws ecr get-login-password",
        "docker login --username",
        "docker build --platform",
        f"docker tag {REPOSITORY}:v1",
        f"docker push {image}",
    ]
    assert "--password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com stdin=secret-password" in calls[4]
    assert calls[5].endswith(f"-f container/Dockerfile -t {REPOSITORY}:v1 .")
    assert "secret-password" not in done.stdout + done.stderr


def test_the_build_context_holds_the_engines_runtime_helpers_during_the_build_only(tmp_path: Path) -> None:
    done, _ = build_and_push(tmp_path, REPOSITORY_EXISTS="1")
    assert done.returncode == 0, done.stderr
    staged = (tmp_path / "calls.txt.staged").read_text().split()
    assert {"__init__.py", "training.py", "serving_io.py"} <= set(staged)
    assert "__pycache__" not in staged
    assert not (PROJECT_ROOT / STAGING).exists()


def test_without_the_engine_installed_nothing_is_built_and_the_error_says_what_to_do(tmp_path: Path) -> None:
    done, calls = build_and_push(tmp_path, PYTHON="false")
    assert done.returncode == 1
    assert "cannot import sm_runtime" in done.stderr and "pip install -e ." in done.stderr
    assert calls == []


def test_an_existing_repository_is_reused_and_the_project_region_is_the_fallback(tmp_path: Path) -> None:
    done, calls = build_and_push(tmp_path, REPOSITORY_EXISTS="1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f".{{ cookiecutter.aws_region }}.amazonaws.com/{REPOSITORY}:latest")
    assert not any("create-repository" in call for call in calls)


@pytest.mark.parametrize(("region", "domain"), [("cn-north-1", "amazonaws.com.cn"), ("us-west-2", "amazonaws.com")])
def test_the_registry_domain_follows_the_partition(tmp_path: Path, region: str, domain: str) -> None:
    done, _ = build_and_push(tmp_path, AWS_DEFAULT_REGION=region, REPOSITORY_EXISTS="1")
    assert done.stdout.strip() == f"123456789012.dkr.ecr.{region}.{domain}/{REPOSITORY}:latest"
