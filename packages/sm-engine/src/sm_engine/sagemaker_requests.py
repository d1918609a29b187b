"""The project config turned into the exact SageMaker API requests.

Every `RequestFactory` method returns the keyword arguments of one boto3 call (`create_processing_job(**request)`),
shaped as the SageMaker Python SDK would send them, so that the local executor and AWS receive the very same requests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import CLASSES_HYPERPARAMETER, JobSection, ProjectConfig
from .errors import RequestError
from .images import LOCAL_ACCOUNT, ImageResolver, image_uri, own_image_uri
from .storage import s3_join
from .tracking import MLFLOW_EXPERIMENT_VARIABLE, MLFLOW_URI_VARIABLE, mlflow_experiment

PROCESSING_INPUT_DIR = "/opt/ml/processing/input"
PROCESSING_OUTPUT_DIR = "/opt/ml/processing/output"
FEATURE_SPLITS = ("train", "validation", "test", "test_raw")
TRAINING_CHANNELS = ("train", "validation")
PREPROCESSOR_CHANNEL = "preprocessor"
CONTAINER_LOG_LEVEL = 20
MODEL_CODE_DIR = "/opt/ml/model/code"
CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
MAX_HYPERPARAMETER_VALUE_LENGTH = 2500
MAX_HYPERPARAMETERS = 100
NUM_CLASS_HYPERPARAMETER = "num_class"
RAW_DIGEST_LENGTH = 16


@dataclass(frozen=True)
class ProjectLocations:
    """The S3 URIs of the project, all under `s3://<bucket>/<prefix>/`."""

    root: str
    raw_data: str
    features: str
    preprocessor: str
    models: str
    code: str
    sourcedir: str
    code_dir: str
    transform: str
    capture: str
    async_input: str
    async_output: str
    async_failure: str

    @classmethod
    def from_config(cls, config: ProjectConfig, bucket: str) -> ProjectLocations:
        root = f"s3://{bucket}/{config.project.prefix}"
        storage = config.storage
        code = s3_join(root, storage.code)
        return cls(
            root=root,
            raw_data=s3_join(root, storage.raw),
            features=s3_join(root, storage.features),
            preprocessor=s3_join(root, storage.preprocessor),
            models=s3_join(root, storage.models),
            code=code,
            sourcedir=s3_join(code, "sourcedir.tar.gz"),
            code_dir=s3_join(code, "jobs"),
            transform=s3_join(root, storage.transform),
            capture=s3_join(root, storage.capture),
            async_input=s3_join(root, "async-inference", "input"),
            async_output=s3_join(root, "async-inference", "output"),
            async_failure=s3_join(root, "async-inference", "failure"),
        )

    def raw_data_object(self, data_path: Path) -> str:
        """Where a data file is uploaded: `<raw>/<digest of its bytes>/<file name>`. A processing job given this
        object reads exactly this file, never what earlier uploads left under the raw prefix."""
        digest = hashlib.sha256()
        with Path(data_path).open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        return s3_join(self.raw_data, digest.hexdigest()[:RAW_DIGEST_LENGTH], Path(data_path).name)

    def feature_split(self, name: str) -> str:
        """The S3 prefix of one processing output split: train, validation, test or test_raw."""
        if name not in FEATURE_SPLITS:
            raise RequestError(f"unknown feature split {name!r} (one of {', '.join(FEATURE_SPLITS)})")
        return s3_join(self.features, name)

    @property
    def preprocessor_model(self) -> str:
        """The preprocessor artefact the processing job writes."""
        return s3_join(self.preprocessor, "model.tar.gz")

    def processing_outputs(self) -> dict[str, str]:
        """Output name -> S3 URI of every processing output."""
        return {**{split: self.feature_split(split) for split in FEATURE_SPLITS}, "preprocessor": self.preprocessor}


def encode_hyperparameters(values: dict[str, Any]) -> dict[str, str]:
    """Every value json.dumps'ed, as the SDK's framework estimators do (the training toolkit json.loads them back)."""
    encoded = {}
    for key, value in values.items():
        try:
            text = json.dumps(value)
        except TypeError:
            raise RequestError(f"hyperparameter {key!r}: {value!r} cannot be written as JSON") from None
        if len(text) > MAX_HYPERPARAMETER_VALUE_LENGTH:
            raise RequestError(f"hyperparameter {key!r} is longer than {MAX_HYPERPARAMETER_VALUE_LENGTH} characters")
        encoded[str(key)] = text
    return encoded


def encode_algorithm_hyperparameters(values: dict[str, Any]) -> dict[str, str]:
    """Plain strings, as the SDK's generic Estimator writes them for a built-in algorithm (`0.2`, `reg:squarederror`;
    booleans `true` / `false`): the algorithm parses the text itself, a JSON-quoted string would not parse."""
    encoded = {}
    for key, value in values.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) > MAX_HYPERPARAMETER_VALUE_LENGTH:
            raise RequestError(f"hyperparameter {key!r} is longer than {MAX_HYPERPARAMETER_VALUE_LENGTH} characters")
        encoded[str(key)] = text
    return encoded


def _within_limit(hyperparameters: dict[str, str]) -> dict[str, str]:
    if len(hyperparameters) > MAX_HYPERPARAMETERS:
        raise RequestError(
            f"{len(hyperparameters)} hyperparameters with the ones SageMaker needs; at most {MAX_HYPERPARAMETERS} fit"
        )
    return hyperparameters


def _argument(value: str | int | float | bool) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: float, integer: bool) -> str:
    return str(int(value)) if integer else repr(float(value))


class RequestFactory:
    """Builds the request dicts of one project for one bucket and execution role."""

    def __init__(
        self,
        config: ProjectConfig,
        bucket: str,
        role_arn: str,
        images: ImageResolver = image_uri,
        account_id: str = LOCAL_ACCOUNT,
    ) -> None:
        self.config = config
        self.role_arn = role_arn
        self.images = images  # the built-in table; on AWS the SDK's lookup (aws/images.py)
        self.account_id = account_id  # whose ECR registry holds the project's own image (training.mode container)
        self.region = config.project.region
        self.locations = ProjectLocations.from_config(config, bucket)

    # -- shared pieces ---------------------------------------------------------------------------------------------

    def tags(self) -> list[dict[str, str]]:
        return [{"Key": "project", "Value": self.config.project.name}]

    # -- tracking (config `tracking:`): only when configured, so that the default changes no request -----------------

    def experiment_config(self) -> dict[str, Any]:
        """tracking.experiment_config as ExperimentConfig (processing, training and transform jobs), else {}."""
        tracking = self.config.tracking
        settings = tracking.experiment_config if tracking else None
        if settings is None:
            return {}
        fields = {
            "ExperimentName": settings.experiment_name,
            "TrialName": settings.trial_name,
            "RunName": settings.run_name,
        }
        return {"ExperimentConfig": {key: value for key, value in fields.items() if value}}

    @property
    def mlflow_server_arn(self) -> str | None:
        """tracking.mlflow.tracking_server_arn: the SageMaker managed MLflow server the training jobs log to."""
        tracking = self.config.tracking
        return tracking.mlflow.tracking_server_arn if tracking and tracking.mlflow else None

    def mlflow_config(self, run_name: str) -> dict[str, Any]:
        """CreateTrainingJob's MlflowConfig (the server, the experiment, the job's own run), else {}."""
        if self.mlflow_server_arn is None:
            return {}
        config = {
            "MlflowResourceArn": self.mlflow_server_arn,
            "MlflowExperimentName": mlflow_experiment(self.config),
            "MlflowRunName": run_name,
        }
        return {"MlflowConfig": config}

    def tracking_environment(self) -> dict[str, str]:
        """What sm_runtime.tracking reads in the training container (the server ARN is the MLflow tracking URI of
        the sagemaker-mlflow plugin), else {}."""
        if self.mlflow_server_arn is None:
            return {}
        return {MLFLOW_URI_VARIABLE: self.mlflow_server_arn, MLFLOW_EXPERIMENT_VARIABLE: mlflow_experiment(self.config)}

    # -- security (config `security:`): only the keys that are set, so that the defaults change no request ---------

    def vpc_config(self) -> dict[str, list[str]] | None:
        """security.vpc as VpcConfig, or None."""
        vpc = self.config.security.vpc
        return None if vpc is None else {"SecurityGroupIds": list(vpc.security_groups), "Subnets": list(vpc.subnets)}

    def _job_security(self) -> dict[str, Any]:
        """The top-level fields of CreateTrainingJob and of a tuning job's TrainingJobDefinition."""
        security = self.config.security
        fields: dict[str, Any] = {}
        if security.network_isolation:
            fields["EnableNetworkIsolation"] = True
        if security.encrypt_inter_container_traffic:
            fields["EnableInterContainerTrafficEncryption"] = True
        if (vpc := self.vpc_config()) is not None:
            fields["VpcConfig"] = vpc
        return fields

    def _model_security(self) -> dict[str, Any]:
        """CreateModel's EnableNetworkIsolation and VpcConfig."""
        fields = self._job_security()
        fields.pop("EnableInterContainerTrafficEncryption", None)
        return fields

    @staticmethod
    def _with_kms(shape: dict[str, Any], field: str, key: str | None) -> dict[str, Any]:
        """`shape` with `field: key` added when a key is set."""
        return {**shape, field: key} if key else shape

    def job_image(self, job: JobSection, purpose: str, instance_type: str | None = None) -> str:
        """The job's `image_uri` if set, the project's own image for training in container mode, else the AWS
        framework image for the purpose and instance type (the job's own by default)."""
        if job.image_uri:
            return job.image_uri
        if job is self.config.training and self.own_image:
            return self.own_image
        return self.images(
            job.framework, job.framework_version, self.region, purpose, instance_type or job.instance_type
        )

    def _inference_image(self, job: JobSection) -> str:
        return self.job_image(job, "inference", self.config.endpoint.variants[0].instance_type)

    @property
    def own_image(self) -> str | None:
        """The project's own image (training.mode container): container.image_uri, else in this account's ECR."""
        container = self.config.container
        if self.config.training.mode != "container" or container is None:
            return None
        return container.image_uri or own_image_uri(self.account_id, self.region, container.repository, container.tag)

    @property
    def builtin(self) -> bool:
        """True for the built-in XGBoost algorithm: no script, plain-text hyperparameters, predefined metrics."""
        return self.config.training.mode == "builtin"

    def _encode(self, values: dict[str, Any]) -> dict[str, str]:
        return encode_algorithm_hyperparameters(values) if self.builtin else encode_hyperparameters(values)

    def _framework_hyperparameters(self) -> dict[str, Any]:
        """The `sagemaker_*` hyperparameters through which the training toolkit finds the entry point and its code
        (none for the built-in algorithm, which rejects hyperparameters it does not know, nor for the project's own
        image, which has no toolkit and runs its `train` program)."""
        if self.config.training.mode != "script":
            return {}
        return {
            "sagemaker_program": self.config.training.entry_point,
            "sagemaker_submit_directory": self.locations.sourcedir,
            "sagemaker_region": self.region,
            "sagemaker_container_log_level": CONTAINER_LOG_LEVEL,
            **self._distribution_hyperparameters(),
        }

    def _distribution_hyperparameters(self) -> dict[str, Any]:
        """training.distribution as the SDK's PyTorch estimator writes it: `sagemaker_torch_distributed_enabled` and
        `sagemaker_instance_type` make the PyTorch container launch the script with torchrun."""
        training = self.config.training
        if not training.distribution.torch_distributed:
            return {}
        return {"sagemaker_torch_distributed_enabled": True, "sagemaker_instance_type": training.instance_type}

    def _data_hyperparameters(self) -> dict[str, Any]:
        """`classes` of a classifier: data.classes as one JSON text, so that the script gets `--classes ["a", "b"]`;
        for the built-in algorithm `num_class` of a multiclass problem (the labels stay in the config)."""
        classes = self.config.data.classes
        if classes is None:
            return {}
        if self.builtin:
            return {NUM_CLASS_HYPERPARAMETER: len(classes)} if len(classes) > 2 else {}
        return {CLASSES_HYPERPARAMETER: json.dumps(classes)}

    def hyperparameters(self, overrides: dict[str, Any] | None = None) -> dict[str, str]:
        """The config's hyperparameters updated by `overrides`, plus the data and framework ones, all JSON-encoded."""
        overrides = overrides or {}
        reserved = sorted(key for key in overrides if key.startswith("sagemaker_") or key == "_tuning_objective_metric")
        if reserved:
            raise RequestError(
                f"hyperparameter names reserved by SageMaker cannot be overridden: {', '.join(reserved)}"
            )
        derived = sorted(set(overrides) & {CLASSES_HYPERPARAMETER, *self._data_hyperparameters()})
        if derived:
            raise RequestError(f"{', '.join(map(repr, derived))} is set from data.classes; change the labels there")
        values = {**self.config.training.hyperparameters, **overrides, **self._data_hyperparameters()}
        return _within_limit(self._encode({**values, **self._framework_hyperparameters()}))

    def _algorithm_specification(self) -> dict[str, Any]:
        training = self.config.training
        specification = {"TrainingImage": self.job_image(training, "training"), "TrainingInputMode": "File"}
        if self.builtin:  # the algorithm's metrics are predefined (builtin_xgboost.metric_definitions)
            return specification
        return {
            **specification,
            "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in training.metric_definitions],
        }

    @staticmethod
    def _channel(name: str, uri: str, content_type: str | None) -> dict[str, Any]:
        channel: dict[str, Any] = {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
            },
        }
        return {**channel, "ContentType": content_type} if content_type else channel

    def _input_data_config(self) -> list[dict[str, Any]]:
        """Channels `train` and `validation`; without an inference pipeline also `preprocessor` (the processing
        job's model.tar.gz), which train.py packs into the model so that one container serves raw rows."""
        channels = [self._channel(name, self.locations.feature_split(name), CSV) for name in TRAINING_CHANNELS]
        if not self.config.model.inference_pipeline:
            channels.append(self._channel(PREPROCESSOR_CHANNEL, self.locations.preprocessor, None))
        return channels

    def _training_definition(self) -> dict[str, Any]:
        """What CreateTrainingJob and a tuning job's TrainingJobDefinition have in common."""
        training = self.config.training
        return {
            "AlgorithmSpecification": self._algorithm_specification(),
            "RoleArn": self.role_arn,
            "InputDataConfig": self._input_data_config(),
            "OutputDataConfig": self._with_kms(
                {"S3OutputPath": self.locations.models}, "KmsKeyId", self.config.security.output_kms_key_id
            ),
            "ResourceConfig": self._with_kms(
                {
                    "InstanceType": training.instance_type,
                    "InstanceCount": training.instance_count,
                    "VolumeSizeInGB": training.volume_size_gb,
                },
                "VolumeKmsKeyId",
                self.config.security.kms_key_id,
            ),
            "StoppingCondition": {"MaxRuntimeInSeconds": training.max_runtime_seconds},
            "Environment": {**self.tracking_environment(), **training.environment},
            **self._job_security(),
        }

    # -- processing ------------------------------------------------------------------------------------------------

    def processing_arguments(self) -> list[str]:
        """`--target ...` (`--classes ...` of a classifier, a JSON list) `--validation-fraction ... --test-fraction ...
        --seed ...`, then processing.arguments."""
        data = self.config.data
        values: dict[str, str | int | float | bool] = {
            "target": data.target,
            **({} if data.classes is None else {"classes": json.dumps(data.classes)}),
            "validation-fraction": data.split.validation_fraction,
            "test-fraction": data.split.test_fraction,
            "seed": data.split.seed,
            **self.config.processing.arguments,
        }
        arguments = []
        for key, value in values.items():
            arguments += [f"--{key}", _argument(value)]
        return arguments

    def _processing_input(self, name: str, uri: str) -> dict[str, Any]:
        return {
            "InputName": name,
            "AppManaged": False,
            "S3Input": {
                "S3Uri": uri,
                "LocalPath": f"{PROCESSING_INPUT_DIR}/{name}",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }

    def processing_job(self, name: str, raw_data: str | None = None) -> dict[str, Any]:
        """CreateProcessingJob in the ScriptProcessor shape (contract §2): the jobs/ files mounted as input `code`,
        the uploaded data file `raw_data` (see `raw_data_object`) as input `raw`; without it, the raw prefix stands in
        (a pipeline replaces it with its InputDataUrl parameter)."""
        processing = self.config.processing
        outputs = [
            {
                "OutputName": output,
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": uri,
                    "LocalPath": f"{PROCESSING_OUTPUT_DIR}/{output}",
                    "S3UploadMode": "EndOfJob",
                },
            }
            for output, uri in self.locations.processing_outputs().items()
        ]
        security = self.config.security
        network = self._job_security()
        request: dict[str, Any] = {
            "ProcessingJobName": name,
            "ProcessingInputs": [
                self._processing_input("raw", raw_data or self.locations.raw_data),
                self._processing_input("code", self.locations.code_dir),
            ],
            "ProcessingOutputConfig": self._with_kms({"Outputs": outputs}, "KmsKeyId", security.output_kms_key_id),
            "ProcessingResources": {
                "ClusterConfig": self._with_kms(
                    {
                        "InstanceCount": processing.instance_count,
                        "InstanceType": processing.instance_type,
                        "VolumeSizeInGB": processing.volume_size_gb,
                    },
                    "VolumeKmsKeyId",
                    security.kms_key_id,
                )
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_seconds},
            "AppSpecification": {
                "ImageUri": self.job_image(processing, "processing"),
                "ContainerEntrypoint": ["python3", f"{PROCESSING_INPUT_DIR}/code/{processing.entry_point}"],
                "ContainerArguments": self.processing_arguments(),
            },
            "Environment": dict(processing.environment),
            "RoleArn": self.role_arn,
            "Tags": self.tags(),
            **self.experiment_config(),
        }
        return {**request, "NetworkConfig": network} if network else request

    # -- training and tuning ---------------------------------------------------------------------------------------

    def training_job(self, name: str, hyperparameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """CreateTrainingJob with channels `train` and `validation`; `hyperparameters` override the config's."""
        return {
            "TrainingJobName": name,
            "HyperParameters": self.hyperparameters(hyperparameters),
            **self._training_definition(),
            "Tags": self.tags(),
            **self.experiment_config(),
            **self.mlflow_config(name),
        }

    def parameter_ranges(self) -> dict[str, list[dict[str, Any]]]:
        """tuning.ranges as ParameterRanges: bounds as strings, categorical values JSON-encoded like the SDK's."""
        ranges: dict[str, list[dict[str, Any]]] = {
            "IntegerParameterRanges": [],
            "ContinuousParameterRanges": [],
            "CategoricalParameterRanges": [],
        }
        for item in self.config.tuning.ranges:
            if item.type == "Categorical":
                values = [json.dumps(value) for value in item.values or []]
                ranges["CategoricalParameterRanges"].append({"Name": item.name, "Values": values})
                continue
            integer = item.type == "Integer"
            ranges[f"{item.type}ParameterRanges"].append(
                {
                    "Name": item.name,
                    "MinValue": _number(item.min or 0, integer),
                    "MaxValue": _number(item.max or 0, integer),
                    "ScalingType": item.scaling,
                }
            )
        return ranges

    def static_hyperparameters(self) -> dict[str, str]:
        """The hyperparameters the tuning job does not tune, the framework ones and `_tuning_objective_metric`."""
        tuned = {item.name for item in self.config.tuning.ranges}
        static = {key: value for key, value in self.config.training.hyperparameters.items() if key not in tuned}
        encoded = self._encode({**static, **self._data_hyperparameters(), **self._framework_hyperparameters()})
        return _within_limit({**encoded, "_tuning_objective_metric": self.config.tuning.objective.metric})

    def tuning_job(self, name: str) -> dict[str, Any]:
        """CreateHyperParameterTuningJob over the training job of `training_job` (contract §6)."""
        tuning = self.config.tuning
        limits = {"MaxParallelTrainingJobs": tuning.max_parallel_jobs}
        if tuning.strategy != "Grid":  # Grid runs every combination of the categorical values: no job limit
            limits["MaxNumberOfTrainingJobs"] = tuning.max_jobs
        job_config: dict[str, Any] = {
            "Strategy": tuning.strategy,
            "HyperParameterTuningJobObjective": {"Type": tuning.objective.type, "MetricName": tuning.objective.metric},
            "ResourceLimits": limits,
            "ParameterRanges": self.parameter_ranges(),
            "TrainingJobEarlyStoppingType": tuning.early_stopping,
        }
        if tuning.random_seed is not None:
            job_config["RandomSeed"] = tuning.random_seed
        return {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": job_config,
            "TrainingJobDefinition": {
                "StaticHyperParameters": self.static_hyperparameters(),
                **self._training_definition(),
            },
            "Tags": self.tags(),
        }

    # -- models and endpoints --------------------------------------------------------------------------------------

    def _container(
        self, image: str, model_data_url: str, program: str, accept: str, code_in_model: bool = False
    ) -> dict[str, Any]:
        """A script-mode container; its code is the sourcedir, or `code/` inside model.tar.gz (`code_in_model`, what
        the PyTorch inference container loads: the pytorch training job packs it, contract §3)."""
        return {
            "Image": image,
            "ModelDataUrl": model_data_url,
            "Environment": {
                "SAGEMAKER_PROGRAM": program,
                "SAGEMAKER_SUBMIT_DIRECTORY": MODEL_CODE_DIR if code_in_model else self.locations.sourcedir,
                "SAGEMAKER_CONTAINER_LOG_LEVEL": str(CONTAINER_LOG_LEVEL),
                "SAGEMAKER_REGION": self.region,
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": accept,
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.config.model.model_server_workers),
            },
        }

    def model(self, name: str, model_data_url: str, preprocessor_data_url: str) -> dict[str, Any]:
        """CreateModel: the preprocessor and model containers in series (contract §4), or the model container alone."""
        settings = self.config.model
        if self.builtin or settings.model_entry_point is None:  # the image's own serving stack, no script
            model = {"Image": self._inference_image(self.config.training), "ModelDataUrl": model_data_url}
            if self.own_image:  # container/serve reads these, as the framework containers do
                model["Environment"] = {
                    "SAGEMAKER_MODEL_SERVER_WORKERS": str(settings.model_server_workers),
                    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": JSON,
                }
        else:
            model = self._container(
                self._inference_image(self.config.training),
                model_data_url,
                settings.model_entry_point,
                JSON,
                code_in_model=self.config.training.framework == "pytorch",
            )
        request: dict[str, Any] = {
            "ModelName": name,
            "ExecutionRoleArn": self.role_arn,
            "Tags": self.tags(),
            **self._model_security(),
        }
        if not settings.inference_pipeline:
            return {**request, "PrimaryContainer": model}
        # the feature matrix passes as .npy to a script container (sm_runtime.serving_io reads it: exact, no text),
        # as CSV to an image's own serving stack (a built-in algorithm reads CSV)
        hop = CSV if self.builtin or settings.model_entry_point is None else NPY
        preprocessor = self._container(
            self._inference_image(self.config.processing), preprocessor_data_url, settings.preprocessor_entry_point, hop
        )
        return {**request, "Containers": [preprocessor, model], "InferenceExecutionConfig": {"Mode": "Serial"}}

    def serverless_config(self) -> dict[str, int]:
        """ProductionVariantServerlessConfig from endpoint.serverless."""
        settings = self.config.endpoint.serverless
        config = {"MemorySizeInMB": settings.memory_size_mb, "MaxConcurrency": settings.max_concurrency}
        if settings.provisioned_concurrency is not None:
            config["ProvisionedConcurrency"] = settings.provisioned_concurrency
        return config

    def async_inference_config(self) -> dict[str, Any]:
        """AsyncInferenceConfig from endpoint.async: the S3 output and failure paths, SNS topics when set."""
        settings = self.config.endpoint.async_inference
        output: dict[str, Any] = self._with_kms(
            {"S3OutputPath": self.locations.async_output, "S3FailurePath": self.locations.async_failure},
            "KmsKeyId",
            self.config.security.output_kms_key_id,
        )
        topics = {"SuccessTopic": settings.success_topic, "ErrorTopic": settings.error_topic}
        if any(topics.values()):
            output["NotificationConfig"] = {key: value for key, value in topics.items() if value}
        return {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": settings.max_concurrent_invocations_per_instance},
            "OutputConfig": output,
        }

    def production_variants(self, model_name: str) -> list[dict[str, Any]]:
        endpoint = self.config.endpoint
        if endpoint.type == "serverless":
            serverless = self.serverless_config()
            return [
                {"VariantName": variant.name, "ModelName": model_name, "ServerlessConfig": serverless}
                for variant in endpoint.variants
            ]
        return [
            {
                "VariantName": variant.name,
                "ModelName": model_name,
                "InstanceType": variant.instance_type,
                "InitialInstanceCount": variant.initial_instance_count,
                "InitialVariantWeight": variant.weight,
            }
            for variant in endpoint.variants
        ]

    def endpoint_config(self, name: str, model_name: str) -> dict[str, Any]:
        """CreateEndpointConfig: the variants, data capture when enabled, the async output locations (contract §7);
        security.kms_key_id encrypts the instances' storage volumes (a serverless endpoint has none)."""
        endpoint = self.config.endpoint
        security = self.config.security
        request: dict[str, Any] = {
            "EndpointConfigName": name,
            "ProductionVariants": self.production_variants(model_name),
            "Tags": self.tags(),
        }
        if security.kms_key_id and endpoint.type != "serverless":
            request["KmsKeyId"] = security.kms_key_id
        if endpoint.data_capture.enabled:
            request["DataCaptureConfig"] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": endpoint.data_capture.sampling_percentage,
                "DestinationS3Uri": self.locations.capture,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": {"CsvContentTypes": [CSV], "JsonContentTypes": [JSON]},
                **({"KmsKeyId": security.output_kms_key_id} if security.output_kms_key_id else {}),
            }
        if endpoint.type == "async":
            request["AsyncInferenceConfig"] = self.async_inference_config()
        return request

    def endpoint(self, name: str, config_name: str) -> dict[str, Any]:
        """CreateEndpoint."""
        return {"EndpointName": name, "EndpointConfigName": config_name, "Tags": self.tags()}

    def transform_job(self, name: str, model_name: str) -> dict[str, Any]:
        """CreateTransformJob over the raw test split, output under `<transform>/<name>` (contract §5)."""
        batch = self.config.batch_transform
        security = self.config.security
        return {
            "TransformJobName": name,
            "ModelName": model_name,
            "MaxConcurrentTransforms": batch.max_concurrent_transforms,
            "MaxPayloadInMB": batch.max_payload_mb,
            "BatchStrategy": batch.strategy,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.locations.feature_split("test_raw")}
                },
                "ContentType": batch.content_type,
                "CompressionType": "None",
                "SplitType": batch.split_type,
            },
            "TransformOutput": self._with_kms(
                {
                    "S3OutputPath": s3_join(self.locations.transform, name),
                    "Accept": batch.accept,
                    "AssembleWith": batch.assemble_with,
                },
                "KmsKeyId",
                security.output_kms_key_id,
            ),
            "TransformResources": self._with_kms(
                {"InstanceType": batch.instance_type, "InstanceCount": batch.instance_count},
                "VolumeKmsKeyId",
                security.kms_key_id,
            ),
            "DataProcessing": {
                "InputFilter": batch.input_filter,
                "OutputFilter": batch.output_filter,
                "JoinSource": batch.join_source,
            },
            "Tags": self.tags(),
            **self.experiment_config(),
        }

    # -- auto scaling ----------------------------------------------------------------------------------------------

    def autoscaling_requests(self, endpoint_name: str) -> list[tuple[str, dict[str, Any]]]:
        """(application-autoscaling method, request) pairs that scale every variant on invocations per instance."""
        settings = self.config.endpoint.autoscaling
        requests: list[tuple[str, dict[str, Any]]] = []
        for variant in self.config.endpoint.variants:
            target = {
                "ServiceNamespace": "sagemaker",
                "ResourceId": f"endpoint/{endpoint_name}/variant/{variant.name}",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            }
            requests.append(
                (
                    "register_scalable_target",
                    {**target, "MinCapacity": settings.min_capacity, "MaxCapacity": settings.max_capacity},
                )
            )
            policy = {
                "PolicyName": f"{endpoint_name}-{variant.name}-invocations",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": settings.target_invocations_per_instance,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                },
            }
            requests.append(("put_scaling_policy", {**target, **policy}))
        return requests
