"""SDK v3 (sagemaker-core) resources on the local executor through `local_session()` (issue 13)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from sagemaker.core.resources import Endpoint, EndpointConfig, Model, TrainingJob
from sagemaker.core.shapes import (
    AlgorithmSpecification,
    ContainerDefinition,
    OutputDataConfig,
    ProductionVariant,
    ResourceConfig,
    StoppingCondition,
)
from test_local_helpers import BUCKET, ROLE, SKLEARN_IMAGE, upload_code

from sm_engine.session import local_session

pytestmark = pytest.mark.executor

TRAIN = """
import os

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
joblib.dump(LinearRegression().fit(x, x[:, 0] + 2 * x[:, 1]), os.path.join(os.environ["SM_MODEL_DIR"], "m.joblib"))
"""

INFERENCE = """
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "m.joblib"))
"""


def test_sdk_v3_trains_deploys_and_invokes_on_the_local_session(tmp_path: Path) -> None:
    """/work/shared/docs/sagemaker-sdk-v3.md: sagemaker-core resources take a real boto3 Session whose
    client("sagemaker") / client("sagemaker-runtime") are the drop-in clients."""
    session = local_session(root=tmp_path / "local")
    assert isinstance(session, boto3.session.Session)
    source = upload_code(
        session.sagemaker, {"train.py": TRAIN, "inference.py": INFERENCE}, tmp_path / "code", key="sdk-v3"
    )
    job = TrainingJob.create(
        training_job_name="sdk-v3-job",
        algorithm_specification=AlgorithmSpecification(training_image=SKLEARN_IMAGE, training_input_mode="File"),
        role_arn=ROLE,
        hyper_parameters={"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"{source}"'},
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{BUCKET}/output"),
        resource_config=ResourceConfig(instance_type="ml.m5.large", instance_count=1, volume_size_in_gb=1),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=120),
        session=session,
        region="us-east-1",
    )
    job.wait(timeout=120)
    assert job.training_job_status == "Completed"
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": source}
    container = ContainerDefinition(
        image=SKLEARN_IMAGE, model_data_url=job.model_artifacts.s3_model_artifacts, environment=environment
    )
    Model.create(model_name="sdk-v3-model", primary_container=container, execution_role_arn=ROLE, session=session)
    variant = ProductionVariant(
        variant_name="main", model_name="sdk-v3-model", instance_type="ml.m5.large", initial_instance_count=1
    )
    EndpointConfig.create(endpoint_config_name="sdk-v3-config", production_variants=[variant], session=session)
    endpoint = Endpoint.create(endpoint_name="sdk-v3", endpoint_config_name="sdk-v3-config", session=session)
    try:
        endpoint.wait_for_status("InService", timeout=120)
        reply = endpoint.invoke(body=b"1,1\n2,0", content_type="text/csv", accept="text/csv", session=session)
        assert [round(float(value), 6) for value in reply.body.read().split()] == [3.0, 2.0]
    finally:
        endpoint.delete()
