"""`data init`: infer the `data:` section from a CSV (schema_inference) and write it into config/project.yaml, keeping
the rest of the file and its comments (ruamel.yaml round trip). When the problem type changes, the sections that
depend on it follow: the training metric definitions, the tuning objective, the built-in algorithm's objective and
the pipeline's registration condition. Unusable data or a project that cannot take it: a message, exit code 2, and
the config untouched."""

from __future__ import annotations

import filecmp
import io
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from .config import DEFAULT_CONFIG_PATH, ConfigError, parse_config
from .schema_inference import (
    DEFAULT_SPLIT,
    SECTION_COMMENTS,
    DataError,
    DataSchema,
    infer_schema,
    needs_quotes,
    yaml_scalar,
)

data_app = typer.Typer(help="The data the project trains on.", no_args_is_help=True)

METRIC_NAMES = {
    "regression": ("mae", "rmse", "r2"),
    "binary_classification": ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
    "multiclass_classification": ("accuracy", "macro_f1", "log_loss"),
}
"""What jobs/metrics.py prints per problem type, as `<split>_<metric>=<value>;` (the template's metric_definitions)."""
SPLITS = ("train", "validation")
SCRIPT_OBJECTIVES = {
    "regression": ("validation:rmse", "Minimize"),
    "binary_classification": ("validation:roc_auc", "Maximize"),
    "multiclass_classification": ("validation:macro_f1", "Maximize"),
}
BUILTIN_OBJECTIVES = {
    "regression": ("validation:rmse", "Minimize"),
    "binary_classification": ("validation:auc", "Maximize"),
    "multiclass_classification": ("validation:merror", "Minimize"),
}
BUILTIN_HYPERPARAMETERS = {
    "regression": {"objective": "reg:squarederror", "eval_metric": "mae,rmse"},
    "binary_classification": {"objective": "binary:logistic", "eval_metric": "logloss,auc"},
    "multiclass_classification": {"objective": "multi:softmax", "eval_metric": "mlogloss,merror"},
}
CONDITIONS = {
    "regression": ("regression_metrics.rmse.value", "<=", 6.0, "RmseThreshold"),
    "binary_classification": ("binary_classification_metrics.roc_auc.value", ">=", 0.8, "RocAucThreshold"),
    "multiclass_classification": ("multiclass_classification_metrics.macro_f1.value", ">=", 0.6, "MacroF1Threshold"),
}
"""The pipeline's registration condition per problem type, and the pipeline parameter it becomes (pipeline.py)."""
LINEAR_MODELS = {"regression": ("Ridge", "alpha"), "classification": ("LogisticRegression", "C")}
"""jobs/estimators.py: the linear algorithm is Ridge (alpha) for a regression, LogisticRegression (C) otherwise."""


class ProblemType(str, Enum):
    regression = "regression"
    binary_classification = "binary_classification"
    multiclass_classification = "multiclass_classification"


@dataclass
class DataInit:
    """The outcome of `data init`: the new config text and what to tell the user."""

    text: str
    schema: DataSchema
    local_path: str
    copy_from: Path | None = None
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def round_trip() -> YAML:
    """ruamel.yaml set up to write the template's style: nulls as null, sequences indented under their key."""
    loader = YAML()
    loader.preserve_quotes = True
    loader.width = 4096
    loader.indent(mapping=2, sequence=4, offset=2)
    loader.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return loader


def quoted(text: str) -> str:
    """Double quotes where PyYAML (which loads the config) would read a plain scalar as something else."""
    return DoubleQuotedScalarString(text) if needs_quotes(text) else text


def flow_text(value: Any) -> str:
    """About how a value is written on its key's line (to align the comment after it); nothing for a block."""
    if isinstance(value, dict) or (isinstance(value, CommentedSeq) and not value.fa.flow_style()):
        return ""
    if isinstance(value, list):
        return f"[{', '.join(yaml_scalar(item) for item in value)}]"
    return yaml_scalar(value)


def flow_list(items: list[str]) -> CommentedSeq:
    sequence = CommentedSeq(quoted(item) for item in items)
    sequence.fa.set_flow_style()
    return sequence


def data_mapping(schema: DataSchema, local_path: str, transformers: Any) -> list[tuple[str, Any]]:
    """The agreed keys of the data section, split left out, in order."""
    columns = CommentedMap((quoted(name), kind) for name, kind in schema.columns.items())
    ignore = CommentedSeq(quoted(name) for name in schema.ignore)
    for position, name in enumerate(schema.ignore):
        ignore.yaml_add_eol_comment(f"# {schema.notes[name]}", position, column=len(f"    - {yaml_scalar(name)}   "))
    if not schema.ignore:
        ignore.fa.set_flow_style()
    items: list[tuple[str, Any]] = [
        ("local_path", quoted(local_path)),
        ("problem_type", schema.problem_type),
        ("target", quoted(schema.target)),
        ("classes", flow_list(schema.classes) if schema.classes is not None else None),
        ("columns", columns),
        ("ignore", ignore),
        ("missing_values", flow_list(schema.missing_values)),
    ]
    if transformers:
        items.append(("transformers", transformers))
    return items


def write_data_section(data: CommentedMap, schema: DataSchema, local_path: str, changes: list[str]) -> None:
    """Replace every key of the data section but split (kept, with the comments that follow it); custom
    transformers stay only for the same file."""
    transformers = data.get("transformers") if data.get("local_path") == local_path else None
    if data.get("transformers") and not transformers:
        changes.append(f"data.transformers removed: they were written for {data.get('local_path')}")
    for key in [key for key in data if key != "split"]:
        del data[key]
        data.ca.items.pop(key, None)
    for position, (key, value) in enumerate(data_mapping(schema, local_path, transformers)):
        data.insert(position, key, value)
        comment = "a regression has no classes" if key == "classes" and value is None else SECTION_COMMENTS.get(key)
        if comment:
            data.yaml_add_eol_comment(f"# {comment}", key, column=len(f"  {key}: {flow_text(value)}".rstrip()) + 3)
    if "split" not in data:
        data["split"] = CommentedMap(DEFAULT_SPLIT)


def check_algorithm_fits(config: CommentedMap, problem_type: str) -> None:
    """The linear algorithm's hyperparameters differ between regression and classification: say which to edit."""
    training = config.get("training") or {}
    if (training.get("hyperparameters") or {}).get("algorithm") != "linear":
        return
    regression = problem_type == "regression"
    model, right = LINEAR_MODELS["regression" if regression else "classification"]
    other_model, wrong = LINEAR_MODELS["classification" if regression else "regression"]
    ranges = (config.get("tuning") or {}).get("ranges") or []
    if wrong in training["hyperparameters"] or any(item.get("name") == wrong for item in ranges):
        raise DataError(
            f"training.hyperparameters: the linear algorithm fits {model} ({right!r}) for a {problem_type}, but this "
            f"project is set up for {other_model} ({wrong!r}); rename {wrong!r} to {right!r} in "
            f"training.hyperparameters and tuning.ranges (or bake the project with problem_type={problem_type}), then "
            "run data init again"
        )


def metric_definition(split: str, metric: str) -> CommentedMap:
    definition = CommentedMap(
        [
            ("name", DoubleQuotedScalarString(f"{split}:{metric}")),
            ("regex", DoubleQuotedScalarString(f"{split}_{metric}=([-+0-9.eE]+);")),
        ]
    )
    definition.fa.set_flow_style()
    return definition


def follow_problem_type(config: CommentedMap, problem_type: str, changes: list[str]) -> None:
    """Bring the sections that depend on the problem type in line with a new one."""
    training = config.get("training") or CommentedMap()
    builtin = training.get("mode") == "builtin"
    definitions = training.get("metric_definitions")
    if isinstance(definitions, list) and definitions:
        every_metric = {f"{s}:{m}" for names in METRIC_NAMES.values() for m in names for s in SPLITS}
        kept = [item for item in definitions if item.get("name") not in every_metric]
        fresh = [metric_definition(s, m) for s in SPLITS for m in METRIC_NAMES[problem_type]]
        del definitions[:]
        definitions.extend(fresh + kept)
        changes.append(f"training.metric_definitions: the {problem_type} metrics")
    if builtin and isinstance(training.get("hyperparameters"), dict):
        training["hyperparameters"].update(BUILTIN_HYPERPARAMETERS[problem_type])
        changes.append(f"training.hyperparameters: the built-in algorithm's {problem_type} objective and eval_metric")
    objective = (config.get("tuning") or {}).get("objective")
    if isinstance(objective, dict):
        metric, direction = (BUILTIN_OBJECTIVES if builtin else SCRIPT_OBJECTIVES)[problem_type]
        objective["metric"], objective["type"] = metric, direction
        changes.append(f"tuning.objective: {direction} {metric}")
    condition = (config.get("pipeline") or {}).get("condition")
    if isinstance(condition, dict):
        metric, comparison, threshold, parameter = CONDITIONS[problem_type]
        condition["metric"], condition["comparison"], condition["threshold"] = metric, comparison, threshold
        comment = f"# the default of the pipeline parameter <Metric>Threshold ({parameter}); set it for your data"
        condition.yaml_add_eol_comment(comment, "threshold", column=len(f"    threshold: {threshold}   "))
        changes.append(f"pipeline.condition: register when {metric} {comparison} {threshold} (adjust to your data)")


def project_local_path(csv_file: Path, root: Path) -> tuple[str, Path | None]:
    """data.local_path of the CSV, relative to the project; a file outside it goes to data/ (the copy's source)."""
    source = csv_file.resolve()
    if source.is_relative_to(root):
        return source.relative_to(root).as_posix(), None
    destination = root / "data" / source.name
    if destination.exists() and not filecmp.cmp(source, destination, shallow=False):
        raise DataError(
            f"data/{source.name} already exists in the project and differs from {csv_file}; rename your file or "
            "move it into the project's data/ folder yourself"
        )
    return f"data/{source.name}", None if destination.exists() else source


def load_round_trip(config_path: Path) -> CommentedMap:
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: not found (run from the project root or pass --config)") from None
    try:
        document = round_trip().load(text)
    except YAMLError as error:
        raise ConfigError(f"{config_path}: not valid YAML: {error}") from None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("data"), dict):
        raise ConfigError(f"{config_path}: no `data:` section to write into; is this the project's config?")
    return document


def existing_split(data: CommentedMap) -> dict[str, Any]:
    split = data.get("split")
    if isinstance(split, dict) and {"validation_fraction", "test_fraction"} <= set(split):
        return dict(split)
    return dict(DEFAULT_SPLIT)


def prepare(csv_file: Path, target: str, problem_type: str | None, config_path: Path) -> DataInit:
    """Everything `data init` does but writing: infer, check the project can take it, edit the config in memory and
    validate the result."""
    document = load_round_trip(config_path)
    data = document["data"]
    schema = infer_schema(csv_file, target, problem_type, existing_split(data))
    root = config_path.resolve().parent.parent
    local_path, copy_from = project_local_path(csv_file, root)
    changes: list[str] = []
    check_algorithm_fits(document, schema.problem_type)
    previous_problem, previous_path = data.get("problem_type"), data.get("local_path")
    write_data_section(data, schema, local_path, changes)
    warnings = [f"ignored {name!r}: {note}" for name, note in schema.notes.items()]
    if previous_problem != schema.problem_type:
        follow_problem_type(document, schema.problem_type, changes)
    elif previous_path != local_path and isinstance((document.get("pipeline") or {}).get("condition"), dict):
        condition = document["pipeline"]["condition"]
        warnings.append(
            f"pipeline.condition: {condition.get('metric')} {condition.get('comparison')} "
            f"{condition.get('threshold')} was set for {previous_path}; set a threshold that fits this data"
        )
    output = io.StringIO()
    round_trip().dump(document, output)
    text = output.getvalue()
    parse_config(yaml.safe_load(text), str(config_path))
    return DataInit(text, schema, local_path, copy_from, changes, warnings)


def apply(result: DataInit, config_path: Path) -> None:
    """Copy the CSV into the project when it came from outside, then replace the config in one rename."""
    if result.copy_from is not None:
        destination = config_path.resolve().parent.parent / result.local_path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.copy_from, destination)
    temporary = config_path.with_name(f".{config_path.name}.tmp")
    temporary.write_text(result.text, encoding="utf-8")
    os.replace(temporary, config_path)


def describe(result: DataInit, config_path: Path) -> list[str]:
    schema = result.schema
    counts = Counter(schema.columns.values())
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
    lines = []
    if result.copy_from is not None:
        lines.append(f"Copied {result.copy_from} into the project as {result.local_path}")
    lines.append(
        f"Wrote the data section of {config_path}: {schema.problem_type} of {schema.target!r} "
        f"({schema.rows} rows, {len(schema.columns)} feature columns: {kinds})"
    )
    if schema.classes is not None:
        lines.append(f"Classes, in code order: {', '.join(schema.classes)}")
    lines += [f"Changed {change}" for change in result.changes]
    return lines


@data_app.command("init")
def init(
    csv_file: Annotated[Path, typer.Argument(help="The CSV file: a header line, then one row per example.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    problem_type: Annotated[
        ProblemType | None, typer.Option("--problem-type", help="Default: inferred from the target's values.")
    ] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="The project config file.")] = DEFAULT_CONFIG_PATH,
) -> None:
    """Infer the data section (column kinds, problem type, classes, missing-value markers) from a CSV and write it
    into the config; columns that are IDs, constant or free text go under `ignore`."""
    console = Console(highlight=False)  # made per call, so that the terminal width is read when the command runs
    try:
        result = prepare(csv_file, target, problem_type.value if problem_type else None, config)
    except (DataError, ConfigError) as error:
        console.print(f"[red]Error[/red]: {escape(str(error))}")
        console.print("Nothing was changed.", style="dim")
        raise typer.Exit(2) from None
    apply(result, config)
    for warning in result.warnings:
        console.print(f"[yellow]Warning[/yellow]: {escape(warning)}")
    for line in describe(result, config):
        console.print(line, markup=False)
