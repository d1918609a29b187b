"""config/project.yaml: the shipped file loads, and every mistake is reported by its dotted key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.project_slug }}.config import ConfigError, ProjectConfig, load_config, parse_config

CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "project.yaml"
SHIPPED: dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


def _serverless_with_two_variants(data: dict[str, Any]) -> None:
    data["model"]["inference_pipeline"] = False
    data["endpoint"]["type"] = "serverless"
    data["endpoint"]["variants"].append({**data["endpoint"]["variants"][0], "name": "Second"})


def _api_with_batch(data: dict[str, Any]) -> None:
    data["api"]["enabled"] = True
    data["endpoint"]["type"] = "batch"


def _tuning_objective_not_a_metric(data: dict[str, Any]) -> None:
    data["tuning"]["enabled"] = True
    data["tuning"]["objective"]["metric"] = "validation:mape"


INVALID_EDITS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "unknown key": (lambda d: d["training"].update(learning_rat=0.1), "training.learning_rat: unknown key"),
    "unknown section": (lambda d: d.update(extras={}), "extras: unknown key"),
    "missing section": (lambda d: d.pop("tuning"), "tuning: Field required"),
    "wrong type": (lambda d: d["training"].update(instance_count="two"), "training.instance_count: "),
    "negative instance count": (
        lambda d: d["endpoint"]["variants"][0].update(initial_instance_count=-1),
        "endpoint.variants.0.initial_instance_count: ",
    ),
    "bad instance type": (
        lambda d: d["training"].update(instance_type="m5.large"),
        "training.instance_type: 'm5.large' is not a SageMaker instance type",
    ),
    "bad region": (lambda d: d["project"].update(region="useast1"), "project.region: 'useast1' is not an AWS region"),
    "bad role": (lambda d: d["project"].update(role_arn="arn:aws:iam::12:role/x"), "project.role_arn: "),
    "bad bucket": (lambda d: d["project"].update(bucket="Bad_Bucket"), "project.bucket: "),
    "tuning objective not a metric": (_tuning_objective_not_a_metric, "tuning.objective.metric: 'validation:mape'"),
    "serverless with two variants": (
        _serverless_with_two_variants,
        "endpoint.variants: a serverless endpoint has exactly one variant",
    ),
    "api with batch": (_api_with_batch, "api.enabled: the API needs an endpoint"),
    "filter too long": (
        lambda d: d["batch_transform"].update(input_filter="$[" + "1," * 40 + "1]"),
        "batch_transform.input_filter: ",
    ),
    "reserved hyperparameter": (
        lambda d: d["training"]["hyperparameters"].update(sagemaker_program="x.py"),
        "training.hyperparameters: 'sagemaker_program' is reserved",
    ),
    "grid with integer ranges": (lambda d: d["tuning"].update(strategy="Grid"), "tuning: the Grid strategy"),
    "range min above max": (lambda d: d["tuning"]["ranges"][0].update(min=500), "tuning.ranges.0: min (500.0)"),
    "entry point outside jobs": (
        lambda d: d["processing"].update(entry_point="jobs/preprocess.py"),
        "processing.entry_point: ",
    ),
    "test fraction too large": (lambda d: d["data"]["split"].update(test_fraction=0.7), "data.split.test_fraction: "),
    "regex without a group": (
        lambda d: d["training"]["metric_definitions"][0].update(regex="train_mae=[0-9]+"),
        "training.metric_definitions.0.regex: the regex needs one capture group",
    ),
    "multirecord without split": (lambda d: d["batch_transform"].update(split_type="None"), "batch_transform: "),
}


def test_shipped_config_loads() -> None:
    config = load_config(CONFIG_PATH)
    assert isinstance(config, ProjectConfig)
    assert config.data.target == "mpg"
    assert config.training.entry_point == "train.py"
    assert {m.name for m in config.training.metric_definitions} >= {config.tuning.objective.metric}


@pytest.mark.parametrize("case", INVALID_EDITS)
def test_invalid_edit_names_the_key(case: str) -> None:
    edit, expected = INVALID_EDITS[case]
    data = copy.deepcopy(SHIPPED)
    edit(data)
    with pytest.raises(ConfigError) as raised:
        parse_config(data, "config/project.yaml")
    message = str(raised.value)
    assert expected in message
    assert message.startswith("config/project.yaml: ")
    assert "Traceback" not in message


def test_every_problem_gets_its_own_line() -> None:
    data = copy.deepcopy(SHIPPED)
    data["training"]["instance_type"] = "m5.large"
    data["project"]["region"] = "nowhere"
    with pytest.raises(ConfigError) as raised:
        parse_config(data, "project.yaml")
    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert any("project.region" in line for line in lines)
    assert any("training.instance_type" in line for line in lines)


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("project:\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_config(path)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
