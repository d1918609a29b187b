"""Remove what the answers do not use, then print the next steps.

Runs inside the generated project folder after cookiecutter rendered every file; see pre_gen_project.py for how the
answers arrive safely as JSON.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

RAW_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

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


def main() -> int:
    """Prune, then print the next steps."""
    if Path(__file__).parent == Path(tempfile.gettempdir()):
        Path(__file__).unlink(missing_ok=True)  # the rendered copy of this hook holds every answer
    answers = json.loads(RAW_ANSWERS)
    prune(Path.cwd(), answers)
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
