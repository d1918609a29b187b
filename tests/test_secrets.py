"""No credentials in a generated project, nor in anything its local workflow writes or prints."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import project_files

KEY_LIKE = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)secret_?access_?key\W{0,4}[=:]\W{0,4}[A-Za-z0-9/+]{40}\b"),
    "private key": re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
}
ANSWER_SETS = {"default": {}, "no-api-no-tuning": {"api": "no", "tuning": "no"}}


def key_like_strings(root: Path, include_all: bool = False) -> list[str]:
    """`path: kind` for every file under root that holds a key-like string (caches and local state left out unless
    include_all)."""
    paths = (
        [path for path in root.rglob("*") if path.is_file()]
        if include_all
        else [root / relative for relative in sorted(project_files(root))]
    )
    found = []
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{path.relative_to(root)}: {kind}" for kind, pattern in KEY_LIKE.items() if pattern.search(text)]
    return found


def test_the_patterns_find_real_looking_keys(tmp_path: Path) -> None:
    (tmp_path / "leak.env").write_text(
        f"AWS_ACCESS_KEY_ID=AKIA{'A' * 16}\naws_secret_access_key = {'a1B2/c3D+' * 4}abcd\n"
    )
    assert key_like_strings(tmp_path) == ["leak.env: AWS access key id", "leak.env: AWS secret key"]


@pytest.mark.parametrize("answers", list(ANSWER_SETS.values()), ids=list(ANSWER_SETS))
def test_a_baked_project_holds_no_credentials(cookies: Any, answers: dict[str, str]) -> None:
    result = cookies.bake(extra_context=answers)
    assert result.exception is None
    assert key_like_strings(result.project_path) == []


@pytest.mark.generated
def test_the_local_workflow_never_writes_or_prints_the_callers_credentials(cookies: Any) -> None:
    result = cookies.bake(extra_context={"tuning": "no"})
    project = result.project_path
    fake = {
        "AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30)[:40],
        "AWS_SESSION_TOKEN": secrets.token_urlsafe(60),
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "PYTHONPATH"))}
    env |= {**fake, "PYTHONPATH": str(project / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "mpg_predictor", "run", "--verbose"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    written = [path for path in project.rglob("*") if path.is_file()]
    assert any(".sagemaker-local" in path.parts for path in written)  # the jobs, logs and state are scanned too
    for name, value in fake.items():
        assert value not in done.stdout + done.stderr, f"{name} was printed"
        leaks = [path for path in written if value.encode() in path.read_bytes()]
        assert leaks == [], f"{name} was written to {leaks}"
    assert key_like_strings(project, include_all=True) == []
