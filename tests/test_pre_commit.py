"""The generated `.pre-commit-config.yaml` is one pre-commit accepts, and each hook it names exists in its repository at
the pinned rev.

The hook repositories are on GitHub, which the tests cannot reach, so each one's hook manifest at its pinned rev is
recorded in tests/pre_commit_manifests/<owner>/<name>/<rev>.yaml, copied from the repository's tag (`git show
<rev>:.pre-commit-hooks.yaml` in a clone). Moving a rev (`pre-commit autoupdate` in a baked project, then the same revs
in the template) means recording the manifest of the new rev in place of the old one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFESTS = Path(__file__).resolve().parent / "pre_commit_manifests"
GITHUB = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)")
ALL_HOOKS = {"api": "yes", "ci": "github"}
"""The answers that keep every hook (the SAM template's cfn-lint, the workflow's check)."""


def pre_commit(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *map(str, arguments)], capture_output=True, text=True, timeout=120
    )


def baked_config(cookies: Any, **answers: str) -> Path:
    result = cookies.bake(extra_context=answers)
    assert result.exception is None, result.exception
    return result.project_path / ".pre-commit-config.yaml"


def recorded_manifest(repo: str, rev: str) -> Path:
    """Where the manifest of `repo` (a GitHub URL) at `rev` is recorded."""
    match = GITHUB.fullmatch(repo)
    assert match, f"{repo}: the hooks' repositories are GitHub repositories"
    return MANIFESTS / match["owner"] / match["name"] / f"{rev}.yaml"


@pytest.mark.parametrize("answers", [ALL_HOOKS, {"api": "no", "ci": "none"}], ids=["every-hook", "ruff-only"])
def test_pre_commit_accepts_the_config(cookies: Any, answers: dict[str, str]) -> None:
    done = pre_commit("validate-config", baked_config(cookies, **answers))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_hook_exists_in_its_repository_at_the_pinned_rev(cookies: Any) -> None:
    config = yaml.safe_load(baked_config(cookies, **ALL_HOOKS).read_text(encoding="utf-8"))
    for repo in config["repos"]:
        manifest = recorded_manifest(repo["repo"], repo["rev"])
        assert manifest.is_file(), f"record the hooks of {repo['repo']} at {repo['rev']} as {manifest}"
        declared = {hook["id"] for hook in yaml.safe_load(manifest.read_text(encoding="utf-8"))}
        missing = {hook["id"] for hook in repo["hooks"]} - declared
        assert not missing, f"{repo['repo']}@{repo['rev']} has no hook {sorted(missing)}"


def test_the_recorded_manifests_are_valid_and_each_is_of_a_pinned_rev(cookies: Any) -> None:
    config = yaml.safe_load(baked_config(cookies, **ALL_HOOKS).read_text(encoding="utf-8"))
    pinned = {recorded_manifest(repo["repo"], repo["rev"]) for repo in config["repos"]}
    assert set(MANIFESTS.rglob("*.yaml")) == pinned  # a moved rev leaves no stale manifest behind
    done = pre_commit("validate-manifest", *sorted(pinned))
    assert done.returncode == 0, done.stdout + done.stderr
