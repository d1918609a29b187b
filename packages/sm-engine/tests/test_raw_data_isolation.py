"""Each processing job reads exactly the data file of its own run, never what earlier uploads left under the raw
prefix (issue 16, item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sm_engine.aws.session import AwsBackend
from sm_engine.config import ProjectConfig
from sm_engine.images import image_uri
from sm_engine.pipeline import PipelineBuilder
from sm_engine.storage import LocalStorage
from sm_engine.workflow import Workflow

BUCKET = "sagemaker-us-east-1-123456789012"


class RecordingSageMaker:
    """Records CreateProcessingJob requests and describes each job as Completed."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def create_processing_job(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:1:processing-job/{request['ProcessingJobName']}"}

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        request = next(r for r in self.requests if r["ProcessingJobName"] == ProcessingJobName)
        return {**request, "ProcessingJobStatus": "Completed"}


def copied_project(project_root: Path, target: Path) -> Path:
    for folder in ("jobs", "data"):
        shutil.copytree(project_root / folder, target / folder)
    return target


def raw_input(request: dict[str, Any]) -> str:
    return next(item["S3Input"]["S3Uri"] for item in request["ProcessingInputs"] if item["InputName"] == "raw")


def test_a_later_processing_job_reads_only_its_own_data(
    config: ProjectConfig, project_root: Path, tmp_path: Path
) -> None:
    root = copied_project(project_root, tmp_path / "project")
    sagemaker = RecordingSageMaker()
    storage = LocalStorage(tmp_path / "store")
    backend = AwsBackend(sagemaker, None, storage, BUCKET, "arn:aws:iam::1:role/r", None, image_uri, "123456789012")
    workflow = Workflow(config, backend, root, lambda _line: None)
    data_file = root / config.data.local_path
    bigger = data_file.read_bytes() * 3
    data_file.write_bytes(bigger)
    workflow.process()
    original = (project_root / config.data.local_path).read_bytes()
    data_file.write_bytes(original)
    workflow.process()

    first, second = (raw_input(request) for request in sagemaker.requests)
    assert first != second
    assert [storage.read_bytes(uri) for uri in storage.list_uris(second)] == [original]
    assert [storage.read_bytes(uri) for uri in storage.list_uris(first)] == [bigger]
    assert second == workflow.locations.raw_data_object(data_file)


def test_the_pipeline_reads_the_uploaded_data_file(config: ProjectConfig, project_root: Path) -> None:
    data_url = "s3://b/p/bronze/raw/0123456789abcdef/auto_mpg.csv"
    definition = PipelineBuilder(config, BUCKET, "arn:aws:iam::1:role/r", input_data_url=data_url).definition()
    defaults = {item["Name"]: item["DefaultValue"] for item in definition["Parameters"]}
    assert defaults["InputDataUrl"] == data_url
