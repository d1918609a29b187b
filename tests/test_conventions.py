"""The conventions a generated project follows: a LICENSE for its licence, pre-commit hooks, `make` prints help, and a
GitHub workflow with actions pinned to commit SHAs, no persisted credentials and every supported Python version."""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import literal_choices

NEWEST_PYTHON_MINOR = 13
PINNED_ACTION = re.compile(r"uses: (?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})  # v\d+\.\d+\.\d+$", re.MULTILINE)
LICENSE_TEXTS = {
    "MIT": ("MIT License", "Copyright (c) {year} {author}", "OTHER DEALINGS IN THE\nSOFTWARE."),
    "Apache-2.0": ("Apache License\n", "Copyright {year} {author}", "limitations under the License."),
    "BSD-3-Clause": ("BSD 3-Clause License", "Copyright (c) {year}, {author}", "SUCH DAMAGE."),
}
"""Per licence: its title, the copyright line, and a phrase of its closing clauses."""


def bake(cookies: Any, **answers: str) -> Path:
    result = cookies.bake(extra_context=answers)
    assert result.exception is None, result.exception
    return result.project_path


@pytest.mark.parametrize("license_name", sorted(LICENSE_TEXTS))
def test_a_license_file_holds_the_full_text_with_author_and_year(cookies: Any, license_name: str) -> None:
    author = "Zoë O'Brien"
    text = (bake(cookies, license=license_name, author_name=author) / "LICENSE").read_text(encoding="utf-8")
    title, copyright_line, closing = LICENSE_TEXTS[license_name]
    year = datetime.datetime.now(datetime.timezone.utc).year
    assert text.lstrip().startswith(title)
    assert copyright_line.format(year=year, author=author) in text
    assert text.endswith(f"{closing}\n")
    assert "{{" not in text and "[yyyy]" not in text


def test_every_license_answer_is_covered() -> None:
    assert set(literal_choices()["license"]) == {*LICENSE_TEXTS, "Proprietary"}


def test_a_proprietary_project_has_no_license_file(cookies: Any) -> None:
    assert not (bake(cookies, license="Proprietary") / "LICENSE").exists()


def hook_ids(project: Path) -> dict[str, dict[str, Any]]:
    """The pre-commit hooks of the project by id, each with its repository's `rev`."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: {**hook, "rev": repo["rev"]} for repo in config["repos"] for hook in repo["hooks"]}


def test_pre_commit_runs_ruff_cfn_lint_and_the_workflow_check_at_pinned_revs(cookies: Any) -> None:
    project = bake(cookies)
    hooks = hook_ids(project)
    assert set(hooks) == {"ruff-check", "ruff-format", "cfn-lint", "check-github-workflows"}
    assert all(re.fullmatch(r"v?\d+\.\d+\.\d+", hook["rev"]) for hook in hooks.values()), hooks
    assert re.fullmatch(hooks["cfn-lint"]["files"], "infra/template.yaml")
    assert (project / "infra" / "template.yaml").is_file()


def test_pre_commit_leaves_out_the_checks_of_pruned_files(cookies: Any) -> None:
    assert set(hook_ids(bake(cookies, api="no", ci="none"))) == {"ruff-check", "ruff-format"}


def test_make_alone_lists_every_target_with_its_description(cookies: Any) -> None:
    project = bake(cookies)
    described = re.findall(r"^([a-z]+):.*## (.+)$", (project / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    done = subprocess.run(["make"], cwd=project, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    listed = [line.split(maxsplit=2)[1:] for line in done.stdout.splitlines()]
    assert listed == [[target, description] for target, description in described]
    assert {"help", "install", "test", "lint"} <= {target for target, _ in described}


@pytest.mark.parametrize("python_version", literal_choices()["python_version"])
def test_the_workflow_pins_actions_and_tests_every_supported_python(cookies: Any, python_version: str) -> None:
    workflow = bake(cookies, python_version=python_version) / ".github" / "workflows" / "ci.yml"
    text = workflow.read_text(encoding="utf-8")
    uses = re.findall(r"uses: .+$", text, re.MULTILINE)
    assert uses and len(PINNED_ACTION.findall(text)) == len(uses), uses
    steps = yaml.safe_load(text)["jobs"]["test"]["steps"]
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    first = int(python_version.split(".")[1])
    expected = [f"3.{minor}" for minor in range(first, NEWEST_PYTHON_MINOR + 1)]
    assert yaml.safe_load(text)["jobs"]["test"]["strategy"]["matrix"]["python-version"] == expected
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"
