"""The /opt/ml layout of a job folder, its config files, SM_* variables and script arguments (contract §1, §2).

Everything here is written with /opt/ml paths; isolation.py binds the job folder there or maps the paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ArchiveError, JobError
from ..packaging import safe_extract
from ..storage import LocalStorage, S3Uri, StorageError

OPT_ML = PurePosixPath("/opt/ml")
GROUP_NAME = "homogeneousCluster"
RESERVED_HYPERPARAMETERS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)


class JobSetupError(JobError):
    """The job cannot be staged (missing data or code, unsupported source); the message says which."""


def local_path(job_dir: Path, container_path: str) -> Path:
    """The file in the job folder that stands for a path under /opt/ml."""
    try:
        relative = PurePosixPath(container_path).relative_to(OPT_ML)
    except ValueError:
        raise JobSetupError(f"{container_path} is not under /opt/ml") from None
    return Path(job_dir, *relative.parts)


def hosts_for(count: int) -> list[str]:
    return [f"algo-{index}" for index in range(1, count + 1)]


# What lets a process find AWS credentials: a job or model code must not act with the host's identity (a real
# container has only its execution role); the credential and config files are pointed at nothing for the same reason.
CREDENTIAL_VARIABLES = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    }
)
NO_CREDENTIAL_SOURCES = {
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def without_credentials(environment: dict[str, str]) -> dict[str, str]:
    """`environment` with no way to the host's AWS credentials (CREDENTIAL_VARIABLES, NO_CREDENTIAL_SOURCES)."""
    kept = {key: value for key, value in environment.items() if key not in CREDENTIAL_VARIABLES}
    return kept | NO_CREDENTIAL_SOURCES


def interpreter_bin() -> Path:
    """A folder whose `python`, `python3`, `pip` and `pip3` are this interpreter, as they are the image's own inside
    a real container (created once per interpreter, in the temporary folder)."""
    # scripts, not symlinks: a virtualenv's interpreter finds its pyvenv.cfg only when run from its own folder
    scripts = {
        name: f'#!/bin/sh\nexec "{sys.executable}"{arguments} "$@"\n'
        for name, arguments in {"python": "", "python3": "", "pip": " -m pip", "pip3": " -m pip"}.items()
    }
    digest = hashlib.sha256(json.dumps(scripts, sort_keys=True).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"sm-engine-python-{digest}"
    if (folder / "pip3").is_file():
        return folder
    staging = Path(tempfile.mkdtemp(prefix=folder.name, dir=folder.parent))
    for name, text in scripts.items():
        (staging / name).write_text(text)
        (staging / name).chmod(0o755)
    try:
        staging.rename(folder)
    except OSError:  # another job made it first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def host_environment() -> dict[str, str]:
    """This machine's environment (PATH, HOME, ...) without SM_* variables and PYTHONPATH (a container starts with
    neither) and without AWS credentials, with the job's interpreter first on PATH: the base of every job's
    environment (with_passive_openmp; a job's own Environment still decides)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SM_") and key != "PYTHONPATH"}
    search = [str(interpreter_bin()), str(Path(sys.executable).parent), environment.get("PATH", os.defpath)]
    return with_passive_openmp(without_credentials(environment)) | {"PATH": os.pathsep.join(search)}


OPENMP_WAIT_POLICY = "OMP_WAIT_POLICY"


def with_passive_openmp(environment: dict[str, str]) -> dict[str, str]:
    """`environment` in which OpenMP threads wait passively unless it says otherwise: local jobs, trials and servers
    share this machine's cores, where threads spinning while they wait starve the ones they wait for (the built-in
    XGBoost project's `run` on 2 cores: 27-55 s, 9.6 s passive). OpenMP reads it when its library loads, so the
    processes that import it first (the warm fork server, an endpoint server) need it too, not only the jobs."""
    return {OPENMP_WAIT_POLICY: "passive", **environment}


# -- hyperparameters ---------------------------------------------------------------------------------------------


def decode_hyperparameters(raw: dict[str, str]) -> dict[str, Any]:
    """Each value through json.loads, the raw string kept when it is not JSON (as the training toolkit does)."""
    decoded = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def split_hyperparameters(decoded: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(user hyperparameters, framework parameters): reserved keys dropped, other `sagemaker_*` keys set apart."""
    user, framework = {}, {}
    for key, value in decoded.items():
        if key in RESERVED_HYPERPARAMETERS:
            continue
        (framework if key.startswith("sagemaker_") else user)[key] = value
    return user, framework


def cli_value(value: Any) -> str:
    """How the toolkit writes a value on the command line: str(), dicts as `a=1,b=2`, None as ""."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ",".join(f"{key}={cli_value(item)}" for key, item in value.items())
    return str(value)


def to_cli_args(hyperparameters: dict[str, Any]) -> list[str]:
    """Sorted keys; `-k` for one-character keys, `--key` otherwise; one argv element per key and per value."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        args += [f"-{key}" if len(key) == 1 else f"--{key}", cli_value(hyperparameters[key])]
    return args


def env_value(value: Any) -> str:
    """Strings raw; everything else compact JSON with sorted keys."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


# -- data --------------------------------------------------------------------------------------------------------


def select_objects(
    storage: LocalStorage, uri: str, distribution: str, host_index: int, host_count: int
) -> list[tuple[Path, str]]:
    """(local file, path relative to the prefix) of every object under an S3 prefix; an exact object keeps its name.

    ShardedByS3Key gives host i (0-based) every object whose sorted position is i modulo the number of hosts.
    """
    prefix = S3Uri.parse(uri).key
    objects = []
    for object_uri in storage.list_uris(uri):
        key = S3Uri.parse(object_uri).key
        relative = key[len(prefix) :].lstrip("/") or key.rpartition("/")[2]
        objects.append((storage.path_for(object_uri), relative))
    if not objects:
        raise JobSetupError(f"no objects under {uri}: upload the data first or fix the S3 URI")
    if distribution == "ShardedByS3Key":
        objects = objects[host_index::host_count]
    return objects


def copy_objects(objects: list[tuple[Path, str]], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for source, relative in objects:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, default=str), encoding="utf-8")


# -- training ----------------------------------------------------------------------------------------------------


def resource_config(host: str, hosts: list[str], instance_type: str) -> dict[str, Any]:
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": GROUP_NAME,
        "hosts": hosts,
        "instance_groups": [{"instance_group_name": GROUP_NAME, "instance_type": instance_type, "hosts": hosts}],
        "network_interface_name": "eth0",
    }


def input_data_config(request: dict[str, Any]) -> dict[str, dict[str, str]]:
    """inputdataconfig.json: per channel its content type, input mode, distribution and record wrapper."""
    default_mode = request["AlgorithmSpecification"].get("TrainingInputMode", "File")
    config = {}
    for channel in request.get("InputDataConfig", []):
        s3 = channel.get("DataSource", {}).get("S3DataSource", {})
        entry = {
            "TrainingInputMode": channel.get("InputMode", default_mode),
            "S3DistributionType": s3.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry = {"ContentType": channel["ContentType"], **entry}
        config[channel["ChannelName"]] = entry
    return config


def code_source(request: dict[str, Any]) -> str | None:
    """The code location (env SAGEMAKER_SUBMIT_DIRECTORY wins), or None: a built-in algorithm has no code."""
    hyperparameters = decode_hyperparameters(request.get("HyperParameters", {}))
    source = request.get("Environment", {}).get("SAGEMAKER_SUBMIT_DIRECTORY") or hyperparameters.get(
        "sagemaker_submit_directory"
    )
    return None if source is None else str(source)


def program_and_source(request: dict[str, Any]) -> tuple[str, str | None]:
    """The entry point and the code location (env SAGEMAKER_PROGRAM / SAGEMAKER_SUBMIT_DIRECTORY win)."""
    hyperparameters = decode_hyperparameters(request.get("HyperParameters", {}))
    program = request.get("Environment", {}).get("SAGEMAKER_PROGRAM") or hyperparameters.get("sagemaker_program")
    source = code_source(request)
    if not program:
        raise JobSetupError("no entry point: set the sagemaker_program hyperparameter (or SAGEMAKER_PROGRAM)")
    return str(program), source


def stage_code(source: str | None, storage: LocalStorage, code_dir: Path) -> None:
    """Put the code in `code_dir` (only when empty): an S3 or local tar.gz, or a local folder."""
    code_dir.mkdir(parents=True, exist_ok=True)
    if source is None or any(code_dir.iterdir()):
        return
    try:
        path = storage.path_for(source) if source.startswith("s3://") else Path(source)
        if path.is_dir():
            shutil.copytree(path, code_dir, dirs_exist_ok=True)
        elif path.is_file():
            safe_extract(path, code_dir)
        else:
            raise JobSetupError(f"the code {source} does not exist: upload the sourcedir.tar.gz first")
    except (StorageError, ArchiveError) as error:
        raise JobSetupError(str(error)) from None


def stage_training(request: dict[str, Any], storage: LocalStorage, job_dir: Path, host: str, hosts: list[str]) -> None:
    """Create /opt/ml for one host: config files, channels, model and output folders, code."""
    config_dir = job_dir / "input" / "config"
    instance_type = request["ResourceConfig"]["InstanceType"]
    _write_json(config_dir / "hyperparameters.json", request.get("HyperParameters", {}))
    _write_json(config_dir / "inputdataconfig.json", input_data_config(request))
    _write_json(config_dir / "resourceconfig.json", resource_config(host, hosts, instance_type))
    for folder in ("model", "output/data", "output/intermediate", "input/data"):
        (job_dir / folder).mkdir(parents=True, exist_ok=True)
    for channel in request.get("InputDataConfig", []):
        s3 = channel["DataSource"].get("S3DataSource")
        if s3 is None:
            raise JobSetupError(f"channel {channel['ChannelName']}: only S3DataSource is supported locally")
        if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobSetupError(f"channel {channel['ChannelName']}: only S3DataType S3Prefix is supported locally")
        distribution = s3.get("S3DataDistributionType", "FullyReplicated")
        objects = select_objects(storage, s3["S3Uri"], distribution, hosts.index(host), len(hosts))
        copy_objects(objects, job_dir / "input" / "data" / channel["ChannelName"])
    stage_code(code_source(request), storage, job_dir / "code")


def training_environment(
    request: dict[str, Any], host: str, hosts: list[str], *, region: str, job_arn: str, num_cpus: int | None = None
) -> dict[str, str]:
    """The SM_* variables and the other variables the toolkit and the service set (contract §1 table)."""
    name = request["TrainingJobName"]
    decoded = decode_hyperparameters(request.get("HyperParameters", {}))
    user, framework = split_hyperparameters(decoded)
    program, source = program_and_source(request)
    instance_type = request["ResourceConfig"]["InstanceType"]
    resources = resource_config(host, hosts, instance_type)
    data_config = input_data_config(request)
    channels = {channel: str(OPT_ML / "input" / "data" / channel) for channel in data_config}
    cpus = num_cpus or os.cpu_count() or 1
    properties: dict[str, Any] = {
        "additional_framework_parameters": framework,
        "channel_input_dirs": channels,
        "current_host": host,
        "current_instance_group": GROUP_NAME,
        "current_instance_group_hosts": hosts,
        "current_instance_type": instance_type,
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": "",
        "hosts": hosts,
        "hyperparameters": user,
        "input_config_dir": str(OPT_ML / "input" / "config"),
        "input_data_config": data_config,
        "input_dir": str(OPT_ML / "input"),
        "instance_groups": [GROUP_NAME],
        "instance_groups_dict": {GROUP_NAME: resources["instance_groups"][0]},
        "is_hetero": False,
        "is_master": host == hosts[0],
        "is_modelparallel_enabled": None,
        "job_name": name,
        "log_level": int(decoded.get("sagemaker_container_log_level", 20)),
        "master_hostname": hosts[0],
        "model_dir": str(OPT_ML / "model"),
        "module_dir": source or "",
        "module_name": program.removesuffix(".py"),
        "network_interface_name": "eth0",
        "num_cpus": cpus,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(OPT_ML / "output" / "data"),
        "output_dir": str(OPT_ML / "output"),
        "output_intermediate_dir": str(OPT_ML / "output" / "intermediate"),
        "resource_config": resources,
        "user_entry_point": program,
    }
    variables: dict[str, Any] = {
        key: properties[key]
        for key in [
            "hosts",
            "network_interface_name",
            "user_entry_point",
            "resource_config",
            "input_data_config",
            "output_data_dir",
            "current_host",
            "current_instance_type",
            "current_instance_group",
            "current_instance_group_hosts",
            "instance_groups",
            "instance_groups_dict",
            "distribution_instance_groups",
            "is_hetero",
            "module_name",
            "log_level",
            "framework_module",
            "input_dir",
            "input_config_dir",
            "output_dir",
            "num_cpus",
            "num_gpus",
            "num_neurons",
            "model_dir",
            "module_dir",
            "output_intermediate_dir",
        ]
    }
    variables |= {
        "hps": user,
        "framework_params": framework,
        "channels": sorted(channels),
        "training_env": properties,
        "user_args": to_cli_args(user),
    }
    variables |= {f"channel_{channel}": path for channel, path in channels.items()}
    variables |= {f"hp_{key}": value for key, value in user.items()}
    environment = {f"SM_{key.upper()}": env_value(value) for key, value in variables.items()}
    environment |= {
        "SAGEMAKER_JOB_NAME": name,
        "SAGEMAKER_REGION": region,
        "CURRENT_HOST": host,
        "TRAINING_JOB_NAME": name,
        "TRAINING_JOB_ARN": job_arn,
    }
    return {**request.get("Environment", {}), **environment}


# -- processing --------------------------------------------------------------------------------------------------


def stage_processing(
    request: dict[str, Any], storage: LocalStorage, job_dir: Path, host: str, hosts: list[str]
) -> None:
    """Create /opt/ml for one processing instance: inputs, output folders, config files."""
    for processing_input in request.get("ProcessingInputs", []):
        s3 = processing_input.get("S3Input")
        if s3 is None:
            raise JobSetupError(f"input {processing_input['InputName']}: only S3Input is supported locally")
        distribution = s3.get("S3DataDistributionType", "FullyReplicated")
        objects = select_objects(storage, s3["S3Uri"], distribution, hosts.index(host), len(hosts))
        copy_objects(objects, local_path(job_dir, s3["LocalPath"]))
    for output in request.get("ProcessingOutputConfig", {}).get("Outputs", []):
        if "S3Output" not in output:
            raise JobSetupError(f"output {output['OutputName']}: only S3Output is supported locally")
        local_path(job_dir, output["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    (job_dir / "output").mkdir(parents=True, exist_ok=True)
    _write_json(job_dir / "config" / "processingjobconfig.json", request)
    _write_json(job_dir / "config" / "resourceconfig.json", {"current_host": host, "hosts": hosts})
