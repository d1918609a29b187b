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

# (prompt, answer) -> paths of the generated project that this answer leaves unused.
PRUNE: dict[tuple[str, str], tuple[str, ...]] = {
    ("api", "no"): ("api", "tests/test_lambda.py", "infra", "tests/test_sam_template.py"),
    ("ci", "none"): (".github",),
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
