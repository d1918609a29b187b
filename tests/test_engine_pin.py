"""How a baked project gets the engine: one version number everywhere, the exact commit of a template cloned from a git
URL, and a project that pip installs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sm_engine
from conftest import ENGINE, PROJECT_TEMPLATE, TEMPLATE, load_hook, tomllib
from cookiecutter.main import cookiecutter

post_gen = load_hook("post_gen_project")

# What a template repository needs for a bake: the prompts and their Jinja extension, the hooks, the project tree, the
# engine's metadata and the standard-library engine modules that the hooks load.
HOOK_MODULES = tuple(f"packages/sm-engine/src/sm_engine/{name}.py" for name in ("rules", "schema_inference"))
TEMPLATE_PARTS = (
    "cookiecutter.json",
    "sm_template_prompts.py",
    "hooks",
    PROJECT_TEMPLATE.name,
    "packages/sm-engine/pyproject.toml",
    *HOOK_MODULES,
)
CACHES = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", ".sagemaker-local")


def engine_dependency(project: Path) -> str:
    """The project's dependency on the engine, as pyproject.toml declares it."""
    dependencies = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (engine,) = [dependency for dependency in dependencies if dependency.startswith("sm-template-engine")]
    return engine


def git(repository: Path, *arguments: str) -> str:
    """Run one git command in the repository (a fixed identity, so it works on a machine without git config)."""
    identity = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.com"]
    done = subprocess.run(["git", *identity, *arguments], cwd=repository, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def template_repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A throwaway git repository of this working tree's template, with two commits: the first one tagged `first`.
    Returns the repository, the tagged commit and HEAD. Its name ends in .git: cookiecutter takes a `file://` URL for
    a git repository only then (or with a `git+` prefix)."""
    repository = tmp_path_factory.mktemp("template") / "sm-template.git"
    for part in TEMPLATE_PARTS:
        source, target = TEMPLATE / part, repository / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=CACHES)
        else:
            shutil.copy2(source, target)
    git(repository, "init", "--quiet")
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", "template")
    git(repository, "tag", "first")
    (repository / "CHANGELOG.md").write_text("A later commit.\n", encoding="utf-8")
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", "later")
    return repository, git(repository, "rev-parse", "first"), git(repository, "rev-parse", "HEAD")


def bake_from_url(url: str, checkout: str | None, workspace: Path) -> Path:
    """Bake the default project from a git URL, cookiecutter cloning it into the workspace."""
    config = workspace / "cookiecutter.yaml"
    config.write_text(f"cookiecutters_dir: {workspace / 'clones'}\nreplay_dir: {workspace / 'replay'}\n")
    output = cookiecutter(
        url, checkout=checkout, no_input=True, output_dir=str(workspace / "out"), config_file=str(config)
    )
    return Path(output)


def test_the_engine_has_one_version_number() -> None:
    """cookiecutter.json's `_engine_version` (the published pin) is the engine's own version."""
    template_version = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))["_engine_version"]
    package_version = tomllib.loads((ENGINE / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert template_version == package_version == sm_engine.__version__


@pytest.mark.parametrize(
    ("prefix", "checkout", "pinned"),
    [("", None, "head"), ("git+", "first", "tagged")],
    ids=["file-url", "checkout-tag"],
)
def test_a_bake_from_a_git_url_pins_the_cloned_commit(
    template_repository: tuple[Path, str, str], prefix: str, checkout: str | None, pinned: str, tmp_path: Path
) -> None:
    repository, tagged, head = template_repository
    commit = {"head": head, "tagged": tagged}[pinned]
    url = f"{prefix}{repository.as_uri()}"
    project = bake_from_url(url, checkout, tmp_path)
    expected = f"sm-template-engine @ git+{repository.as_uri()}@{commit}#subdirectory=packages/sm-engine"
    assert engine_dependency(project) == expected
    recorded = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert (recorded["_template"], recorded["_checkout"], recorded["_commit"]) == (url, checkout, commit)
    assert "_repo_dir" not in recorded and "_output_dir" not in recorded


@pytest.mark.parametrize(
    ("url", "pip_url"),
    [
        ("https://github.com/org/sm-template.git", "git+https://github.com/org/sm-template.git"),
        ("git+https://github.com/org/sm-template.git", "git+https://github.com/org/sm-template.git"),
        ("git@github.com:org/sm-template.git", "git+ssh://git@github.com/org/sm-template.git"),
        ("ssh://git@example.com:2222/org/sm-template.git", "git+ssh://git@example.com:2222/org/sm-template.git"),
        ("/srv/git/sm-template", "git+file:///srv/git/sm-template"),
    ],
    ids=["https", "git+https", "scp-like", "ssh", "path"],
)
def test_clone_urls_become_urls_pip_clones(url: str, pip_url: str) -> None:
    assert post_gen.pip_git_url(url) == pip_url


@pytest.mark.parametrize(
    ("context", "requirement", "commit"),
    [
        (
            {"_template": "https://github.com/org/sm-template", "_commit": "c0ffee"},
            "sm-template-engine @ git+https://github.com/org/sm-template@c0ffee#subdirectory=packages/sm-engine",
            "c0ffee",
        ),
        (
            {"_template": "/srv/sm-template", "_commit": "c0ffee"},
            "sm-template-engine @ git+file:///srv/sm-template@c0ffee#subdirectory=packages/sm-engine",
            "c0ffee",
        ),
        ({"_template": ".", "_repo_dir": "."}, f"sm-template-engine @ {ENGINE.as_uri()}", None),
        ({"_template": "sm-template.zip", "_repo_dir": "/tmp/gone"}, "sm-template-engine==0.2.0", None),
    ],
    ids=["cruft-url", "cruft-folder", "relative-folder", "zip-archive"],
)
def test_the_requirement_follows_where_the_template_came_from(
    context: dict[str, str], requirement: str, commit: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PWD", str(TEMPLATE))  # the shell's working folder, against which cookiecutter took "."
    assert post_gen.engine_requirement({**context, "_engine_version": "0.2.0"}) == (requirement, commit)


def test_a_template_folder_without_the_engine_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PWD", str(tmp_path))
    with pytest.raises(post_gen.HookError, match="give cookiecutter the template's absolute path or its git URL"):
        post_gen.engine_requirement({"_template": "sm-template", "_repo_dir": "sm-template", "_engine_version": "0"})


def test_the_baked_project_installs_and_its_command_runs(cookies: Any, tmp_path: Path) -> None:
    """pip builds the project (hatchling accepts the engine's file:// pin) and its console script is the engine's CLI.
    Installed under a prefix of its own, so this environment stays as it is."""
    project = cookies.bake().project_path
    prefix = tmp_path / "prefix"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    install += ["--no-build-isolation", "--prefix", str(prefix), "-e", str(project)]
    done = subprocess.run(install, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    (metadata,) = prefix.glob("lib/python*/site-packages/mpg_predictor-*.dist-info/METADATA")
    assert f"Requires-Dist: sm-template-engine @ {ENGINE.as_uri()}" in metadata.read_text(encoding="utf-8")
    done = subprocess.run([prefix / "bin" / "mpg-predictor", "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Usage: mpg-predictor" in done.stdout
