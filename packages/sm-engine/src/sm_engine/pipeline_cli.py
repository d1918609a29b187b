"""`pipeline` commands: print the SageMaker Pipelines definition (offline), create/update it and start it on AWS.

The pipeline builder, boto3 and the AWS backend are imported by the commands that use them, so the command line
starts without them.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from .config import DEFAULT_CONFIG_PATH, load_config

if TYPE_CHECKING:
    from .config import ProjectConfig

# Shown in an offline definition where the account's values are not configured; `upsert` resolves the real ones.
PLACEHOLDER_ACCOUNT = "<account-id>"

pipeline_app = typer.Typer(help="SageMaker Pipelines: the whole workflow as one pipeline.", no_args_is_help=True)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The project config file.")]
ThresholdOption = Annotated[
    float | None,
    typer.Option("--threshold", help="The condition's threshold (default: pipeline.condition.threshold)."),
]
TransformOption = Annotated[
    bool | None,
    typer.Option(
        "--transform/--no-transform",
        help="Add a batch transform step (default: pipeline.batch_transform, else when endpoint.type is batch).",
    ),
]


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Errors a user can fix become one red line and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .user_errors import USER_ERRORS, describe

        try:
            return command(*args, **kwargs)
        except (*USER_ERRORS, OSError) as error:
            errors.print(describe(error), markup=True)
        raise typer.Exit(1)

    return wrapper


def _log(line: str) -> None:
    console.print(line, markup=False)


def _note(line: str) -> None:
    errors.print(line, markup=False)


def parse_parameters(config: ProjectConfig, pairs: list[str]) -> dict[str, str]:
    """`Name=value` overrides of the pipeline's parameters; a name the pipeline does not declare is an error."""
    from .options import parse_assignments
    from .pipeline import PipelineBuilder, PipelineError

    values = parse_assignments(pairs, "--parameter", "TrainingInstanceType=ml.m5.xlarge")
    declared = [item["Name"] for item in PipelineBuilder(config, "bucket", "role").parameters()]
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise PipelineError(f"unknown pipeline parameter {', '.join(unknown)}: declared are {', '.join(declared)}")
    return values


def _input_data_url(settings: ProjectConfig, root: Path, bucket: str) -> str | None:
    """The S3 URI the project's data file is uploaded to (named by its content); None while the file is missing."""
    from .sagemaker_requests import ProjectLocations

    data_path = root / settings.data.local_path
    return ProjectLocations.from_config(settings, bucket).raw_data_object(data_path) if data_path.is_file() else None


@pipeline_app.command()
@user_errors
def definition(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    threshold: ThresholdOption = None,
    transform: TransformOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON to this file.")] = None,
) -> None:
    """Print the pipeline definition JSON (offline: no AWS call; unset bucket and role are shown as placeholders)."""
    from .aws.images import SdkImages
    from .pipeline import PipelineBuilder

    settings = load_config(config)
    region = settings.project.region
    bucket = settings.project.bucket or f"sagemaker-{region}-{PLACEHOLDER_ACCOUNT}"
    role_arn = settings.project.role_arn or f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/<sagemaker-execution-role>"
    if PLACEHOLDER_ACCOUNT in bucket + role_arn:
        errors.print("note: project.bucket / project.role_arn are not set: `pipeline upsert` resolves them on AWS")
    data_url = _input_data_url(settings, config.resolve().parent.parent, bucket)
    body = PipelineBuilder(
        settings, bucket, role_arn, threshold, transform, SdkImages(_note), input_data_url=data_url
    ).definition()
    text = json.dumps(body, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n")
        errors.print(f"wrote {output}")


@pipeline_app.command("upsert")
@user_errors
def upsert_command(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    threshold: ThresholdOption = None,
    transform: TransformOption = None,
    upload: Annotated[bool, typer.Option(help="Upload the data and jobs/ code the pipeline reads first.")] = True,
) -> None:
    """Create the pipeline on SageMaker, or update it; also creates the project's Model Package Group."""
    from . import backends
    from .pipeline import PipelineBuilder, ensure_model_package_group, model_package_group, pipeline_name, upsert
    from .workflow import Workflow

    settings = load_config(config)
    root = config.resolve().parent.parent
    backend = backends.make_backend(settings, root, _log, aws=True)
    data_url = Workflow(settings, backend, root, _log).upload_inputs() if upload else None
    group = model_package_group(settings)
    if ensure_model_package_group(backend.sagemaker, group, f"Models of {settings.project.name}"):
        console.print(f"created the model package group {group}")
    body = PipelineBuilder(
        settings,
        backend.bucket,
        backend.role_arn,
        threshold,
        transform,
        backend.images,
        backend.account_id,
        data_url or _input_data_url(settings, root, backend.bucket),
    ).definition()
    arn = upsert(body, backend.sagemaker, pipeline_name(settings), backend.role_arn)
    console.print(f"pipeline {pipeline_name(settings)}: {arn}", markup=False)


@pipeline_app.command("start")
@user_errors
def start_command(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    parameter: Annotated[
        list[str] | None, typer.Option("--parameter", "-p", help="Override a pipeline parameter: Name=value.")
    ] = None,
) -> None:
    """Start an execution of the pipeline (run `pipeline upsert` first)."""
    import boto3
    from botocore.exceptions import NoCredentialsError

    from .pipeline import pipeline_name, start

    settings = load_config(config)
    values = parse_parameters(settings, parameter or [])
    session = boto3.session.Session(region_name=settings.project.region)
    if session.get_credentials() is None:
        raise NoCredentialsError()
    arn = start(session.client("sagemaker"), pipeline_name(settings), values)
    console.print(f"started {arn}", markup=False)
