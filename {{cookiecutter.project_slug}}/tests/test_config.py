"""config/project.yaml: the shipped file loads, and every mistake is reported by its dotted key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from metrics import METRIC_NAMES

from {{ cookiecutter.project_slug }}.config import ConfigError, ProjectConfig, load_config, parse_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = PROJECT_ROOT / "config" / "project.yaml"
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
        lambda d: d["training"].update(metric_definitions=[{"name": "train:mae", "regex": "train_mae=[0-9]+"}]),
        "training.metric_definitions.0.regex: the regex needs one capture group",
    ),
    "multirecord without split": (lambda d: d["batch_transform"].update(split_type="None"), "batch_transform: "),
    "serverless memory off the 1 GB steps": (
        lambda d: d["endpoint"].update(serverless={"memory_size_mb": 1500}),
        "endpoint.serverless.memory_size_mb: Input should be a multiple of 1024",
    ),
    "serverless concurrency above 200": (
        lambda d: d["endpoint"].update(serverless={"max_concurrency": 201}),
        "endpoint.serverless.max_concurrency: ",
    ),
    "provisioned above max concurrency": (
        lambda d: d["endpoint"].update(serverless={"max_concurrency": 2, "provisioned_concurrency": 3}),
        "endpoint.serverless: provisioned_concurrency cannot exceed max_concurrency",
    ),
    "async concurrency 0": (
        lambda d: d["endpoint"].update({"async": {"max_concurrent_invocations_per_instance": 0}}),
        "endpoint.async.max_concurrent_invocations_per_instance: ",
    ),
    "async topic not an SNS ARN": (
        lambda d: d["endpoint"].update({"async": {"success_topic": "my-topic"}}),
        "endpoint.async.success_topic: 'my-topic' is not an SNS topic ARN",
    ),
    "serverless with autoscaling": (
        lambda d: d["endpoint"].update(type="serverless", autoscaling={"enabled": True}),
        "endpoint: autoscaling.enabled: serverless endpoints scale by themselves",
    ),
    "classes for a regression": (
        lambda d: d["data"].update(problem_type="regression", classes=["a", "b"]),
        "data: classes: a regression has no classes",
    ),
    "binary with three classes": (
        lambda d: d["data"].update(problem_type="binary_classification", classes=["a", "b", "c"]),
        "data: classes: binary_classification needs exactly 2 labels, not 3",
    ),
    "multiclass without classes": (
        lambda d: d["data"].update(problem_type="multiclass_classification", classes=None),
        "data: classes: multiclass_classification needs the list of class labels",
    ),
    "multiclass with two classes": (
        lambda d: d["data"].update(problem_type="multiclass_classification", classes=["a", "b"]),
        "data: classes: multiclass_classification needs 3 or more labels",
    ),
    "a label twice": (
        lambda d: d["data"].update(problem_type="binary_classification", classes=["a", "a"]),
        "data: classes: each label once",
    ),
    "unquoted no / yes labels": (
        lambda d: d["data"].update(problem_type="binary_classification", classes=[False, True]),
        "data.classes: YAML reads the unquoted label False as a boolean; quote it",
    ),
    "classes as a hyperparameter": (
        lambda d: d["training"]["hyperparameters"].update(classes="[1, 2]"),
        "training.hyperparameters: 'classes' is set from data.classes",
    ),
    "scale to zero without async": (
        lambda d: d["endpoint"].update(type="realtime", autoscaling={"min_capacity": 0}),
        "endpoint: autoscaling.min_capacity: 0 (scale to zero) needs endpoint type async",
    ),
}


def test_endpoint_mode_sections_are_optional_and_read_by_their_yaml_names() -> None:
    data = copy.deepcopy(SHIPPED)
    data["endpoint"].pop("serverless", None)
    data["endpoint"]["async"] = {"max_concurrent_invocations_per_instance": 9, "error_topic": None}
    endpoint = parse_config(data).endpoint
    assert (endpoint.serverless.memory_size_mb, endpoint.serverless.max_concurrency) == (2048, 5)
    assert endpoint.async_inference.max_concurrent_invocations_per_instance == 9


def test_shipped_config_loads() -> None:
    config = load_config(CONFIG_PATH)
    assert isinstance(config, ProjectConfig)
    with (PROJECT_ROOT / config.data.local_path).open(encoding="utf-8") as data:
        assert config.data.target in data.readline().strip().split(",")  # the sample data has the target column
    assert config.training.entry_point is None or (PROJECT_ROOT / "jobs" / config.training.entry_point).is_file()
    assert config.training.metric_names() >= {config.tuning.objective.metric}


def test_metric_definitions_are_the_problem_types_metrics() -> None:
    """Every metric jobs/train.py prints for this problem type, and nothing else, for both splits."""
    config = load_config(CONFIG_PATH)
    if config.training.mode == "builtin":
        assert config.training.metric_definitions == []  # the algorithm's predefined metrics
        return
    names = METRIC_NAMES[config.data.problem_type]
    expected = [f"{split}:{name}" for split in ("train", "validation") for name in names]
    if config.training.framework == "pytorch":  # the MLP's per-epoch losses (jobs/torch_training.py)
        expected += ["train:loss", "validation:loss"]
    assert [m.name for m in config.training.metric_definitions] == expected
    regexes = {m.name: m.regex for m in config.training.metric_definitions}
    assert regexes[f"validation:{names[-1]}"] == f"validation_{names[-1]}=([-+0-9.eE]+);"


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
