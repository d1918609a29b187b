"""Measure the default generated project's local workflow against the local executor's performance targets.

Bakes the default project into a temporary folder and measures, side by side in one run:
- the wall time of the whole `run` command (8 tuning trials; target < 30 s);
- a local training job against `python train.py` run directly on the same data (target ratio <= 1.3);
- the local endpoint under concurrent single-row CSV clients on keep-alive connections (targets >= 500 requests/s,
  p99 <= 20 ms);
- a batch transform of a large CSV against reading it and calling preprocessor.transform + model.predict in one
  process (target >= 50 % of its rows/s).
Prints the figures and asserts nothing (this machine is shared and noisy).
Usage: python scripts/benchmark.py [--seconds 10] [--clients 8] [--rows 200000]
"""

from __future__ import annotations

import argparse
import http.client
import io
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "mpg_predictor"


def project_env(project: Path) -> dict[str, str]:
    paths = [str(project / folder) for folder in ("src", "jobs", "api")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def time_command(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _client(url: str, path: str, body: bytes, seconds: float, results: Any) -> None:
    """One closed-loop client on one keep-alive connection; reports its latencies and failures."""
    parsed = urlparse(url)
    headers = {"Content-Type": "text/csv", "Accept": "application/json"}
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
            connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            failures += 1
    results.put((latencies, failures))


def load_test(url: str, endpoint: str, row: str, clients: int, seconds: float) -> dict[str, float]:
    results: Any = multiprocessing.Queue()
    path = f"/endpoints/{endpoint}/invocations"
    processes = [
        multiprocessing.Process(target=_client, args=(url, path, row.encode(), seconds, results))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    batches = [results.get() for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(latency for batch, _ in batches for latency in batch)
    return {
        "requests/s": len(latencies) / seconds,
        "p50 ms": 1000 * latencies[len(latencies) // 2],
        "p99 ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "failed requests": sum(failed for _, failed in batches),
    }


class Measurements:
    """The steps measured inside the baked project, through the engine's Python API."""

    def __init__(self, project: Path) -> None:
        sys.path[:0] = [str(project / "jobs")]
        os.chdir(project)
        from sm_engine.backends import local_backend
        from sm_engine.config import load_config
        from sm_engine.workflow import Workflow

        self.project = project
        self.config = load_config(project / "config" / "project.yaml")
        quiet = lambda _line: None  # noqa: E731
        self.workflow = Workflow(self.config, local_backend(self.config, project, quiet), project, quiet)
        self.client = self.workflow.backend.sagemaker
        self.storage = self.workflow.backend.storage

    def training_ratio(self, repeats: int) -> dict[str, float]:
        processing = self.workflow.latest_processing()
        channels = {name: self.storage.path_for(processing.outputs[name]) for name in ("train", "validation")}
        hyperparameters = self.config.training.hyperparameters
        arguments = [part for key, value in sorted(hyperparameters.items()) for part in (f"--{key}", str(value))]
        with tempfile.TemporaryDirectory() as scratch:
            env = {
                **os.environ,
                "SM_MODEL_DIR": f"{scratch}/model",
                "SM_OUTPUT_DIR": f"{scratch}/output",
                "SM_OUTPUT_DATA_DIR": f"{scratch}/output/data",
                **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()},
            }
            direct, warm, cold = [], [], []
            for _ in range(repeats):
                direct.append(time_command([sys.executable, "train.py", *arguments], self.project / "jobs", env))
                warm.append(self._timed_training_job(processing))
                os.environ["SM_LOCAL_WARM_START"] = "off"
                cold.append(self._timed_training_job(processing))
                del os.environ["SM_LOCAL_WARM_START"]
        return {
            "direct s": min(direct),
            "local job s": min(warm),
            "ratio": min(warm) / min(direct),
            "cold-start job s": min(cold),
            "cold ratio": min(cold) / min(direct),
        }

    def _timed_training_job(self, processing: Any) -> float:
        started = time.perf_counter()
        self.workflow.train(processing)
        return time.perf_counter() - started

    def endpoint(self, clients: int, seconds: float) -> dict[str, float]:
        endpoints = self.client.list_endpoints(SortBy="CreationTime", SortOrder="Descending")["Endpoints"]
        name = endpoints[0]["EndpointName"]
        row = ",".join(self.workflow.read_rows(self.workflow.latest_processing().outputs["test_raw"])[0][1:])
        figures = load_test(self.client.endpoint_url(name), name, row, clients, seconds)
        self.workflow.teardown(self.workflow.endpoint_deployment(name))
        return figures

    def transform(self, rows: int) -> dict[str, float]:
        import joblib
        import numpy as np
        import pandas as pd
        from sm_engine.names import job_name
        from sm_engine.packaging import safe_extract
        from sm_engine.storage import s3_join
        from sm_engine.waiting import TRANSFORM_JOB, wait_for

        processing = self.workflow.latest_processing()
        training = self.workflow.latest_model_artifacts()
        sample = self.workflow.read_rows(processing.outputs["test_raw"])
        lines = [",".join(row) for row in sample]
        text = "\n".join(lines[index % len(lines)] for index in range(rows)) + "\n"
        input_uri = s3_join(self.workflow.locations.root, "benchmark", "input", "rows.csv")
        self.storage.upload_bytes(text.encode(), input_uri)

        with tempfile.TemporaryDirectory() as scratch:
            safe_extract(self.storage.path_for(processing.preprocessor_model), Path(scratch) / "pre")
            safe_extract(self.storage.path_for(training.model_data_url), Path(scratch) / "model")
            started = time.perf_counter()
            preprocessor = joblib.load(Path(scratch) / "pre" / "preprocessor.joblib")
            model = joblib.load(Path(scratch) / "model" / "model.joblib")
            frame = pd.read_csv(io.StringIO(text), header=None).iloc[:, 1:]
            frame.columns = list(self.config.data.columns)
            frame = frame.replace("?", np.nan)
            model.predict(preprocessor.transform(frame))
            in_process = time.perf_counter() - started

        model_name = self.workflow.create_model(training, processing)
        name = job_name(self.config.project.name, "transform")
        request = self.workflow.requests.transform_job(name, model_name)
        request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = s3_join(
            self.workflow.locations.root, "benchmark", "input"
        )
        started = time.perf_counter()
        self.client.create_transform_job(**request)
        wait_for(self.client, TRANSFORM_JOB, name)
        job_seconds = time.perf_counter() - started
        self.client.delete_model(ModelName=model_name)
        return {
            "rows": rows,
            "in-process rows/s": rows / in_process,
            "transform job rows/s": rows / job_seconds,
            "ratio": in_process / job_seconds,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the endpoint load test")
    parser.add_argument("--clients", type=int, default=8, help="concurrent endpoint clients")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of the training comparison (best kept)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the batch transform input")
    arguments = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}  cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=scratch))
        print(f"bake: {time.perf_counter() - started:.2f} s")
        command = [sys.executable, "-m", PACKAGE, "run", "--keep"]
        print(f"run (whole local workflow, 8 trials): {time_command(command, project, project_env(project)):.1f} s")
        measurements = Measurements(project)
        for title, figures in (
            ("endpoint", measurements.endpoint(arguments.clients, arguments.seconds)),
            ("training", measurements.training_ratio(arguments.repeats)),
            ("batch transform", measurements.transform(arguments.rows)),
        ):
            print(f"{title}: " + ", ".join(f"{key} {value:.3g}" for key, value in figures.items()))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
