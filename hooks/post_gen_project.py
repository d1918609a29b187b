"""Pin the engine to where the template came from, record the answers, remove what they do not use, print next steps.

Runs inside the generated project folder after cookiecutter rendered every file; see pre_gen_project.py for how the
answers arrive safely as JSON. Besides the answers, the context holds cookiecutter's private values: `_template` (the
path or URL given), `_repo_dir` (that folder, or cookiecutter's clone of the URL), `_checkout`, `_output_dir`; cruft
gives `_template` and `_commit` instead.

The hook runs in a Python of its own on every bake, so what only some bakes need is imported where it is used (git for
a template cloned from a URL, the schema inference for data_csv), no tempfile, and typing only for type checkers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

RAW_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

ENGINE = "sm-template-engine"
ENGINE_FOLDER = "packages/sm-engine"
# cookiecutter's built-in abbreviations and what it takes for a repository URL (cookiecutter.repository.REPO_REGEX)
ABBREVIATIONS = ("gh:", "gl:", "bb:")
REPOSITORY_URL = re.compile(r"((git|hg)\+)?(git|ssh|file|https?):|\w+@[\w.]+")
SCP_LIKE_URL = re.compile(r"(?P<host>[\w.-]+@[\w.-]+):(?P<path>(?!//).+)")
# Context values that only describe the baking machine (absolute paths); the recorded answers leave them out.
MACHINE_VALUES = ("_output_dir", "_repo_dir")
SCHEMA_INFERENCE = "packages/sm-engine/src/sm_engine/schema_inference.py"
SAMPLE_DATA = ("data/auto_mpg.csv", "data/auto_mpg_efficient.csv", "data/auto_mpg_class.csv")
CONFIG = "config/project.yaml"


class HookError(Exception):
    """A problem reported as one `ERROR:` line; cookiecutter then removes the project folder."""


PYTORCH_FILES = (
    "jobs/train_pytorch.py",
    "jobs/mlp.py",
    "jobs/torch_cluster.py",
    "jobs/torch_training.py",
    "jobs/inference.py",
    "tests/test_pytorch_training.py",
    "tests/test_pytorch_serving.py",
)
XGBOOST_SCRIPT_FILES = (
    "jobs/train_xgboost.py",
    "jobs/boosters.py",
    "jobs/xgboost_inference.py",
    "tests/test_xgboost_training.py",
    "tests/test_xgboost_serving.py",
)
CONTAINER_FILES = (
    "container",
    "src/additive_model",
    "tests/test_additive_model.py",
    "tests/test_container_image.py",
    "tests/test_container_programs.py",
)
SKLEARN_MODEL_FILES = (
    "jobs/train.py",
    "jobs/estimators.py",
    "jobs/model_inference.py",
    "tests/test_train.py",
    "tests/test_inference.py",
    "tests/test_fast_path.py",
    "tests/test_classification_serving.py",
    "tests/test_estimators.py",
)

# (prompt, answer) -> paths of the generated project that this answer leaves unused.
PRUNE: dict[tuple[str, str], tuple[str, ...]] = {
    ("api", "no"): ("api", "tests/test_lambda.py", "infra", "tests/test_sam_template.py"),
    ("ci", "none"): (".github",),
    ("license", "Proprietary"): ("LICENSE",),  # all rights reserved: no licence text to grant
    # the sample data of the other problem types (config/project.yaml's data.local_path names the one kept)
    ("problem_type", "regression"): ("data/auto_mpg_efficient.csv", "data/auto_mpg_class.csv"),
    ("problem_type", "binary_classification"): ("data/auto_mpg.csv", "data/auto_mpg_class.csv"),
    ("problem_type", "multiclass_classification"): ("data/auto_mpg.csv", "data/auto_mpg_efficient.csv"),
    # the training and serving code of the other frameworks (config/project.yaml's entry points name the ones kept)
    ("framework", "sklearn"): PYTORCH_FILES + XGBOOST_SCRIPT_FILES + ("tests/test_xgboost_builtin.py",),
    ("framework", "pytorch"): SKLEARN_MODEL_FILES + XGBOOST_SCRIPT_FILES + ("tests/test_xgboost_builtin.py",),
    ("framework", "xgboost"): SKLEARN_MODEL_FILES + PYTORCH_FILES,
    # the built-in algorithm runs no training script and serves with its own stack; only the container mode builds an
    # image of its own (container/, and the additive model it trains)
    ("sagemaker_mode", "script"): CONTAINER_FILES,
    ("sagemaker_mode", "builtin"): XGBOOST_SCRIPT_FILES + CONTAINER_FILES,
}


def paths_to_prune(answers: dict[str, Any]) -> list[str]:
    """The relative paths the answers leave unused, in table order."""
    return [path for (field, value), paths in PRUNE.items() if answers.get(field) == value for path in paths]


def prune(project: Path, answers: dict[str, Any]) -> None:
    """Delete each unused file or folder (a missing one is fine)."""
    for relative in paths_to_prune(answers):
        path = project / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def is_repository_url(template: str) -> bool:
    """True when cookiecutter clones the template (a git URL or a gh:/gl:/bb: abbreviation) rather than reading a
    folder."""
    return template.startswith(ABBREVIATIONS) or REPOSITORY_URL.match(template) is not None


def absolute(path: str) -> Path:
    """The path as cookiecutter's caller meant it: relative paths are relative to the shell's working folder (the
    hook itself runs inside the new project)."""
    return Path(os.environ.get("PWD", os.getcwd()), path).resolve()


def git(repository: Path, *arguments: str) -> str:
    """The output of one git command in the repository."""
    import subprocess

    try:
        done = subprocess.run(["git", "-C", str(repository), *arguments], capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise HookError("git is not installed; pinning the engine of a template cloned from a URL needs it") from error
    if done.returncode != 0:
        raise HookError(f"git {' '.join(arguments)} failed in {repository}: {done.stderr.strip()}")
    return done.stdout.strip()


def pip_git_url(url: str) -> str:
    """The `git+` URL pip clones: scp-like `user@host:path` becomes `ssh://user@host/path`, a path a file:// URL."""
    url = url.removeprefix("git+")
    scp = SCP_LIKE_URL.fullmatch(url)
    if scp:
        url = f"ssh://{scp['host']}/{scp['path']}"
    elif Path(url).is_absolute():
        url = Path(url).as_uri()
    return f"git+{url}"


def from_folder(folder: Path) -> str:
    """The engine in a local checkout of the template, as a file:// URL (installs offline)."""
    return f"{ENGINE} @ {(folder / ENGINE_FOLDER).as_uri()}"


def from_commit(url: str, commit: str) -> str:
    """The engine at exactly one commit of the template's git repository."""
    return f"{ENGINE} @ {pip_git_url(url)}@{commit}#subdirectory={ENGINE_FOLDER}"


def engine_requirement(answers: dict[str, Any]) -> tuple[str, str | None]:
    """The engine's requirement for this bake and the template commit it pins (None when it pins no commit).

    A local template folder: the engine in that checkout (its working tree, as the rest of the project). A template
    cloned from a URL (`--checkout` or not): the engine at the commit cookiecutter cloned. cruft clones every template,
    a local folder too, and gives the commit: the engine at that commit, which `cruft update` then moves with the rest.
    A zip archive (unpacked to a folder that is gone after the bake): the published version.
    """
    template = str(answers.get("_template", ""))
    if "_commit" in answers:
        return from_commit(template, answers["_commit"]), answers["_commit"]
    if template.lower().endswith(".zip"):
        return f"{ENGINE}=={answers['_engine_version']}", None
    repository = absolute(str(answers.get("_repo_dir", template)))
    if not (repository / ENGINE_FOLDER / "pyproject.toml").is_file():
        raise HookError(
            f"_template: the engine ({ENGINE_FOLDER}) was not found in {repository}; give cookiecutter the template's "
            "absolute path or its git URL"
        )
    if not is_repository_url(template):
        return from_folder(repository), None
    commit = git(repository, "rev-parse", "HEAD")
    return from_commit(git(repository, "remote", "get-url", "origin"), commit), commit


def pin_engine(project: Path, requirement: str, version: str) -> None:
    """Replace pyproject.toml's one `sm-template-engine==<version>` dependency line with the requirement; the published
    name and version stay in a comment on that line."""
    pyproject = project / "pyproject.toml"
    lines = pyproject.read_text(encoding="utf-8").splitlines(keepends=True)
    published = f"{ENGINE}=={version}"
    matches = [number for number, line in enumerate(lines) if line.strip().startswith(f'"{published}"')]
    if len(matches) != 1:
        raise HookError(f"pyproject.toml: expected one {published!r} dependency line, found {len(matches)}")
    line = lines[matches[0]]
    indent = line[: len(line) - len(line.lstrip())]
    lines[matches[0]] = f"{indent}{json.dumps(requirement)},  # on a package index: {published}\n"
    pyproject.write_text("".join(lines), encoding="utf-8")


def record_answers(project: Path, answers: dict[str, Any], commit: str | None) -> None:
    """.cookiecutter.json: the answers and the template's `_template`, `_checkout` (and `_commit` when pinned), without
    the baking machine's own paths."""
    recorded = {key: value for key, value in answers.items() if key not in MACHINE_VALUES}
    if recorded.get("data_csv"):  # a path on the baking machine; the CSV itself now lives in data/
        recorded["data_csv"] = ""
    if commit:
        recorded["_commit"] = commit
    text = json.dumps(recorded, sort_keys=True, indent=4, ensure_ascii=False)
    (project / ".cookiecutter.json").write_text(text + "\n", encoding="utf-8")


def load_schema_inference(answers: dict[str, Any]) -> ModuleType:
    """The template's schema_inference.py (standard library only) as a module."""
    import importlib.util

    path = absolute(str(answers.get("_repo_dir", answers.get("_template", "")))) / SCHEMA_INFERENCE
    spec = importlib.util.spec_from_file_location("template_schema_inference", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise HookError(f"data_csv: the template has no {path}; leave data_csv blank and run `data init` instead")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def replace_data_section(config_text: str, section: str) -> str:
    """The rendered config with its top-level `data:` block (up to the next unindented line) replaced by `section`;
    the blank lines that end the block stay."""
    lines = config_text.splitlines(keepends=True)
    if "data:\n" not in lines:
        raise HookError(f"{CONFIG}: no top-level `data:` line to replace")
    start = lines.index("data:\n")
    end = next((n for n in range(start + 1, len(lines)) if lines[n].strip() and not lines[n][0].isspace()), len(lines))
    blank = end
    while blank - 1 > start and not lines[blank - 1].strip():
        blank -= 1
    return "".join(lines[:start]) + section + "".join(lines[blank:])


def use_own_data(project: Path, answers: dict[str, Any]) -> list[str]:
    """With data_csv: the CSV copied into data/ in place of the sample data, and the data section that the
    inference gives written into the config. Returns what to tell the user."""
    csv_text = str(answers.get("data_csv", "")).strip()
    if not csv_text:
        return []
    inference = load_schema_inference(answers)
    source = absolute(str(Path(csv_text).expanduser()))
    target, problem_type = str(answers["data_target"]).strip(), str(answers["problem_type"])
    try:
        schema = inference.infer_schema(source, target, problem_type)
    except inference.DataError as error:
        raise HookError(f"data_csv: {error}") from None
    for sample in SAMPLE_DATA:
        (project / sample).unlink(missing_ok=True)
    local_path = f"data/{source.name}"
    shutil.copyfile(source, project / local_path)
    config = project / CONFIG
    section = inference.section_yaml(schema.section(local_path), schema.notes)
    config.write_text(replace_data_section(config.read_text(encoding="utf-8"), section), encoding="utf-8")
    ignored = [f"  ignored {name!r}: {note}" for name, note in schema.notes.items()]
    summary = f"Your data: {local_path}, {problem_type} of {target!r}, {len(schema.columns)} feature columns"
    return [f"{summary} ({CONFIG}, data section)", *ignored]


def next_steps(answers: dict[str, Any]) -> str:
    """What to type after generation."""
    slug = answers["project_slug"]
    cli = slug.replace("_", "-")
    return "\n".join(
        [
            f"Generated {answers['project_name']!r} in ./{slug}. Next steps:",
            f"  cd {slug}",
            "  python3 -m venv .venv && . .venv/bin/activate",
            "  pip install -e '.[dev]'",
            "  make test",
            f"  {cli} run            # or: python -m {slug} run",
        ]
    )


def is_rendered_copy(path: Path) -> bool:
    """True for the copy of the hook that cookiecutter renders into a temporary file and runs (it holds every answer);
    False for the template's own hooks/post_gen_project.py."""
    return path.resolve().parent.name != "hooks"


def main() -> int:
    """Pin the engine, record the answers, prune, then print the next steps (or one ERROR line and exit 1)."""
    if is_rendered_copy(Path(__file__)):
        Path(__file__).unlink(missing_ok=True)  # the rendered copy of this hook holds every answer
    answers = json.loads(RAW_ANSWERS)
    project = Path.cwd()
    try:
        requirement, commit = engine_requirement(answers)
        pin_engine(project, requirement, answers["_engine_version"])
    except HookError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    record_answers(project, answers, commit)
    prune(project, answers)
    try:
        for line in use_own_data(project, answers):
            print(line)
    except HookError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
