"""Baking with your own CSV (data_csv, data_target): the file is copied into data/ in place of the sample data, and
config/project.yaml gets the data section the engine's `data init` would infer, keeping the rest of the file."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEMPLATE, load_hook
from sm_engine.config import load_config
from sm_engine.schema_inference import DEFAULT_SPLIT

post_gen = load_hook("post_gen_project")
ROWS = 90


def churn_csv(folder: Path, name: str = "churn.csv") -> Path:
    """A binary problem with an ID, string categoricals, a boolean, missing values and a constant column."""
    pick = random.Random(7)
    lines = ["customer_id,plan,monthly charge,active,region,source,churned"]
    for i in range(ROWS):
        charge = f"{pick.uniform(5, 90):.2f}" if i % 11 else "?"
        region = pick.choice(["north", "south", ""])
        plan, active = pick.choice(["basic", "pro", "max"]), pick.choice(["yes", "no"])
        lines.append(f"{5000 + i},{plan},{charge},{active},{region},web,{'yes' if i % 3 == 0 else 'no'}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


EXPECTED_DATA = {
    "local_path": "data/churn.csv",
    "problem_type": "binary_classification",
    "target": "churned",
    "classes": ["no", "yes"],
    "columns": {"plan": "categorical", "monthly charge": "numeric", "active": "boolean", "region": "categorical"},
    "ignore": ["customer_id", "source"],
    "missing_values": ["", "?"],
    "split": DEFAULT_SPLIT,
}


def test_the_csv_replaces_the_sample_data_and_the_config_follows_it(cookies: Any, tmp_path: Path) -> None:
    source = churn_csv(tmp_path / "own")
    answers = {"data_csv": str(source), "data_target": "churned", "problem_type": "binary_classification"}
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    assert sorted(path.name for path in (project / "data").iterdir()) == ["churn.csv"]
    assert (project / "data" / "churn.csv").read_bytes() == source.read_bytes()
    text = (project / "config" / "project.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["data"] == EXPECTED_DATA
    assert "    - customer_id   # ID-like: a different integer in every row\n" in text
    assert "\n\n# S3 layout under s3://<bucket>/<prefix>/\nstorage:\n" in text
    config = load_config(project / "config" / "project.yaml")
    assert config.tuning.objective.metric == "validation:roc_auc"
    recorded = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert recorded["data_csv"] == "" and recorded["data_target"] == "churned"  # no path of the baking machine


def test_the_sample_configs_split_is_the_one_a_csv_gets(cookies: Any) -> None:
    result = cookies.bake()
    assert result.exit_code == 0, result.exception
    config = yaml.safe_load((Path(result.project_path) / "config" / "project.yaml").read_text(encoding="utf-8"))
    assert config["data"]["split"] == DEFAULT_SPLIT


def test_a_relative_path_is_read_from_the_folder_cookiecutter_runs_in(tmp_path: Path) -> None:
    churn_csv(tmp_path / "work" / "own")
    env = {**os.environ, "PWD": str(tmp_path / "work"), "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path / "out"), str(TEMPLATE)]
    answers = ["data_csv=own/churn.csv", "data_target=churned", "problem_type=binary_classification"]
    done = subprocess.run([*command, *answers], cwd=tmp_path / "work", env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Your data: data/churn.csv, binary_classification of 'churned', 4 feature columns" in done.stdout
    assert "ignored 'source': constant: 'web' in every row" in done.stdout
    assert (tmp_path / "out" / "mpg_predictor" / "data" / "churn.csv").is_file()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("a: 1\ndata:\n  x: 1\n\n  y: 2\n\n# next\nb: 2\n", "a: 1\nDATA\n\n# next\nb: 2\n"),
        ("data:\n  x: 1\nb: 2\n", "DATA\nb: 2\n"),
        ("a: 1\ndata:\n  x: 1\n", "a: 1\nDATA\n"),
    ],
    ids=["between-sections", "first", "last"],
)
def test_the_data_block_is_replaced_up_to_the_next_section(config: str, expected: str) -> None:
    assert post_gen.replace_data_section(config, "DATA\n") == expected


@pytest.mark.generated
def test_the_baked_project_runs_its_whole_workflow_on_the_csv(cookies: Any, tmp_path: Path) -> None:
    """From the first `run`, no edit: processing reads the CSV by the written schema, then train, endpoint, Lambda and
    batch transform."""
    answers = {"data_csv": str(churn_csv(tmp_path / "own")), "data_target": "churned", "tuning": "no"}
    result = cookies.bake(extra_context={**answers, "problem_type": "binary_classification"})
    assert result.exit_code == 0, result.exception
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "PYTHONPATH"))}
    done = subprocess.run(
        [sys.executable, "-m", "sm_engine", "run"],
        cwd=result.project_path,
        env={**environment, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Predicting through the Lambda handler" in done.stdout and "Batch transform of the test split" in done.stdout
