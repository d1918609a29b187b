"""The local serving containers answer as the real images do (issue 13): the built-in XGBoost algorithm's defaults
and errors, the toolkits' modules that published inference scripts import, and the status of a handler failure."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError
from sklearn.preprocessing import StandardScaler
from test_local_helpers import ROLE, training_request

from sm_engine.local import compat
from sm_engine.local.client import LocalSageMakerClient
from sm_engine.local.containers import LoadedContainer, load_container, stage_container
from sm_engine.local.transform import run_transform_job
from sm_engine.packaging import pack_directory
from sm_engine.storage import LocalStorage
from sm_engine.testing import ProjectUnderTest

pytestmark = pytest.mark.executor

BUCKET = "s3://bucket"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
PYTORCH_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6-cpu-py312"
ROWS = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 2.0, 0.0], [3.0, 1.0, 1.0]])


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalStorage:
    """A booster y ~ x0 + x1 + x2 as the algorithm writes it (xgboost-model in model.tar.gz)."""
    root = tmp_path_factory.mktemp("fidelity")
    folder = root / "src" / "xgboost"
    folder.mkdir(parents=True)
    booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(ROWS, label=ROWS.sum(axis=1)), 5)
    (folder / "xgboost-model").write_bytes(booster.save_raw(raw_format="ubj"))
    store = LocalStorage(root)
    pack_directory(folder, store.path_for(f"{BUCKET}/xgboost/model.tar.gz"))
    return store


def xgboost_container(storage: LocalStorage, target: Path, **environment: str) -> LoadedContainer:
    container = {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"{BUCKET}/xgboost/model.tar.gz", "Environment": environment}
    return load_container(stage_container(container, storage, target))


def expected(storage: LocalStorage, tmp_path: Path) -> list[float]:
    model = xgboost_container(storage, tmp_path / "reference")
    return model.model.booster.predict(xgb.DMatrix(ROWS)).tolist()


def csv_body(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(str(value) for value in row) for row in rows).encode()


def test_builtin_xgboost_answers_csv_without_accept(storage: LocalStorage, tmp_path: Path) -> None:
    """aws/sagemaker-xgboost-container algorithm_mode/serve.py `_parse_accept`: no Accept or `*/*` ->
    SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else text/csv; the CSV answer is sagemaker_containers' array_to_csv of the
    prediction list (one value per line); application/json is `{"predictions": [{"score": ...}]}`."""
    model = xgboost_container(storage, tmp_path / "rt")
    scores = expected(storage, tmp_path)
    for accept in (None, "*/*", "text/csv"):
        reply = model.invoke(csv_body(ROWS), "text/csv", accept)
        assert (reply.status, reply.content_type) == (200, "text/csv")
        assert np.fromstring(reply.body.decode(), sep="\n").tolist() == pytest.approx(scores)
    as_json = json.loads(model.invoke(csv_body(ROWS), "text/csv", "application/json").body)
    assert [item["score"] for item in as_json["predictions"]] == pytest.approx(scores)
    configured = xgboost_container(
        storage, tmp_path / "configured", SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT="application/json"
    )
    assert configured.invoke(csv_body(ROWS), "text/csv", None).content_type == "application/json"


def test_builtin_xgboost_reads_libsvm_by_default(storage: LocalStorage, tmp_path: Path) -> None:
    """serve_utils.parse_content_data / data_utils.get_content_type: a request without Content-Type is libsvm
    (1-based indices shifted), `text/csv; label_size=1` is CSV."""
    model = xgboost_container(storage, tmp_path / "libsvm")
    libsvm = "\n".join(" ".join(f"{index + 1}:{value}" for index, value in enumerate(row)) for row in ROWS).encode()
    by_default = model.invoke(libsvm, None, "application/json")
    scores = [item["score"] for item in json.loads(by_default.body)["predictions"]]
    assert scores == pytest.approx(expected(storage, tmp_path))
    assert model.invoke(csv_body(ROWS), "text/csv; label_size=1", None).status == 200


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b'{"instances": [[1, 2, 3]]}', "application/json", None, 415),  # parse_content_data: unsupported type
        (b"a,b,c", "text/csv", None, 415),  # a body that does not load is a 415 too
        (b"1,2,3", "text/csv; label_size=0", None, 415),
        (b"1,2", "text/csv", None, 400),  # predict: feature size differs from the model's
        (b"1,2,3", "text/csv", "text/html", 406),  # _parse_accept: outside SUPPORTED_ACCEPTS
        (b"1,2,3", "text/csv", "application/jsonlines", 500),  # supported, but no encoder outside selectable output
    ],
)
def test_builtin_xgboost_refuses_as_the_container(
    storage: LocalStorage, tmp_path: Path, body: bytes, content_type: str, accept: str | None, status: int
) -> None:
    """The order and statuses of algorithm_mode/serve.py `invocations`: 415 to parse, 400 to predict, 406 Accept."""
    assert xgboost_container(storage, tmp_path / "refusals").invoke(body, content_type, accept).status == status


def test_builtin_xgboost_batch_transform_without_accept_writes_one_csv_line_per_record(
    storage: LocalStorage, tmp_path: Path
) -> None:
    """serve.py under SAGEMAKER_BATCH: `"\\n".join(map(str, preds_list)) + "\\n"`; TransformOutput without Accept
    sends none, so the algorithm's text/csv default applies (`pd.read_csv("x.csv.out")` reads one value per row)."""
    storage.upload_bytes(csv_body(ROWS) + b"\n", f"{BUCKET}/batch/in/rows.csv")
    job = {
        "TransformJobName": "xgb-batch",
        "ModelName": "xgb",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/batch/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"{BUCKET}/batch/out", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "BatchStrategy": "MultiRecord",
    }
    model = {"PrimaryContainer": {"Image": XGBOOST_IMAGE, "ModelDataUrl": f"{BUCKET}/xgboost/model.tar.gz"}}
    run_transform_job(job, model, storage, tmp_path / "work", lambda line: None)
    lines = storage.read_bytes(f"{BUCKET}/batch/out/rows.csv.out").decode().splitlines()
    assert [float(line) for line in lines] == pytest.approx(expected(storage, tmp_path))


# --- framework containers: the toolkits' modules and the status of a failure -----------------------------------------

# The published pattern of the scikit-learn image's inference scripts (amazon-sagemaker-examples' featurizers):
# sagemaker_containers.beta.framework, a worker.Response from output_fn, errors raised as ValueError.
FEATURIZER = """
    import os

    import joblib
    import numpy as np
    from sagemaker_containers.beta.framework import content_types, encoders, env, modules, transformer, worker


    def input_fn(input_data, content_type):
        if content_type == "text/csv":
            return np.atleast_2d(encoders.decode(input_data, content_type).astype(float))
        raise ValueError("{} not supported by script!".format(content_type))


    def output_fn(prediction, accept):
        if accept == "application/json":
            instances = [{"features": row.tolist()} for row in prediction]
            return worker.Response(encoders.encode({"instances": instances}, accept), mimetype=accept)
        if accept == "text/csv":
            return worker.Response(encoders.encode(prediction, accept), mimetype=accept)
        raise RuntimeError("{} accept type is not supported by this script.".format(accept))


    def predict_fn(input_data, model):
        return model.transform(input_data)


    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))
"""

TOOLKIT_ERRORS = """
    from sagemaker_inference import content_types, decoder, encoder, errors


    def model_fn(model_dir):
        return None


    def input_fn(input_data, content_type):
        if content_type != content_types.JSON:
            raise errors.GenericInferenceToolkitError(415, "send JSON")
        return decoder.decode(input_data, content_type)


    def predict_fn(data, model):
        if data.size == 0:
            raise ValueError("empty")
        return data * 2


    def output_fn(prediction, accept):
        return encoder.encode(prediction, accept), accept
"""


def framework_container(storage: LocalStorage, target: Path, image: str, script: str) -> LoadedContainer:
    code, model_dir = target / "src" / "code", target / "src" / "model"
    code.mkdir(parents=True)
    model_dir.mkdir()
    (code / "inference.py").write_text(textwrap.dedent(script))
    joblib.dump(StandardScaler().fit(np.array([[0.0, 0.0], [2.0, 2.0]])), model_dir / "model.joblib")
    pack_directory(code, storage.path_for(f"{BUCKET}/{target.name}/sourcedir.tar.gz"))
    pack_directory(model_dir, storage.path_for(f"{BUCKET}/{target.name}/model.tar.gz"))
    environment = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/{target.name}/sourcedir.tar.gz",
    }
    container = {"Image": image, "ModelDataUrl": f"{BUCKET}/{target.name}/model.tar.gz", "Environment": environment}
    return load_container(stage_container(container, storage, target / "staged"))


def test_a_sagemaker_containers_script_loads_and_answers_unchanged(storage: LocalStorage, tmp_path: Path) -> None:
    """aws/sagemaker-containers src/sagemaker_containers/beta/framework/__init__.py (the names such scripts import)
    and _transformer.py `transform`: a worker.Response returned by output_fn is the answer, body and mimetype."""
    featurizer = framework_container(storage, tmp_path / "featurizer", SKLEARN_IMAGE, FEATURIZER)
    as_json = featurizer.invoke(b"3,1\n1,1", "text/csv", "application/json")
    assert (as_json.status, as_json.content_type) == (200, "application/json")
    assert json.loads(as_json.body) == {"instances": [{"features": [2.0, 0.0]}, {"features": [0.0, 0.0]}]}
    as_csv = featurizer.invoke(b"3,1", "text/csv", "text/csv")
    assert (as_csv.status, as_csv.body) == (200, b"2.0,0.0\n")


def test_a_scikit_learn_image_answers_500_for_any_handler_error(storage: LocalStorage, tmp_path: Path) -> None:
    """aws/sagemaker-scikit-learn-container serving.py passes every handler (its defaults too) to the Transformer of
    aws/sagemaker-containers _transformer.py, which wraps them in _functions.error_wrapper (ClientError): the
    415/406 of `_default_transform_fn` only catch UnsupportedFormatError, so an unsupported type is a 500."""
    featurizer = framework_container(storage, tmp_path / "sklearn-errors", SKLEARN_IMAGE, FEATURIZER)
    assert featurizer.invoke(b"[[1, 1]]", "application/json", "text/csv").status == 500
    assert featurizer.invoke(b"1,1", "text/csv", "text/html").status == 500
    toolkit_error = framework_container(storage, tmp_path / "sklearn-toolkit", SKLEARN_IMAGE, TOOLKIT_ERRORS)
    assert toolkit_error.invoke(b"1,1", "text/csv", "application/json").status == 500


def test_the_inference_toolkit_answers_its_errors_status(storage: LocalStorage, tmp_path: Path) -> None:
    """aws/sagemaker-inference-toolkit src/sagemaker_inference/transformer.py `transform`: a
    BaseInferenceToolkitError answers its status_code, any other exception GenericInferenceToolkitError(500)."""
    handler = framework_container(storage, tmp_path / "pytorch", PYTORCH_IMAGE, TOOLKIT_ERRORS)
    assert handler.invoke(b"[1, 2]", "application/json", "application/json").body == b"[2, 4]"
    refused = handler.invoke(b"1,2", "text/csv", "application/json")
    assert (refused.status, json.loads(refused.body)["error"]) == (415, "send JSON")
    assert handler.invoke(b"[]", "application/json", "application/json").status == 500


def test_the_toolkits_modules_exist_only_inside_framework_containers_that_ship_them() -> None:
    """Not installed on the host; per image, what its requirements install: aws/sagemaker-scikit-learn-container
    requirements.txt (sagemaker-containers, sagemaker-inference, sagemaker-training), aws/sagemaker-xgboost-container
    branch 1.7-1 requirements.txt (sagemaker-containers, sagemaker-inference)."""
    outside = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('sagemaker_containers'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert outside.stdout.strip() == "None"
    toolkits = {
        image: [Path(path).name for path in compat.paths_for(image)] for image in (SKLEARN_IMAGE, XGBOOST_IMAGE)
    }
    assert toolkits == {
        SKLEARN_IMAGE: ["containers", "inference", "training"],
        XGBOOST_IMAGE: ["containers", "inference"],
    }
    assert [Path(path).name for path in compat.paths_for(PYTORCH_IMAGE)] == ["inference"]
    assert compat.paths_for("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-image:latest") == []


def test_create_model_refuses_an_image_it_cannot_serve_as_create_training_job_does(tmp_path: Path) -> None:
    """An image the executor cannot run fails at CreateModel, with CreateTrainingJob's message, not at the endpoint."""
    client = LocalSageMakerClient(tmp_path)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-tensorflow-serving:2.3-cpu"
    container = {"Image": image, "ModelDataUrl": f"{BUCKET}/xgboost/model.tar.gz"}
    for request in (
        {"PrimaryContainer": container},
        {"Containers": [{**container, "Image": XGBOOST_IMAGE}, container]},
    ):
        with pytest.raises(ClientError) as refused:
            client.create_model(ModelName="tf", ExecutionRoleArn=ROLE, **request)
        message = refused.value.response["Error"]["Message"]
        assert message.startswith(f"image {image} is not supported locally; supported image repositories: ")
        assert "sagemaker-scikit-learn" in message
    training = training_request("tf-job", f"{BUCKET}/code/sourcedir.tar.gz")
    training["AlgorithmSpecification"]["TrainingImage"] = image
    with pytest.raises(ClientError) as job_refused:
        client.create_training_job(**training)
    assert job_refused.value.response["Error"]["Message"].startswith(f"image {image} is not supported locally")


PLAIN_ERROR = """
    def model_fn(model_dir):
        return None


    def predict_fn(data, model):
        raise ValueError("row 1 has 3 values, expected 2")
"""


def project_container(
    storage: LocalStorage, target: Path, image: str, code: Path, model_dir: Path, program: str
) -> LoadedContainer:
    """A framework container of the default project's code upload and trained model, as CreateModel stages it."""
    pack_directory(code, storage.path_for(f"{BUCKET}/{target.name}/sourcedir.tar.gz"))
    pack_directory(model_dir, storage.path_for(f"{BUCKET}/{target.name}/model.tar.gz"))
    environment = {
        "SAGEMAKER_PROGRAM": program,
        "SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/{target.name}/sourcedir.tar.gz",
    }
    container = {"Image": image, "ModelDataUrl": f"{BUCKET}/{target.name}/model.tar.gz", "Environment": environment}
    return load_container(stage_container(container, storage, target / "staged"))


def test_a_bad_payload_to_the_default_projects_handler_is_a_400_through_the_toolkits_response(
    storage: LocalStorage, tmp_path: Path, sm_project: ProjectUnderTest, trained_model_dir: Path
) -> None:
    """aws/sagemaker-scikit-learn-container src/sagemaker_sklearn_container/serving.py `_user_module_transformer`
    builds a sagemaker_containers Transformer from the module's transform_fn; aws/sagemaker-containers
    src/sagemaker_containers/_transformer.py `Transformer.transform` returns the worker.Response that transform_fn
    returns, status included. sm_runtime.handlers.transform_fn answers a PayloadError so: the same 400 locally as on
    SageMaker, with the handler's message."""
    code = sm_project.stage_code(tmp_path / "code")
    handler = project_container(
        storage, tmp_path / "model", SKLEARN_IMAGE, code, trained_model_dir, "model_inference.py"
    )
    answer = handler.transform_fn(handler.model, "1,2", "text/csv", "application/json")
    assert isinstance(answer, compat.toolkit_response_type())
    assert (answer.status_code, answer.mimetype) == (400, "application/json")
    reply = handler.invoke(b"1,2", "text/csv", "application/json")
    assert (reply.status, reply.content_type) == (400, "application/json")
    assert json.loads(reply.body) == json.loads(answer.get_data())
    assert "expected" in json.loads(reply.body)["error"]


def test_a_plain_exception_of_a_handler_is_a_500_as_on_the_image(storage: LocalStorage, tmp_path: Path) -> None:
    """aws/sagemaker-containers src/sagemaker_containers/_functions.py `error_wrapper` re-raises any exception of a
    user handler as ClientError, which the server answers with 500 (no special case for any exception type)."""
    handler = framework_container(storage, tmp_path / "plain", SKLEARN_IMAGE, PLAIN_ERROR)
    reply = handler.invoke(b"[[1, 2, 3]]", "application/json", "application/json")
    assert reply.status == 500
    assert "expected 2" not in reply.body.decode()
