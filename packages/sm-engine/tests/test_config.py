"""config/project.yaml: the shipped file loads, and every mistake is reported by its dotted key."""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CONFIG_PATH, PROJECT_ROOT, cli_command
from metrics import METRIC_NAMES

from sm_engine.config import ConfigError, ProjectConfig, load_config, parse_config

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


def variant(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets fields of the first endpoint variant."""
    return lambda data: data["endpoint"]["variants"][0].update(fields)


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
    "grid with integer ranges": (
        lambda d: d["tuning"].update(
            strategy="Grid", ranges=[{"name": "max_depth", "type": "Integer", "min": 2, "max": 8}]
        ),
        "tuning: the Grid strategy",
    ),
    "range min above max": (
        lambda d: d["tuning"]["ranges"].insert(0, {"name": "depth", "type": "Integer", "min": 500, "max": 8}),
        "tuning.ranges.0: min (500.0)",
    ),
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
    # wrong types
    "name not a string": (lambda d: d["project"].update(name=123), "project.name: Input should be a valid string"),
    "max_jobs as text": (
        lambda d: d["tuning"].update(max_jobs="eight"),
        "tuning.max_jobs: Input should be a valid int",
    ),
    "seed with a fraction": (lambda d: d["data"]["split"].update(seed=1.5), "data.split.seed: "),
    "enabled not a boolean": (
        lambda d: d["tuning"].update(enabled="maybe"),
        "tuning.enabled: Input should be a valid b",
    ),
    "hyperparameters as a list": (
        lambda d: d["training"].update(hyperparameters=[1, 2]),
        "training.hyperparameters: Input should be a valid dictionary",
    ),
    "columns as a string": (
        lambda d: d["data"].update(columns="cylinders"),
        "data.columns: Input should be a valid dictionary",
    ),
    "columns as a list": (
        lambda d: d["data"].update(columns=list(d["data"]["columns"])),
        "data.columns: columns: a mapping of each feature column to its kind",
    ),
    "a free-text column": (
        lambda d: d["data"]["columns"].update(notes="text"),
        "data.columns: columns.notes: free text is not supported: list it under data.ignore",
    ),
    "an unknown column kind": (
        lambda d: d["data"]["columns"].update(notes="date"),
        "data.columns: columns.notes: unknown kind 'date'; use one of numeric, categorical, boolean",
    ),
    "a transformer that is not module.Class": (
        lambda d: d["data"].update(transformers=["CarFeatures"]),
        "data.transformers: transformers: 'CarFeatures' is not <module>.<Class> of a module in jobs/",
    ),
    "variant weight as text": (variant(weight="heavy"), "endpoint.variants.0.weight: "),
    "unknown problem type": (lambda d: d["data"].update(problem_type="ranking"), "data.problem_type: Input should be"),
    "unknown framework": (
        lambda d: d["training"].update(framework="tensorflow"),
        "training.framework: Input should be",
    ),
    # numbers out of range
    "volume of 0 GB": (lambda d: d["processing"].update(volume_size_gb=0), "processing.volume_size_gb: "),
    "runtime over 5 days": (
        lambda d: d["training"].update(max_runtime_seconds=29 * 86400),
        "training.max_runtime_seconds: Input should be less than or equal to 432000",
    ),
    "751 tuning jobs": (lambda d: d["tuning"].update(max_jobs=751), "tuning.max_jobs: "),
    "parallel jobs above max jobs": (
        lambda d: d["tuning"].update(max_jobs=2, max_parallel_jobs=3),
        "tuning: max_parallel_jobs cannot exceed max_jobs",
    ),
    "negative validation fraction": (
        lambda d: d["data"]["split"].update(validation_fraction=-0.1),
        "data.split.validation_fraction: Input should be greater than 0",
    ),
    "negative variant weight": (variant(weight=-1), "endpoint.variants.0.weight: "),
    "41 metric definitions": (
        lambda d: d["training"].update(
            metric_definitions=[{"name": f"m{i}", "regex": f"m{i}=(.*?);"} for i in range(41)]
        ),
        "training.metric_definitions: List should have at most 40 items",
    ),
    "101 environment variables": (
        lambda d: d["processing"].update(environment={f"K{i}": "v" for i in range(101)}),
        "processing.environment: Dictionary should have at most 100 items",
    ),
    # unknown keys, deeper
    "unknown key at depth 3": (lambda d: d["data"]["split"].update(sed=1), "data.split.sed: unknown key"),
    "unknown objective key": (
        lambda d: d["tuning"]["objective"].update(metrik="x"),
        "tuning.objective.metrik: unknown",
    ),
    "unknown key in a range": (
        lambda d: d["tuning"]["ranges"][0].update(scale="Log"),
        "tuning.ranges.0.scale: unknown",
    ),
    "unknown key in a variant": (variant(initial_weight=1), "endpoint.variants.0.initial_weight: unknown key"),
    "unknown storage key": (lambda d: d["storage"].update(silver="x"), "storage.silver: unknown key"),
    # S3 locations
    "prefix as an S3 URI": (lambda d: d["project"].update(prefix="s3://bucket/mpg"), "project.prefix: use letters"),
    "prefix with an empty part": (lambda d: d["project"].update(prefix="mpg//v2"), "project.prefix: "),
    "prefix with a .. part": (lambda d: d["project"].update(prefix="../other"), "project.prefix: "),
    "storage key with a space": (lambda d: d["storage"].update(raw="bronze raw"), "storage.raw: use letters"),
    "empty storage key": (lambda d: d["storage"].update(models=""), "storage.models: "),
    "bucket as an S3 URI": (
        lambda d: d["project"].update(bucket="s3://my-bucket"),
        "project.bucket: 's3://my-bucket' is not a valid bucket name",
    ),
    "bucket with a reserved prefix": (
        lambda d: d["project"].update(bucket="xn--bucket"),
        "project.bucket: 'xn--bucket' uses a prefix or suffix S3 reserves",
    ),
    "made-up instance family": (
        lambda d: d["training"].update(instance_type="ml.zz.qq"),
        "training.instance_type: 'ml.zz.qq' is not a SageMaker instance type",
    ),
    # names and SageMaker's length limits
    "project name too long for job names": (
        lambda d: d["project"].update(name="a" * 41),
        "project.name: String should have at most 40 characters",
    ),
    "project name with _ and !": (lambda d: d["project"].update(name="my_project!"), "project.name: use letters"),
    "variant name over 63 characters": (
        variant(name="V" * 64),
        "endpoint.variants.0.name: String should have at most 63 characters",
    ),
    "variant name with a space": (variant(name="my variant"), "endpoint.variants.0.name: use letters"),
    "metric name over 255 characters": (
        lambda d: d["training"].update(metric_definitions=[{"name": "m" * 256, "regex": "a=(.*?);"}]),
        "training.metric_definitions.0.name: String should have at most 255 characters",
    ),
    # regexes
    "unbalanced regex": (
        lambda d: d["training"].update(metric_definitions=[{"name": "train:mae", "regex": "train_mae=([0-9+;"}]),
        "training.metric_definitions.0.regex: invalid regular expression",
    ),
    "regex over 500 characters": (
        lambda d: d["training"].update(metric_definitions=[{"name": "m", "regex": "m=(.*?)" + "x" * 500}]),
        "training.metric_definitions.0.regex: String should have at most 500 characters",
    ),
    # duplicate names
    "two variants of one name": (
        lambda d: d["endpoint"]["variants"].append(dict(d["endpoint"]["variants"][0])),
        "endpoint: variant names must be unique",
    ),
    "a metric name twice": (
        lambda d: d["training"].update(metric_definitions=[{"name": "m", "regex": "m=(.*?);"}] * 2),
        "training.metric_definitions: each metric name may appear once; listed more than once: m",
    ),
    "a range twice": (
        lambda d: d["tuning"]["ranges"].append(dict(d["tuning"]["ranges"][0])),
        "tuning: each range name may appear once",
    ),
    "a column both used and ignored": (
        lambda d: d["data"].update(ignore=[next(iter(d["data"]["columns"]))]),
        "data: ignore: ",
    ),
    "the target among the columns": (
        lambda d: d["data"]["columns"].update({d["data"]["target"]: "numeric"}),
        "data: columns: the target",
    ),
    "the target ignored": (
        lambda d: d["data"].update(ignore=[d["data"]["target"]]),
        "data: ignore: the target",
    ),
    "a range named after no hyperparameter": (
        lambda d: d["tuning"]["ranges"][0].update(name="n_estimatorz"),
        "tuning.ranges: 'n_estimatorz' is not a training hyperparameter",
    ),
    "yes as a number": (lambda d: d["tuning"].update(max_jobs=True), "tuning: max_jobs: true is a yes/no value"),
    "true as a weight": (variant(weight=True), "endpoint.variants.0: weight: true is a yes/no value"),
    "local root outside the project": (
        lambda d: d.setdefault("local", {}).update(root="/etc"),
        "local: root: '/etc' is outside the project",
    ),
    "local root above the project": (
        lambda d: d.setdefault("local", {}).update(root="../store"),
        "local: root: '../store' is outside the project",
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


@pytest.mark.parametrize("case", ["wrong type", "unknown key in a range", "a range twice", "prefix with a .. part"])
def test_the_cli_prints_an_invalid_config_without_a_traceback(case: str, tmp_path: Path) -> None:
    edit, expected = INVALID_EDITS[case]
    data = copy.deepcopy(SHIPPED)
    edit(data)
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = subprocess.run(
        cli_command("requests", "--config", str(path)),
        cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": "300"},  # one problem per line, unwrapped
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert f"{path}: {expected}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_root_outside_the_project_is_an_explicit_choice() -> None:
    data = copy.deepcopy(SHIPPED)
    data.setdefault("local", {}).update(root="/tmp/sm-store", root_outside_project=True)
    assert parse_config(data).local.root == Path("/tmp/sm-store")


def test_an_endpoint_host_open_to_the_network_warns() -> None:
    data = copy.deepcopy(SHIPPED)
    data.setdefault("local", {}).update(host="0.0.0.0")
    with pytest.warns(UserWarning, match="accept connections from other machines"):
        parse_config(data)


def test_a_duplicate_key_names_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    text = CONFIG_PATH.read_text(encoding="utf-8")
    path.write_text(text.replace("\ntuning:\n", "\ntuning:\n  enabled: true\n", 1), encoding="utf-8")
    line = text[: text.index("\ntuning:\n")].count("\n") + 4  # the original `enabled`, after the added one
    with pytest.raises(ConfigError, match=rf"(?s)duplicate key 'enabled'.*line {line},") as raised:
        load_config(path)
    assert "Traceback" not in str(raised.value)


UNREADABLE_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "binary": (lambda path: path.write_bytes(bytes(range(256)) * 4), "is not UTF-8 text"),
    "UTF-16": (lambda path: path.write_text("project:\n  name: x\n", encoding="utf-16"), "is not UTF-8 text"),
    "NUL bytes": (lambda path: path.write_bytes(b"project:\x00\n"), "holds NUL bytes"),
    "5,000 levels deep": (lambda path: path.write_text("[" * 5000 + "]" * 5000), "nested too deeply"),
    "a folder": (lambda path: path.mkdir(), "is a folder"),
}


@pytest.mark.parametrize("case", UNREADABLE_FILES)
def test_an_unreadable_config_file_is_a_clear_error(case: str, tmp_path: Path) -> None:
    write, expected = UNREADABLE_FILES[case]
    path = tmp_path / "project.yaml"
    write(path)
    with pytest.raises(ConfigError, match=expected) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: ")


@pytest.mark.parametrize("case", ["a folder", "UTF-16", "5,000 levels deep"])
def test_the_cli_prints_an_unreadable_config_without_a_traceback(case: str, tmp_path: Path) -> None:
    write, expected = UNREADABLE_FILES[case]
    path = tmp_path / "project.yaml"
    write(path)
    done = subprocess.run(
        cli_command("requests", "--config", str(path)),
        cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert f"{path}: " in done.stdout
    assert expected in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_new_regions_and_instance_families_are_accepted() -> None:
    data = copy.deepcopy(SHIPPED)
    data["project"]["region"] = "eusc-de-east-1"
    data["training"]["instance_type"] = "ml.p6-b200.48xlarge"
    config = parse_config(data)
    assert (config.project.region, config.training.instance_type) == ("eusc-de-east-1", "ml.p6-b200.48xlarge")
