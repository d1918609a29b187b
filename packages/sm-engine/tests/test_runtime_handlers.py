"""sm_runtime.handlers.transform_fn answers a PayloadError as the serving toolkit present answers a client error.

Each case runs in a fresh interpreter whose path holds exactly the toolkits of one image (compat.paths_for), as the
image's own process does; this process may hold toolkits that earlier local containers put on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sm_runtime
from sm_engine.local import compat

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
PYTORCH_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6-cpu-py312"

HANDLER = textwrap.dedent("""
    import json

    from sm_runtime import handlers
    from sm_runtime.errors import PayloadError


    def read(body, content_type):
        if content_type != "text/csv":
            raise PayloadError(415, "send text/csv")
        return [float(value) for value in body.split(",")]


    def predict(data, model):
        return [value * model for value in data]


    def encode(prediction, accept):
        return json.dumps(prediction), "application/json"


    transform_fn = handlers.transform_fn(read, predict, encode)
    answers = {"ok": transform_fn(2, "1,2", "text/csv", "application/json")}
    try:
        refused = transform_fn(2, "1,2", "text/plain", "application/json")
        answers["refused"] = [type(refused).__name__, refused.status_code, refused.mimetype, refused.get_data(True)]
    except Exception as error:
        answers["refused"] = [type(error).__name__, getattr(error, "status_code", getattr(error, "status", None))]
    print(json.dumps(answers))
""")


def answers_with(toolkit_paths: list[str]) -> dict:
    """The handler's answers in an interpreter with sm_runtime and the given toolkit folders on its path."""
    path = [str(Path(sm_runtime.__file__).parents[1]), *toolkit_paths]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run(
        [sys.executable, "-c", HANDLER], capture_output=True, text=True, check=True, env=environment, timeout=60
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("image", "refused"),
    [
        # aws/sagemaker-containers src/sagemaker_containers/_transformer.py Transformer.transform returns the
        # worker.Response of a transform_fn as it is, status included.
        (SKLEARN_IMAGE, ["Response", 415, "application/json", '{"error": "send text/csv"}']),
        # aws/sagemaker-inference-toolkit src/sagemaker_inference/transformer.py Transformer.transform answers a
        # BaseInferenceToolkitError with its status_code.
        (PYTORCH_IMAGE, ["GenericInferenceToolkitError", 415]),
        # no toolkit (unit tests of the handlers): the PayloadError itself.
        ("", ["PayloadError", 415]),
    ],
)
def test_a_payload_error_is_answered_in_the_form_of_the_toolkit_present(image: str, refused: list) -> None:
    answers = answers_with(compat.paths_for(image) if image else [])
    assert answers == {"ok": ["[2.0, 4.0]", "application/json"], "refused": refused}
