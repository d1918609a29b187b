"""The schema of config/project.yaml, and loading it with errors that name the offending key."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import builtin_xgboost, rules
from .errors import ConfigError
from .local.pinned_env import Environments
from .names import NAME_PATTERN

DEFAULT_CONFIG_PATH = Path("config/project.yaml")

S3_KEY_PATTERN = re.compile(r"(?!.*//)(?!(?:.*/)?\.\.?(?:/|$))[A-Za-z0-9!_.*'()\-/]*", re.ASCII)
GPU_FAMILIES = ("ml.p", "ml.g", "ml.inf", "ml.trn")
TORCHRUN_FAMILIES = ("ml.p", "ml.g", "ml.trn")


def admits_bool(annotation: object) -> bool:
    """True when a field of this type may hold true/false."""
    if annotation is bool or annotation is Any or annotation is object:
        return True
    return any(admits_bool(argument) for argument in get_args(annotation) if not isinstance(argument, str))


class Strict(BaseModel):
    """Base of every section: unknown keys are errors, values are validated on assignment, and true/false is never
    read as a number (pydantic would turn `max_jobs: yes` into 1)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: object) -> object:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(name)
                if isinstance(value, bool) and not admits_bool(field.annotation):
                    raise ValueError(f"{name}: {str(value).lower()} is a yes/no value; give a number or text here")
        return data


def matching(pattern: re.Pattern[str], problem: str, optional: bool = False) -> AfterValidator:
    """A field validator: the whole value must match `pattern`, else ValueError(problem), `{value}` in `problem`
    standing for the value's repr. With `optional`, None and "" pass (as None)."""

    def check(value: str | None) -> str | None:
        if optional and not value:
            return None
        if not pattern.fullmatch(value):
            raise ValueError(problem.format(value=repr(value)))
        return value

    return AfterValidator(check)


NAME_RULE = "use letters, digits and single hyphens, starting and ending with a letter or digit"
InstanceType = Annotated[
    str, matching(rules.INSTANCE_TYPE_PATTERN, "{value} is not a SageMaker instance type such as ml.m5.large")
]


def is_gpu_instance(instance_type: str) -> bool:
    """True for the accelerated instance families (p, g, inf, trn)."""
    return instance_type.startswith(GPU_FAMILIES)


ROLE_ARN_PROBLEM = "{value} is not an IAM role ARN such as arn:aws:iam::123456789012:role/SageMakerRole"


class ProjectSection(Strict):
    name: Annotated[str, Field(min_length=1, max_length=40), matching(NAME_PATTERN, NAME_RULE)]
    region: Annotated[str, matching(rules.REGION_PATTERN, "{value} is not an AWS region such as us-east-1")]
    role_arn: Annotated[str | None, matching(rules.ROLE_ARN_PATTERN, ROLE_ARN_PROBLEM, optional=True)] = None
    bucket: str | None = None
    prefix: str = Field(min_length=1, max_length=200)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        problem = rules.bucket_problem(value) if value else None
        if problem:
            raise ValueError(f"{value!r} {problem}")
        return value or None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or not S3_KEY_PATTERN.fullmatch(value):
            raise ValueError("use letters, digits and - _ . / only, with no empty, . or .. part between slashes")
        return value


class SplitSection(Strict):
    validation_fraction: float = Field(gt=0, lt=0.5)
    test_fraction: float = Field(gt=0, lt=0.5)
    seed: int = 42


COLUMN_KINDS = ("numeric", "categorical", "boolean")
TEXT_KIND_PROBLEM = (
    "free text is not supported: list it under data.ignore, or turn it into features in a custom transformer "
    "(data.transformers)"
)
TRANSFORMER_PATTERN = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*", re.ASCII)


def column_kinds(value: object) -> object:
    """`data.columns`: a mapping of column name -> kind, names as text (YAML may read `1:` as a number)."""
    if isinstance(value, list):
        raise ValueError(
            "columns: a mapping of each feature column to its kind (numeric, categorical or boolean), in the order "
            "of the CSV rows, e.g. {age: numeric, city: categorical}; `python -m sm_engine data init <csv> --target "
            "<column>` writes it"
        )
    if not isinstance(value, dict):
        return value
    kinds = {}
    for name, kind in value.items():
        if isinstance(name, bool) or name is None:
            raise ValueError(f'columns: YAML reads the column name {name} as {name!r}; quote it, e.g. "{name}"')
        if kind == "text":
            raise ValueError(f"columns.{name}: {TEXT_KIND_PROBLEM}")
        if kind not in COLUMN_KINDS:
            raise ValueError(f"columns.{name}: unknown kind {kind!r}; use one of {', '.join(COLUMN_KINDS)}")
        kinds[str(name)] = kind
    return kinds


class DataSection(Strict):
    """`data:`: where the CSV is, what to predict, and the schema of the feature columns (docs: the data section)."""

    local_path: Path
    problem_type: Literal["regression", "binary_classification", "multiclass_classification"]
    target: str = Field(min_length=1)
    classes: list[str] | None = Field(default=None, max_length=1000)
    columns: Annotated[dict[str, str], BeforeValidator(column_kinds), Field(min_length=1)]
    ignore: list[str] = Field(default_factory=list)
    missing_values: list[str] = Field(default_factory=lambda: [""])
    transformers: list[str] = Field(default_factory=list)
    split: SplitSection

    @field_validator("classes", mode="before")
    @classmethod
    def _labels_are_text(cls, value: object) -> object:
        if isinstance(value, list):
            for label in value:
                if isinstance(label, bool):
                    raise ValueError(f'YAML reads the unquoted label {label} as a boolean; quote it, e.g. "no"')
            return [str(label) if isinstance(label, (int, float)) else label for label in value]
        return value

    @field_validator("transformers")
    @classmethod
    def _transformers_are_classes(cls, value: list[str]) -> list[str]:
        for name in value:
            if not TRANSFORMER_PATTERN.fullmatch(name):
                raise ValueError(
                    f"transformers: {name!r} is not <module>.<Class> of a module in jobs/, "
                    "e.g. car_features.CarFeatures"
                )
        return value

    @model_validator(mode="after")
    def _target_not_a_feature(self) -> DataSection:
        if self.target in self.columns:
            raise ValueError(
                f"columns: the target {self.target!r} is listed among the feature columns; remove it from columns"
            )
        if self.target in self.ignore:
            raise ValueError(f"ignore: the target {self.target!r} is listed; remove it from ignore")
        both = [name for name in self.ignore if name in self.columns]
        if both:
            raise ValueError(
                f"ignore: {', '.join(map(repr, both))} also in columns; keep each column in one of the two lists"
            )
        if len(set(self.ignore)) != len(self.ignore):
            raise ValueError("ignore: each column once")
        return self

    @model_validator(mode="after")
    def _classes_fit_the_problem(self) -> DataSection:
        classes = self.classes
        if self.problem_type == "regression":
            if classes is not None:
                raise ValueError("classes: a regression has no classes; remove the key or set it to null")
            return self
        if classes is None:
            raise ValueError(f'classes: {self.problem_type} needs the list of class labels, e.g. ["no", "yes"]')
        if len(set(classes)) != len(classes) or not all(label.strip() == label and label for label in classes):
            raise ValueError("classes: each label once, non-empty, without leading or trailing spaces")
        if self.problem_type == "binary_classification" and len(classes) != 2:
            raise ValueError(f"classes: binary_classification needs exactly 2 labels, not {len(classes)}")
        if self.problem_type == "multiclass_classification" and len(classes) < 3:
            raise ValueError("classes: multiclass_classification needs 3 or more labels (2: binary_classification)")
        return self


class StorageSection(Strict):
    raw: str
    features: str
    preprocessor: str
    models: str
    code: str
    transform: str
    capture: str

    @field_validator("*")
    @classmethod
    def _key(cls, value: str) -> str:
        value = value.strip("/")
        if not value or not S3_KEY_PATTERN.fullmatch(value):
            raise ValueError("use letters, digits and - _ . / only, with no empty, . or .. part between slashes")
        return value


class JobSection(Strict):
    """What processing and training jobs have in common: the image and the compute."""

    framework: Literal["sklearn"] = "sklearn"
    framework_version: str = "1.9-0"
    image_uri: str | None = None
    instance_type: InstanceType
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=1, le=432000)
    entry_point: str
    environment: dict[str, str] = Field(default_factory=dict, max_length=100)

    @field_validator("entry_point")
    @classmethod
    def _entry_point(cls, value: str | None) -> str | None:
        if value is not None and ("/" in value or not value.endswith((".py", ".sh"))):
            raise ValueError("name a .py or .sh file inside jobs/, e.g. train.py")
        return value


class ProcessingSection(JobSection):
    arguments: dict[str, str | int | float | bool] = Field(default_factory=dict)


HyperparameterValue = str | int | float | bool


class MetricDefinition(Strict):
    name: str = Field(min_length=1, max_length=255)
    regex: str = Field(min_length=1, max_length=500)

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"invalid regular expression: {error}") from None
        if compiled.groups < 1:
            raise ValueError("the regex needs one capture group around the number")
        return value


class Distribution(Strict):
    """The SageMaker PyTorch estimator's `distribution`: torch_distributed runs the script under torchrun, one process
    per GPU (or Trainium device) of every instance; the SDK allows it on GPU and Trainium instance types only."""

    torch_distributed: bool = False


CLASSES_HYPERPARAMETER = "classes"
"""The hyperparameter through which a classifier's training job gets data.classes (a JSON list)."""


class TrainingSection(JobSection):
    """`mode: script` runs entry_point in the framework's container; `mode: builtin` is the SageMaker XGBoost
    algorithm: no script, its own hyperparameters, its predefined metrics (builtin_xgboost.py); `mode: container` is
    the project's own image (container/): its `train` program, which prints the lines metric_definitions read."""

    framework: Literal["sklearn", "xgboost", "pytorch"] = "sklearn"
    mode: Literal["script", "builtin", "container"] = "script"
    distribution: Distribution = Field(default_factory=Distribution)
    entry_point: str | None = None
    hyperparameters: dict[str, HyperparameterValue] = Field(default_factory=dict, max_length=100)
    metric_definitions: list[MetricDefinition] = Field(default_factory=list, max_length=40)

    @field_validator("metric_definitions")
    @classmethod
    def _unique_metric_names(cls, value: list[MetricDefinition]) -> list[MetricDefinition]:
        names = [definition.name for definition in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"each metric name may appear once; listed more than once: {', '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _distribution_rules(self) -> TrainingSection:
        if self.distribution.torch_distributed:
            if self.framework != "pytorch":
                raise ValueError("distribution.torch_distributed: torchrun is for framework pytorch")
            if not self.instance_type.startswith(TORCHRUN_FAMILIES):
                raise ValueError(
                    f"distribution.torch_distributed: needs a GPU or Trainium instance type (ml.g*, ml.p*, ml.trn*), "
                    f"not {self.instance_type}; on CPU instances the script joins the hosts itself (set it to false)"
                )
        return self

    @model_validator(mode="after")
    def _mode_rules(self) -> TrainingSection:
        if self.mode == "script":
            if not self.entry_point:
                raise ValueError("entry_point: script mode needs the training script, e.g. train.py")
            if not self.metric_definitions:
                raise ValueError("metric_definitions: script mode needs at least one {name, regex}")
            return self
        if self.mode == "container":
            if self.entry_point is not None or not self.metric_definitions:
                raise ValueError(
                    "mode container runs the image's own `train` program: set entry_point: null and give "
                    "metric_definitions for the lines it prints"
                )
            return self
        if self.framework != "xgboost":
            raise ValueError("mode: builtin is the SageMaker XGBoost algorithm; it needs framework: xgboost")
        if self.entry_point is not None or self.metric_definitions:
            raise ValueError(
                "mode builtin runs no script and has predefined metrics: set entry_point: null and "
                "metric_definitions: []"
            )
        if "num_round" not in self.hyperparameters:
            raise ValueError("hyperparameters: the built-in XGBoost algorithm needs num_round")
        if "num_class" in self.hyperparameters:
            raise ValueError("hyperparameters: 'num_class' is set from data.classes; list the labels there")
        return self

    def metric_names(self) -> set[str]:
        """The metrics a job of this section reports: the definitions, or the algorithm's predefined ones."""
        if self.mode == "builtin":
            return set(builtin_xgboost.METRIC_NAMES)
        return {definition.name for definition in self.metric_definitions}

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameter_names(cls, value: dict[str, HyperparameterValue]) -> dict[str, HyperparameterValue]:
        for key in value:
            if key.startswith("sagemaker_") or key == "_tuning_objective_metric":
                raise ValueError(f"{key!r} is reserved by SageMaker")
            if key == CLASSES_HYPERPARAMETER:
                raise ValueError(f"{key!r} is set from data.classes; list the labels there")
            if len(key) > 256:
                raise ValueError(f"hyperparameter name {key[:20]!r}... is longer than 256 characters")
        return value


class ParameterRange(Strict):
    name: str = Field(min_length=1, max_length=256)
    type: Literal["Integer", "Continuous", "Categorical"]
    min: float | None = None
    max: float | None = None
    values: list[str | int | float] | None = Field(default=None, min_length=1, max_length=30)
    scaling: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = "Auto"

    @model_validator(mode="after")
    def _bounds(self) -> ParameterRange:
        if self.type == "Categorical":
            if not self.values or self.min is not None or self.max is not None:
                raise ValueError("a Categorical range needs values and no min/max")
            return self
        if self.values is not None or self.min is None or self.max is None:
            raise ValueError(f"an {self.type} range needs min and max and no values")
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if self.scaling == "Logarithmic" and self.min <= 0:
            raise ValueError("Logarithmic scaling needs min > 0")
        if self.scaling == "ReverseLogarithmic" and (self.type != "Continuous" or self.min < 0 or self.max >= 1):
            raise ValueError("ReverseLogarithmic scaling needs a Continuous range with 0 <= min < max < 1")
        if self.type == "Integer" and (self.min != int(self.min) or self.max != int(self.max)):
            raise ValueError("an Integer range needs whole-number min and max")
        return self


class Objective(Strict):
    metric: str = Field(min_length=1, max_length=255)
    type: Literal["Minimize", "Maximize"]


class TuningSection(Strict):
    enabled: bool
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"]
    objective: Objective
    max_jobs: int = Field(ge=1, le=750)
    max_parallel_jobs: int = Field(ge=1, le=100)
    early_stopping: Literal["Off", "Auto"] = "Off"
    random_seed: int | None = None
    ranges: list[ParameterRange] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _strategy_rules(self) -> TuningSection:
        names = [r.name for r in self.ranges]
        if len(set(names)) != len(names):
            raise ValueError("each range name may appear once")
        if self.max_parallel_jobs > self.max_jobs:
            raise ValueError("max_parallel_jobs cannot exceed max_jobs")
        if self.strategy == "Grid" and any(r.type != "Categorical" for r in self.ranges):
            raise ValueError("the Grid strategy needs Categorical ranges only")
        if self.strategy == "Hyperband" and self.early_stopping != "Off":
            raise ValueError("the Hyperband strategy needs early_stopping: Off")
        return self


ECR_REPOSITORY_PATTERN = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", re.ASCII)
IMAGE_TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)


class ContainerSection(Strict):
    """The project's own image (training.mode container): where container/build_and_push.sh pushes it."""

    repository: Annotated[
        str,
        Field(min_length=2, max_length=256),
        matching(ECR_REPOSITORY_PATTERN, "{value} is not an ECR repository name (lowercase letters, digits, . _ - /)"),
    ]
    tag: Annotated[
        str, matching(IMAGE_TAG_PATTERN, "{value} is not an image tag (letters, digits, . _ -, at most 128)")
    ] = "latest"
    image_uri: str | None = None  # null: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>


class ModelSection(Strict):
    inference_pipeline: bool
    preprocessor_entry_point: str
    model_entry_point: str | None = None  # null with training.mode builtin: the algorithm's own serving stack
    model_server_workers: int = Field(default=1, ge=1, le=64)


class Variant(Strict):
    name: Annotated[
        str, Field(min_length=1, max_length=63), matching(NAME_PATTERN, "use letters, digits and single hyphens")
    ]
    instance_type: InstanceType
    initial_instance_count: int = Field(default=1, ge=1, le=100)
    weight: float = Field(default=1.0, ge=0)


class DataCapture(Strict):
    enabled: bool = False
    sampling_percentage: int = Field(default=100, ge=0, le=100)


class Autoscaling(Strict):
    enabled: bool = False
    min_capacity: int = Field(default=1, ge=0)  # 0 (scale to zero) only for async endpoints
    max_capacity: int = Field(default=4, ge=1)
    target_invocations_per_instance: float = Field(default=1000, gt=0)

    @model_validator(mode="after")
    def _capacity(self) -> Autoscaling:
        if self.min_capacity > self.max_capacity:
            raise ValueError("min_capacity cannot exceed max_capacity")
        return self


SNS_TOPIC_PATTERN = re.compile(r"arn:aws[a-z\-]*:sns:[a-z0-9\-]*:[0-9]{12}:[a-zA-Z0-9_.\-]+", re.ASCII)


class ServerlessSection(Strict):
    """ServerlessConfig of the variant (contract §7): memory in 1 GB steps, concurrent invocations."""

    memory_size_mb: int = Field(default=2048, ge=1024, le=6144, multiple_of=1024)
    max_concurrency: int = Field(default=5, ge=1, le=200)
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)

    @model_validator(mode="after")
    def _provisioned(self) -> ServerlessSection:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError("provisioned_concurrency cannot exceed max_concurrency")
        return self


SnsTopic = Annotated[
    str | None,
    matching(
        SNS_TOPIC_PATTERN, "{value} is not an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:my-topic", True
    ),
]


class AsyncSection(Strict):
    """AsyncInferenceConfig (contract §7): queue depth per instance and optional SNS notifications."""

    max_concurrent_invocations_per_instance: int = Field(default=4, ge=1, le=1000)
    success_topic: SnsTopic = None
    error_topic: SnsTopic = None
    poll_timeout_seconds: int = Field(default=120, ge=1, le=3600)  # how long `predict` waits for the output


class EndpointSection(Strict):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    type: Literal["realtime", "serverless", "async", "batch"]
    variants: list[Variant] = Field(min_length=1, max_length=10)
    data_capture: DataCapture = Field(default_factory=DataCapture)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    serverless: ServerlessSection = Field(default_factory=ServerlessSection)
    async_inference: AsyncSection = Field(default_factory=AsyncSection, alias="async")

    @model_validator(mode="after")
    def _variants(self) -> EndpointSection:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        if sum(v.weight for v in self.variants) <= 0:
            raise ValueError("at least one variant needs a weight above 0")
        if self.autoscaling.min_capacity == 0 and self.type != "async":
            raise ValueError("autoscaling.min_capacity: 0 (scale to zero) needs endpoint type async; use 1 or more")
        if self.autoscaling.enabled and self.type == "serverless":
            raise ValueError("autoscaling.enabled: serverless endpoints scale by themselves; set it to false")
        return self


class BatchTransformSection(Strict):
    instance_type: InstanceType
    instance_count: int = Field(default=1, ge=1, le=100)
    content_type: str = "text/csv"
    accept: str = "text/csv"
    split_type: Literal["None", "Line"] = "Line"
    strategy: Literal["SingleRecord", "MultiRecord"] = "MultiRecord"
    max_payload_mb: int = Field(default=6, ge=0, le=100)
    max_concurrent_transforms: int = Field(default=1, ge=1, le=100)
    assemble_with: Literal["None", "Line"] = "Line"
    input_filter: str = Field(default="$", max_length=63)
    join_source: Literal["None", "Input"] = "None"
    output_filter: str = Field(default="$", max_length=63)

    @model_validator(mode="after")
    def _rules(self) -> BatchTransformSection:
        if self.strategy == "MultiRecord" and self.split_type == "None":
            raise ValueError("strategy MultiRecord needs split_type Line")
        if self.max_concurrent_transforms * self.max_payload_mb > 100:
            raise ValueError("max_concurrent_transforms x max_payload_mb may be at most 100")
        if self.join_source == "Input" and (self.split_type != "Line" or self.assemble_with != "Line"):
            raise ValueError("join_source Input needs split_type Line and assemble_with Line")
        return self


class ApiSection(Strict):
    enabled: bool
    function_name: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9\-_]+$")
    memory_size_mb: int = Field(default=256, ge=128, le=10240)
    timeout_seconds: int = Field(default=30, ge=1, le=900)


ISO_DURATION_PATTERN = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?", re.ASCII)
METRIC_PATH_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*", re.ASCII)
METRIC_PATH_PROBLEM = "{value} is not a JSON path into evaluation.json such as regression_metrics.rmse.value"


class PipelineCondition(Strict):
    """Register the model only when `<metric> <comparison> <threshold>` holds in the evaluation report."""

    metric: Annotated[str, Field(max_length=256), matching(METRIC_PATH_PATTERN, METRIC_PATH_PROBLEM)] = (
        "regression_metrics.rmse.value"
    )
    comparison: Literal["<=", ">=", "<", ">"] = "<="
    threshold: float = 6.0


class PipelineCache(Strict):
    enabled: bool = True
    expire_after: Annotated[
        str, matching(ISO_DURATION_PATTERN, "{value} is not an ISO 8601 duration such as P30D, PT12H or P1DT6H")
    ] = "P30D"


class PipelineSection(Strict):
    """The SageMaker Pipelines definition (`pipeline` commands): registration, its condition, caching."""

    model_package_group: Annotated[str | None, Field(max_length=63), matching(NAME_PATTERN, NAME_RULE, True)] = None
    approval_status: Literal["PendingManualApproval", "Approved", "Rejected"] = "PendingManualApproval"
    condition: PipelineCondition = Field(default_factory=PipelineCondition)
    cache: PipelineCache = Field(default_factory=PipelineCache)
    batch_transform: bool | None = None


SUBNET_PATTERN = re.compile(r"subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?", re.ASCII)
SECURITY_GROUP_PATTERN = re.compile(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?", re.ASCII)
KMS_KEY_PATTERN = re.compile(
    r"(?:arn:aws[a-z\-]*:kms:[a-z0-9\-]+:\d{12}:)?(?:key/)?(?:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
    r"|(?:arn:aws[a-z\-]*:kms:[a-z0-9\-]+:\d{12}:)?alias/[A-Za-z0-9/_\-]{1,250}",
    re.ASCII,
)
KMS_KEY_PROBLEM = (
    "{value} is not a KMS key: a key id (1234abcd-12ab-34cd-56ef-1234567890ab), alias/<name>, or a key or alias ARN"
)
KmsKey = Annotated[str | None, Field(max_length=2048), matching(KMS_KEY_PATTERN, KMS_KEY_PROBLEM, optional=True)]
SubnetId = Annotated[str, matching(SUBNET_PATTERN, "{value} is not a subnet id such as subnet-0123456789abcdef0")]
SecurityGroupId = Annotated[
    str, matching(SECURITY_GROUP_PATTERN, "{value} is not a security group id such as sg-0123456789abcdef0")
]


class VpcSection(Strict):
    """VpcConfig of the jobs and the model: the containers get network interfaces in these subnets."""

    subnets: list[SubnetId] = Field(min_length=1, max_length=16)
    security_groups: list[SecurityGroupId] = Field(min_length=1, max_length=5)


class SecuritySection(Strict):
    """Network isolation, VPC, KMS keys and inter-container encryption, passed to every request that has them."""

    network_isolation: bool = False
    vpc: VpcSection | None = None
    kms_key_id: KmsKey = None  # the ML storage volumes of jobs and endpoint instances
    output_kms_key_id: KmsKey = None  # what jobs, data capture and async inference write to S3
    encrypt_inter_container_traffic: bool = False


MLFLOW_ARN_PATTERN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-[a-zA-Z-]*/.+", re.ASCII)
MLFLOW_ARN_PROBLEM = (
    "{value} is not a SageMaker MLflow ARN such as arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/name"
)
EXPERIMENT_ENTITY_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}", re.ASCII)
ExperimentEntityName = Annotated[
    str, matching(EXPERIMENT_ENTITY_PATTERN, "{value}: use up to 120 letters, digits and hyphens, no leading hyphen")
]


class MlflowSection(Strict):
    """Where MLflow runs go. Locally the engine logs each `run` to `tracking_uri` (null: a SQLite store under the
    local root); on AWS `tracking_server_arn` (a SageMaker managed MLflow tracking server) becomes the training jobs'
    MlflowConfig and their MLFLOW_TRACKING_URI."""

    tracking_uri: str | None = Field(default=None, min_length=1)
    experiment: str | None = Field(default=None, min_length=1, max_length=256)  # null: the project name
    tracking_server_arn: Annotated[
        str | None, Field(max_length=2048), matching(MLFLOW_ARN_PATTERN, MLFLOW_ARN_PROBLEM, optional=True)
    ] = None


class ExperimentSection(Strict):
    """ExperimentConfig of the processing, training and transform jobs (SageMaker Experiments): the experiment (and
    trial) must exist."""

    experiment_name: ExperimentEntityName
    trial_name: ExperimentEntityName | None = None
    run_name: ExperimentEntityName | None = None


class TrackingSection(Strict):
    """Experiment tracking, opt-in: absent, nothing is tracked."""

    mlflow: MlflowSection | None = None
    experiment_config: ExperimentSection | None = None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class LocalSection(Strict):
    """The local executor: its store folder (inside the project unless `root_outside_project`), the address the
    endpoints listen on (loopback unless you mean to share the model on the network), the Python environment its jobs
    and endpoints run in (`environments`)."""

    root: Path = Path(".sagemaker-local")
    root_outside_project: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    workers: int = Field(default=2, ge=1, le=32)
    environments: Environments = "host"
    """`host`: jobs and endpoints run on this machine's Python and libraries (the log says where they differ from the
    image's); `pinned`: each runs in a virtualenv built once (with uv, in ~/.cache/sm-template-engine/envs) with the
    Python and library versions of its image (sm_engine.image_versions), as on SageMaker."""

    @model_validator(mode="after")
    def _root_and_host(self) -> LocalSection:
        if (self.root.is_absolute() or ".." in self.root.parts) and not self.root_outside_project:
            raise ValueError(
                f"root: {str(self.root)!r} is outside the project; the local executor writes and deletes there. "
                "Use a folder inside the project, or set local.root_outside_project: true"
            )
        if self.host not in LOOPBACK_HOSTS:
            warnings.warn(
                f"local.host {self.host!r}: local endpoints will accept connections from other machines; "
                "use 127.0.0.1 unless you mean to share the model",
                UserWarning,
                stacklevel=2,
            )
        return self


class ProjectConfig(Strict):
    """The whole of config/project.yaml."""

    project: ProjectSection
    data: DataSection
    storage: StorageSection
    processing: ProcessingSection
    training: TrainingSection
    tuning: TuningSection
    model: ModelSection
    endpoint: EndpointSection
    batch_transform: BatchTransformSection
    api: ApiSection
    pipeline: PipelineSection = Field(default_factory=PipelineSection)
    container: ContainerSection | None = None
    security: SecuritySection = Field(default_factory=SecuritySection)
    local: LocalSection = Field(default_factory=LocalSection)
    tracking: TrackingSection | None = None

    @model_validator(mode="after")
    def _cross_section_rules(self) -> ProjectConfig:
        metric_names = self.training.metric_names()
        if self.tuning.enabled and self.tuning.objective.metric not in metric_names:
            source = "the built-in algorithm's metrics" if self.training.mode == "builtin" else "metric_definitions"
            raise ValueError(
                f"tuning.objective.metric: {self.tuning.objective.metric!r} is not one of "
                f"training.{source}: {sorted(metric_names)}"
            )
        if self.training.mode == "container" and self.container is None:
            raise ValueError("container: training.mode container needs the image's repository (container.repository)")
        if self.training.mode == "script" and not self.model.model_entry_point:
            raise ValueError("model.model_entry_point: script mode needs an inference handler, e.g. model_inference.py")
        if self.endpoint.type == "serverless":
            if len(self.endpoint.variants) > 1:
                raise ValueError("endpoint.variants: a serverless endpoint has exactly one variant")
            if self.model.inference_pipeline:
                raise ValueError("model.inference_pipeline: serverless endpoints do not support inference pipelines")
            if self.endpoint.data_capture.enabled:
                raise ValueError("endpoint.data_capture.enabled: serverless endpoints do not support data capture")
        if self.training.mode == "builtin" and not self.model.inference_pipeline:
            raise ValueError(
                "model.inference_pipeline: the built-in XGBoost container serves preprocessed feature rows only and "
                "cannot hold the preprocessor; set it to true (the preprocessor container goes first)"
            )
        if self.api.enabled and self.endpoint.type == "batch":
            raise ValueError("api.enabled: the API needs an endpoint, and endpoint.type batch has none")
        known = set(self.training.hyperparameters)
        if self.training.mode == "builtin":  # the algorithm's own hyperparameters have defaults: any of them tunes
            known |= builtin_xgboost.HYPERPARAMETERS
        unknown = [r.name for r in self.tuning.ranges if r.name not in known]
        if unknown:
            raise ValueError(
                f"tuning.ranges: {', '.join(map(repr, unknown))} is not a training hyperparameter; "
                f"tune one of {sorted(self.training.hyperparameters)}, or declare it with its default in "
                "training.hyperparameters"
            )
        self._security_rules()
        return self

    def _security_rules(self) -> None:
        """Serverless endpoints run in no VPC and without isolation (contract §7); an isolated container reaches
        no S3, so no container may load its code from the sourcedir at start."""
        security = self.security
        if self.endpoint.type == "serverless":
            if security.vpc is not None:
                raise ValueError("security.vpc: serverless endpoints do not run in a VPC; remove it or use realtime")
            if security.network_isolation:
                raise ValueError("security.network_isolation: serverless endpoints do not support network isolation")
        if not security.network_isolation:
            return
        if self.training.mode == "script":
            raise ValueError(
                "security.network_isolation: in script mode the training container downloads its code from S3 "
                "(sagemaker_submit_directory), which an isolated container cannot reach; use training.mode "
                "container (or builtin) or set it to false"
            )
        if self.model.inference_pipeline:
            raise ValueError(
                "security.network_isolation: the preprocessor container of the inference pipeline loads its code "
                "from S3 (SAGEMAKER_SUBMIT_DIRECTORY), which an isolated model cannot reach; set it to false"
            )


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: `source: key.path: message`."""
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the documented keys)"
        lines.append(f"{source}: {path}: {message}" if path else f"{source}: {message}")
    return "\n".join(lines)


def parse_config(data: object, source: str = "config") -> ProjectConfig:
    """Validate an already-parsed mapping; raise ConfigError with one line per problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}: keep one of them", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


MAX_CONFIG_BYTES = 1_000_000


def read_config_text(path: Path) -> str:
    """The file's text, or ConfigError saying why it cannot be read as a UTF-8 YAML file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the project root or pass --config)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder; pass the YAML file, e.g. --config config/project.yaml") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {len(raw)} bytes is too large for a project config (at most {MAX_CONFIG_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: is not UTF-8 text (binary, or another encoding such as UTF-16); save as UTF-8"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"{path}: holds NUL bytes; it is not a text file")
    return text


def load_config(path: Path | str = DEFAULT_CONFIG_PATH) -> ProjectConfig:
    """Read and validate a project YAML file."""
    path = Path(path)
    text = read_config_text(path)
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a project config") from None
    return parse_config(data, str(path))
