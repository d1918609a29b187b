"""The pytorch model served as the SageMaker PyTorch inference container serves it: model.tar.gz with code/inside,
SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code, the handler chain of code/inference.py (model_inference.py's payload
contract), through the local executor's container staging; also the raw-row model that carries the preprocessor."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import joblib
import mlp
import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG, REQUESTS, csv_answers
from sm_engine.local.containers import LoadedContainer, load_container, stage_container
from sm_engine.packaging import pack_directory
from sm_engine.storage import LocalStorage

CLASSIFICATION = CONFIG.data.classes is not None
MODEL_URI = "s3://example-bucket/models/job/output/model.tar.gz"


def serve(root: Path, model_dir: Path) -> LoadedContainer:
    """Pack the training job's model directory as SageMaker does and load the model container of the CreateModel
    request (PrimaryContainer without an inference pipeline, the last container with one)."""
    storage = LocalStorage(root)
    pack_directory(model_dir, storage.path_for(MODEL_URI))
    request = REQUESTS.model("model", MODEL_URI, "s3://example-bucket/preprocessor/model.tar.gz")
    container = request.get("PrimaryContainer") or request["Containers"][-1]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    return load_container(stage_container(container, storage, root / "staged", "model"))


def expected_answers(model_dir: Path, features: np.ndarray) -> list:
    """The network's own answers: values of a regressor, labels of a classifier."""
    network, architecture = mlp.load(model_dir)
    predictions = mlp.predict(network, architecture, features)
    if architecture.n_classes is None:
        return predictions.tolist()
    classes = json.loads((model_dir / "classes.json").read_text())
    return [classes[code] for code in predictions.argmax(axis=1)]


def test_features_to_predictions(tmp_path: Path, trained_model_dir: Path, processed: Path) -> None:
    container = serve(tmp_path, trained_model_dir)
    features = pd.read_csv(processed / "test" / "test.csv", header=None).to_numpy()[:, 1:]
    body = "\n".join(",".join(repr(value) for value in row) for row in features.tolist()).encode()
    response = container.invoke(body, "text/csv", "text/csv")
    assert response.status == 200 and response.content_type == "text/csv"
    answers = csv_answers(response.body, CLASSIFICATION)
    expected = expected_answers(trained_model_dir, features)
    if CLASSIFICATION:
        assert answers == expected
    else:
        np.testing.assert_allclose(answers, expected, rtol=1e-12)
    response = container.invoke(json.dumps(features[:3].tolist()).encode(), "application/json", "application/json")
    payload = json.loads(response.body)
    expected = expected_answers(trained_model_dir, features[:3])  # float32 sums can differ with the batch's shape
    if not CLASSIFICATION:
        assert payload == {"predictions": pytest.approx(expected, rel=1e-12)}
    else:
        assert payload["predictions"] == expected
        assert payload["classes"] == CONFIG.data.classes
        probabilities = np.array(payload["probabilities"])
        assert probabilities.shape == (3, len(CONFIG.data.classes))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
        assert [CONFIG.data.classes[code] for code in probabilities.argmax(axis=1)] == payload["predictions"]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"1,2,3\n", "text/csv", "application/json", 400, "row 1 has 3 values, expected"),
        (b"", "text/csv", "application/json", 400, "empty request body"),
        (b"1,2", "application/x-npy", "application/json", 400, "malformed application/x-npy body: not a .npy array"),
        (b"1,2", "application/x-parquet", "application/json", 415, "unsupported content type"),
        (None, "text/csv", "image/png", 406, "unsupported accept"),
    ],
)
def test_bad_requests_get_their_status(
    tmp_path: Path,
    trained_model_dir: Path,
    body: bytes | None,
    content_type: str,
    accept: str,
    status: int,
    message: str,
) -> None:
    if body is None:  # a valid row: the Accept header is only read once there is a prediction to encode
        body = ",".join(["0.5"] * mlp.load(trained_model_dir)[1].n_features).encode()
    response = serve(tmp_path, trained_model_dir).invoke(body, content_type, accept)
    assert response.status == status
    assert message in json.loads(response.body)["error"]


def test_missing_features_are_refused(tmp_path: Path, trained_model_dir: Path) -> None:
    width = mlp.load(trained_model_dir)[1].n_features
    row = ",".join(["1.0"] * (width - 1) + [""])
    response = serve(tmp_path, trained_model_dir).invoke(row.encode(), "text/csv", "application/json")
    assert response.status == 400
    assert f"row 1, column {width}: missing value" in json.loads(response.body)["error"]


@pytest.fixture(scope="module")
def raw_row_model(tmp_path_factory: pytest.TempPathFactory, processed: Path, training_runner: Callable) -> Path:
    """A training job with the `preprocessor` channel (the shape served without an inference pipeline)."""
    base = tmp_path_factory.mktemp("raw_rows")
    channels = {name: processed / name / f"{name}.csv" for name in ("train", "validation")}
    channels["preprocessor"] = processed / "preprocessor" / "model.tar.gz"
    result = training_runner(base, channels)
    assert result.returncode == 0, result.stderr
    return base / "model"


def test_the_raw_row_model_carries_its_preprocessor_and_serves_raw_rows(
    tmp_path: Path, raw_row_model: Path, processed: Path, preprocessor_dir: Path
) -> None:
    code = {path.name for path in (raw_row_model / "code").iterdir()}
    transformer_modules = {f"{name.rpartition('.')[0]}.py" for name in CONFIG.data.transformers}
    assert code == {"inference.py", "mlp.py", "sm_runtime", "requirements.txt", *transformer_modules}
    assert (raw_row_model / "code" / "requirements.txt").read_text().startswith("scikit-learn==")
    assert (raw_row_model / "preprocessor.joblib").is_file()
    raw = pd.read_csv(processed / "test_raw" / "test_raw.csv", header=None, keep_default_na=False)
    rows = raw.iloc[:5, 1:].astype(str).to_numpy()
    features = joblib.load(preprocessor_dir / "preprocessor.joblib").transform(rows.tolist())
    container = serve(tmp_path, raw_row_model)
    body = "\n".join(",".join(row) for row in rows).encode()
    response = container.invoke(body, "text/csv", "text/csv")
    assert response.status == 200, response.body
    answers = csv_answers(response.body, CLASSIFICATION)
    expected = expected_answers(raw_row_model, np.asarray(features, dtype=float))
    assert answers == expected if CLASSIFICATION else np.allclose(answers, expected, rtol=1e-9)
    objects = [dict(zip(CONFIG.data.columns, row, strict=True)) for row in rows.tolist()]
    response = container.invoke(json.dumps(objects).encode(), "application/json", "application/json")
    assert response.status == 200, response.body
    assert len(json.loads(response.body)["predictions"]) == 5


def test_a_model_directory_without_the_network_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(mlp.ModelFileError, match=r"no model\.json and no model\.pth in"):
        mlp.load(tmp_path)
