"""The whole workflow as a SageMaker Pipelines definition, built offline from the very requests of RequestFactory.

Each step's `Arguments` is the request dict the project already sends (CreateProcessingJob, CreateTrainingJob, ...)
without the resource name (the service names pipeline jobs itself); instance types and the data location become
pipeline parameters (`{"Get": "Parameters.X"}`) and each step reads its inputs from the properties of the steps before
it (`{"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}`). The definition JSON
(schema version 2020-12-01) goes to CreatePipeline/UpdatePipeline as is: no SDK needed.

Preprocess -> Train (or Tune: its best training job) -> Evaluate (evaluation.json, a PropertyFile) -> CheckMetric
(`pipeline.condition`, e.g. regression_metrics.rmse.value <= RmseThreshold) -> RegisterModel + CreateModel
(+ Transform), else a Fail step. Registration, the condition and caching come from the config's `pipeline` section.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .config import ProjectConfig
from .errors import UserError
from .images import LOCAL_ACCOUNT, ImageResolver, image_uri
from .sagemaker_requests import CSV, JSON, PROCESSING_INPUT_DIR, RequestFactory
from .storage import s3_join

SCHEMA_VERSION = "2020-12-01"
EVALUATION_ENTRY_POINT = "evaluate.py"
EVALUATION_DIR = "/opt/ml/processing/evaluation"
EVALUATION_FILE = "evaluation.json"
EVALUATION_REPORT = "EvaluationReport"
# pipeline.condition.comparison -> (condition type, how a failing value relates to the threshold)
COMPARISONS = {
    "<=": ("LessThanOrEqualTo", "above"),
    ">=": ("GreaterThanOrEqualTo", "below"),
    "<": ("LessThan", "not below"),
    ">": ("GreaterThan", "not above"),
}
MODEL_ARTIFACT = "output/model.tar.gz"  # a training job's model under <S3OutputPath>/<job name>/

PREPROCESS, TRAIN, TUNE, EVALUATE = "Preprocess", "Train", "Tune", "Evaluate"
CHECK, REGISTER, CREATE_MODEL, TRANSFORM, FAIL = "CheckMetric", "RegisterModel", "CreateModel", "Transform", "Fail"

# Pipeline step type -> the API operation whose request is its Arguments.
STEP_OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Model": "CreateModel",
    "RegisterModel": "CreateModelPackage",
    "Transform": "CreateTransformJob",
}
# The request key the service fills in itself for each operation.
NAME_KEYS = {
    "CreateProcessingJob": "ProcessingJobName",
    "CreateTrainingJob": "TrainingJobName",
    "CreateHyperParameterTuningJob": "HyperParameterTuningJobName",
    "CreateModel": "ModelName",
    "CreateTransformJob": "TransformJobName",
}


class PipelineError(UserError, ValueError):
    """The pipeline cannot be built for this config; the message says why."""


# -- expressions of the definition language ----------------------------------------------------------------------


def get(path: str) -> dict[str, str]:
    """A reference to a parameter (`Parameters.X`), a step property (`Steps.X...`) or an execution variable."""
    return {"Get": path}


def join(*values: Any, on: str = "/") -> dict[str, Any]:
    """`Std:Join`: the values (strings or expressions) joined at run time."""
    return {"Std:Join": {"On": on, "Values": list(values)}}


def json_get(step: str, property_file: str, path: str) -> dict[str, Any]:
    """`Std:JsonGet`: a value read from a step's property file."""
    return {"Std:JsonGet": {"PropertyFile": get(f"Steps.{step}.PropertyFiles.{property_file}"), "Path": path}}


def processing_output(step: str, output: str) -> dict[str, str]:
    return get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def per_execution(uri: str) -> dict[str, Any]:
    """`<uri>/<pipeline execution id>`: each execution writes its own outputs."""
    return join(uri, get("Execution.PipelineExecutionId"))


def parameter(name: str, kind: str, default: Any) -> dict[str, Any]:
    return {"Name": name, "Type": kind, "DefaultValue": default}


def threshold_parameter(metric_path: str) -> str:
    """The pipeline parameter of the condition's threshold, named after the metric:
    `regression_metrics.rmse.value` -> `RmseThreshold`, `binary_classification_metrics.auc.value` -> `AucThreshold`."""
    parts = [part for part in metric_path.replace("[", ".").replace("]", "").split(".") if part]
    if len(parts) > 1 and parts[-1] == "value":
        parts.pop()
    name = "".join(word.capitalize() for word in parts[-1].split("_") if word)
    return f"{name}Threshold"


def step_arguments(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the request without the resource name, which the pipeline assigns, nor ExperimentConfig: a
    pipeline's executions are its experiment's runs (PipelineExperimentConfig), as the SDK's steps leave it out."""
    arguments = copy.deepcopy(request)
    arguments.pop(NAME_KEYS.get(operation, ""), None)
    arguments.pop("ExperimentConfig", None)
    return arguments


# -- the definition --------------------------------------------------------------------------------------------


class PipelineBuilder:
    """The steps of one project's pipeline; `definition()` assembles them."""

    def __init__(
        self,
        config: ProjectConfig,
        bucket: str,
        role_arn: str,
        threshold: float | None = None,
        transform: bool | None = None,
        images: ImageResolver = image_uri,
        account_id: str = LOCAL_ACCOUNT,
        input_data_url: str | None = None,
    ) -> None:
        """`threshold` and `transform` override `pipeline.condition.threshold` and `pipeline.batch_transform`;
        `input_data_url` (the uploaded data file, `ProjectLocations.raw_data_object`) is InputDataUrl's default,
        else the raw prefix."""
        self.config = config
        self.settings = config.pipeline
        self.factory = RequestFactory(config, bucket, role_arn, images=images, account_id=account_id)
        self.locations = self.factory.locations
        self.condition = self.settings.condition
        self.threshold = self.condition.threshold if threshold is None else threshold
        self.threshold_name = threshold_parameter(self.condition.metric)
        if transform is None:
            transform = self.settings.batch_transform
        self.with_transform = config.endpoint.type == "batch" if transform is None else transform
        self.model_step = TUNE if config.tuning.enabled else TRAIN
        self.input_data_url = input_data_url or self.locations.raw_data

    def _cached(self, step: dict[str, Any]) -> dict[str, Any]:
        """The step with its CacheConfig when `pipeline.cache.enabled`."""
        cache = self.settings.cache
        return {**step, "CacheConfig": {"Enabled": True, "ExpireAfter": cache.expire_after}} if cache.enabled else step

    def parameters(self) -> list[dict[str, Any]]:
        parameters = [
            parameter("ProcessingInstanceType", "String", self.config.processing.instance_type),
            parameter("TrainingInstanceType", "String", self.config.training.instance_type),
            parameter("InputDataUrl", "String", self.input_data_url),
            parameter("ModelApprovalStatus", "String", self.settings.approval_status),
            parameter(self.threshold_name, "Float", self.threshold),
        ]
        if self.with_transform:
            parameters.append(parameter("TransformInstanceType", "String", self.config.batch_transform.instance_type))
        return parameters

    # -- model artefacts of earlier steps ------------------------------------------------------------------------

    def model_data(self) -> Any:
        """The trained model.tar.gz: the training step's artefact, or the tuning step's best training job's."""
        if self.model_step == TRAIN:
            return get(f"Steps.{TRAIN}.ModelArtifacts.S3ModelArtifacts")
        best_job = get(f"Steps.{TUNE}.TrainingJobSummaries[0].TrainingJobName")
        return join(self.locations.models, best_job, MODEL_ARTIFACT)

    @staticmethod
    def preprocessor_data() -> dict[str, Any]:
        return join(processing_output(PREPROCESS, "preprocessor"), "model.tar.gz")

    # -- steps ---------------------------------------------------------------------------------------------------

    def preprocess(self) -> dict[str, Any]:
        arguments = step_arguments("CreateProcessingJob", self.factory.processing_job("pipeline"))
        arguments["ProcessingResources"]["ClusterConfig"]["InstanceType"] = get("Parameters.ProcessingInstanceType")
        for item in arguments["ProcessingInputs"]:
            if item["InputName"] == "raw":
                item["S3Input"]["S3Uri"] = get("Parameters.InputDataUrl")
        for output in arguments["ProcessingOutputConfig"]["Outputs"]:
            output["S3Output"]["S3Uri"] = per_execution(output["S3Output"]["S3Uri"])
        return self._cached({"Name": PREPROCESS, "Type": "Processing", "Arguments": arguments})

    def _use_features(self, definition: dict[str, Any]) -> None:
        definition["ResourceConfig"]["InstanceType"] = get("Parameters.TrainingInstanceType")
        for channel in definition["InputDataConfig"]:
            channel["DataSource"]["S3DataSource"]["S3Uri"] = processing_output(PREPROCESS, channel["ChannelName"])

    def train(self) -> dict[str, Any]:
        arguments = step_arguments("CreateTrainingJob", self.factory.training_job("pipeline"))
        self._use_features(arguments)
        return self._cached({"Name": TRAIN, "Type": "Training", "Arguments": arguments})

    def tune(self) -> dict[str, Any]:
        arguments = step_arguments("CreateHyperParameterTuningJob", self.factory.tuning_job("pipeline"))
        self._use_features(arguments["TrainingJobDefinition"])
        return self._cached({"Name": TUNE, "Type": "Tuning", "Arguments": arguments})

    def evaluate(self) -> dict[str, Any]:
        """A processing step running jobs/evaluate.py on the test split; evaluation.json is its PropertyFile."""
        arguments = step_arguments("CreateProcessingJob", self.factory.processing_job("pipeline"))
        arguments["ProcessingResources"]["ClusterConfig"]["InstanceType"] = get("Parameters.ProcessingInstanceType")
        code = next(item for item in arguments["ProcessingInputs"] if item["InputName"] == "code")
        model = self.factory._processing_input("model", "s3://placeholder")
        model["S3Input"]["S3Uri"] = self.model_data()
        test = self.factory._processing_input("test", "s3://placeholder")
        test["S3Input"]["S3Uri"] = processing_output(PREPROCESS, "test")
        arguments["ProcessingInputs"] = [model, test, code]
        evaluation_uri = s3_join(self.locations.root, "evaluation")
        arguments["ProcessingOutputConfig"]["Outputs"] = [  # KmsKeyId (security.output_kms_key_id) stays
            {
                "OutputName": "evaluation",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": per_execution(evaluation_uri),
                    "LocalPath": EVALUATION_DIR,
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
        arguments["AppSpecification"]["ContainerEntrypoint"] = [
            "python3",
            f"{PROCESSING_INPUT_DIR}/code/{EVALUATION_ENTRY_POINT}",
        ]
        training = self.factory.config.training
        if training.framework in ("pytorch", "xgboost") or training.mode == "container":
            # evaluate.py loads the model with torch / xgboost / the project's additive_model package
            arguments["AppSpecification"]["ImageUri"] = self.factory.job_image(training, "processing")
        arguments["AppSpecification"].pop("ContainerArguments", None)
        classes = self.factory.config.data.classes
        if training.mode == "builtin" and classes is not None:  # the algorithm's model has no classes.json
            arguments["AppSpecification"]["ContainerArguments"] = ["--classes", json.dumps(classes)]
        return self._cached(
            {
                "Name": EVALUATE,
                "Type": "Processing",
                "Arguments": arguments,
                "PropertyFiles": [
                    {"PropertyFileName": EVALUATION_REPORT, "OutputName": "evaluation", "FilePath": EVALUATION_FILE}
                ],
            }
        )

    def _model_request(self) -> dict[str, Any]:
        return self.factory.model("pipeline", "s3://model", "s3://preprocessor")

    def _containers(self) -> list[dict[str, Any]]:
        """The model's containers (preprocessor then model, or the model alone) with the artefacts of the steps."""
        request = self._model_request()
        containers = copy.deepcopy(request.get("Containers") or [request["PrimaryContainer"]])
        containers[-1]["ModelDataUrl"] = self.model_data()
        if len(containers) > 1:
            containers[0]["ModelDataUrl"] = self.preprocessor_data()
        return containers

    def register(self) -> dict[str, Any]:
        """CreateModelPackage in the project's group, with the evaluation report as its model quality metrics."""
        report = join(processing_output(EVALUATE, "evaluation"), EVALUATION_FILE)
        arguments = {
            "ModelPackageGroupName": model_package_group(self.config),
            "ModelPackageDescription": f"{self.config.project.name} model registered by its pipeline",
            "ModelApprovalStatus": get("Parameters.ModelApprovalStatus"),
            "InferenceSpecification": {
                "Containers": self._containers(),
                "SupportedContentTypes": [CSV, JSON],
                "SupportedResponseMIMETypes": [JSON, CSV],
                "SupportedRealtimeInferenceInstanceTypes": sorted(
                    {variant.instance_type for variant in self.config.endpoint.variants}
                ),
                "SupportedTransformInstanceTypes": [self.config.batch_transform.instance_type],
            },
            "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": JSON, "S3Uri": report}}},
        }
        return {"Name": REGISTER, "Type": "RegisterModel", "Arguments": arguments}

    def create_model(self) -> dict[str, Any]:
        arguments = step_arguments("CreateModel", self._model_request())
        containers = self._containers()
        if "Containers" in arguments:
            arguments["Containers"] = containers
        else:
            arguments["PrimaryContainer"] = containers[0]
        return {"Name": CREATE_MODEL, "Type": "Model", "Arguments": arguments}

    def transform(self) -> dict[str, Any]:
        arguments = step_arguments("CreateTransformJob", self.factory.transform_job("pipeline", "pipeline"))
        arguments["ModelName"] = get(f"Steps.{CREATE_MODEL}.ModelName")
        arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = processing_output(PREPROCESS, "test_raw")
        arguments["TransformOutput"]["S3OutputPath"] = per_execution(self.locations.transform)
        arguments["TransformResources"]["InstanceType"] = get("Parameters.TransformInstanceType")
        return {"Name": TRANSFORM, "Type": "Transform", "Arguments": arguments}

    def _metric(self) -> dict[str, Any]:
        return json_get(EVALUATE, EVALUATION_REPORT, self.condition.metric)

    def fail(self) -> dict[str, Any]:
        relation = COMPARISONS[self.condition.comparison][1]
        threshold = get(f"Parameters.{self.threshold_name}")
        message = join(self.condition.metric, self._metric(), f"is {relation} {self.threshold_name}", threshold, on=" ")
        return {"Name": FAIL, "Type": "Fail", "Arguments": {"ErrorMessage": message}}

    def check(self) -> dict[str, Any]:
        """Register and create the model only when `<metric> <comparison> <threshold parameter>` holds."""
        condition = {
            "Type": COMPARISONS[self.condition.comparison][0],
            "LeftValue": self._metric(),
            "RightValue": get(f"Parameters.{self.threshold_name}"),
        }
        if_steps = [self.register(), self.create_model()]
        if self.with_transform:
            if_steps.append(self.transform())
        arguments = {"Conditions": [condition], "IfSteps": if_steps, "ElseSteps": [self.fail()]}
        return {"Name": CHECK, "Type": "Condition", "Arguments": arguments}

    def definition(self) -> dict[str, Any]:
        model_step = self.tune() if self.model_step == TUNE else self.train()
        return {
            "Version": SCHEMA_VERSION,
            "Metadata": {},
            "Parameters": self.parameters(),
            "PipelineExperimentConfig": {
                "ExperimentName": get("Execution.PipelineName"),
                "TrialName": get("Execution.PipelineExecutionId"),
            },
            "Steps": [self.preprocess(), model_step, self.evaluate(), self.check()],
        }


def model_package_group(config: ProjectConfig) -> str:
    """`pipeline.model_package_group`, by default the project's name."""
    return config.pipeline.model_package_group or config.project.name


def pipeline_name(config: ProjectConfig) -> str:
    return f"{config.project.name}-pipeline"


# -- AWS calls -------------------------------------------------------------------------------------------------


def _error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")


def ensure_model_package_group(client: Any, name: str, description: str) -> bool:
    """Create the Model Package Group unless it exists; True when it was created."""
    from botocore.exceptions import ClientError

    try:
        client.describe_model_package_group(ModelPackageGroupName=name)
        return False
    except ClientError as error:
        if _error_code(error) not in ("ValidationException", "ResourceNotFound"):
            raise
    client.create_model_package_group(ModelPackageGroupName=name, ModelPackageGroupDescription=description)
    return True


def upsert(definition: dict[str, Any], client: Any, name: str, role_arn: str) -> str:
    """CreatePipeline, or UpdatePipeline when it exists; returns the pipeline's ARN."""
    from botocore.exceptions import ClientError

    body = json.dumps(definition)
    try:
        client.describe_pipeline(PipelineName=name)
    except ClientError as error:
        if _error_code(error) not in ("ResourceNotFound", "ValidationException"):
            raise
        response = client.create_pipeline(PipelineName=name, PipelineDefinition=body, RoleArn=role_arn)
        return response["PipelineArn"]
    return client.update_pipeline(PipelineName=name, PipelineDefinition=body, RoleArn=role_arn)["PipelineArn"]


def start(client: Any, name: str, parameters: dict[str, Any] | None = None) -> str:
    """StartPipelineExecution with these parameter values; returns the execution's ARN."""
    values = [{"Name": key, "Value": str(value)} for key, value in (parameters or {}).items()]
    request: dict[str, Any] = {"PipelineName": name}
    if values:
        request["PipelineParameters"] = values
    return client.start_pipeline_execution(**request)["PipelineExecutionArn"]
