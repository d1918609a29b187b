"""Measure the default generated project's local workflow against the local executor's performance targets.

Bakes the default project into a temporary folder and measures, side by side in one run, each figure with the
machine's 1-minute load average when it was taken:
- `cookiecutter` bake of this template against a one-file template's bake (the floor; target <= 2x), a first bake
  (empty cache folder) and one with the compiled templates cached;
- the CLI's start: `--help` and `endpoints` on a project without endpoints;
- the wall time of the whole `run` command (8 tuning trials; target < 30 s);
- the local endpoint under 1, 8 and 32 concurrent single-row CSV clients on keep-alive connections (2-container
  pipeline; targets at 8 clients: >= 500 requests/s, p99 <= 20 ms), with the CPU time per request of the server
  (master and workers) and of the clients (plain sockets driven by one event loop in this process);
- a local training job, warm and cold (`SM_LOCAL_WARM_START=off`), against `python train.py` run directly on the same
  data (target ratio <= 1.3);
- batch transforms of 10,000 and 200,000 rows (`--rows`; `--two-million` adds 2,000,000) against reading the same CSV
  and calling preprocessor.transform + model.predict in one process (target >= 50 % of its rows/s at 200,000 rows),
  ending with their scaling table: how the ratio grows as the server's fixed start is spread over more rows.
Prints the figures and asserts nothing (this machine is shared and noisy).
Usage: python scripts/benchmark.py [--seconds 10] [--clients 1,8,32] [--rows 10000,200000] [--two-million]
       [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "mpg_predictor"
BIN = Path(sys.executable).parent


def load() -> float:
    return os.getloadavg()[0]


def report(title: str, figures: dict[str, Any]) -> None:
    """One line of figures, with the load average at the moment it is printed."""
    text = ", ".join(
        f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}" for key, value in figures.items()
    )
    print(f"{title}: {text}  [load {load():.2f}]", flush=True)


def time_command(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def best_of(repeats: int, *commands: Callable[[], float]) -> list[float]:
    """The fastest of `repeats` timings of each command, the commands interleaved (the same load for each)."""
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(repeats):
        for timing, command in zip(timings, commands, strict=True):
            timing.append(command())
    return [min(timing) for timing in timings]


def one_file_template(folder: Path) -> Path:
    """The floor of a bake: a template of one rendered file, no hooks."""
    template = folder / "one-file-template"
    (template / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"project_slug": "one_file"}))
    (template / "{{cookiecutter.project_slug}}" / "README.md").write_text("# {{ cookiecutter.project_slug }}\n")
    return template


def bake_ratio(scratch: Path, repeats: int) -> dict[str, float]:
    """The template's bake with an empty cache folder (a user's first bake: the compiled templates are not cached
    yet, sm_template_prompts.py) and with a filled one, against the one-file floor."""
    floor_template = one_file_template(scratch)
    folders = iter(range(10_000))
    filled_cache = scratch / "filled-cache"

    def bake(template: Path, cache: Path | None = None) -> Callable[[], float]:
        def timed() -> float:
            number = next(folders)
            env = {**os.environ, "XDG_CACHE_HOME": str(cache or scratch / f"empty-cache-{number}")}
            command = [str(BIN / "cookiecutter"), "--no-input", "-o", str(scratch / f"bake-{number}"), str(template)]
            return time_command(command, scratch, env)

        return timed

    bake(TEMPLATE, filled_cache)()  # fills the cache
    first, cached, floor = best_of(repeats, bake(TEMPLATE), bake(TEMPLATE, filled_cache), bake(floor_template))
    return {
        "first bake s": first,
        "cached bake s": cached,
        "one-file floor s": floor,
        "ratio first": first / floor,
        "ratio cached": cached / floor,
    }


def cli_start(project: Path, repeats: int) -> dict[str, float]:
    env = project_env(project)
    cli = [sys.executable, "-m", PACKAGE]
    help_s, endpoints_s = best_of(
        repeats,
        lambda: time_command([*cli, "--help"], project, env),
        lambda: time_command([*cli, "endpoints"], project, env),
    )
    return {"--help s": help_s, "empty endpoints s": endpoints_s}


def project_env(project: Path) -> dict[str, str]:
    paths = [str(project / folder) for folder in ("src", "jobs", "api")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def process_group(pid: int) -> list[Path]:
    """The /proc folders of a process and its children (an endpoint server's master and workers)."""
    folders = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if int(entry.name) == pid or parent == pid:
                folders.append(entry)
    return folders


def process_group_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far."""
    total = 0
    for folder in process_group(pid):
        try:
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def reply_length(buffer: bytes) -> tuple[int, int] | None:
    """(status, length) of the complete HTTP/1.1 reply (with a Content-Length) that `buffer` starts with, else None."""
    head, separator, body = buffer.partition(b"\r\n\r\n")
    if not separator:
        return None
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:"))
    return (int(lines[0].split()[1]), len(head) + 4 + length) if len(body) >= length else None


class KeepAliveClient:
    """One closed-loop client: a keep-alive connection, its request in flight, the reply bytes so far."""

    def __init__(self, address: tuple[str, int], request: bytes) -> None:
        self.address, self.request = address, request
        self.connection = socket.create_connection(address, timeout=10)
        self.started = 0.0
        self.buffer = b""

    def send(self) -> None:
        self.buffer = b""
        self.started = time.perf_counter()
        self.connection.sendall(self.request)

    def reconnect(self) -> None:
        self.connection.close()
        self.connection = socket.create_connection(self.address, timeout=10)


def drive(address: tuple[str, int], request: bytes, clients: int, seconds: float) -> tuple[list[float], int]:
    """`clients` closed-loop clients for `seconds`, all in this one process and thread (an event loop over their
    sockets): on two cores, a process per client would add as many runnable tasks as the server has, and the clients'
    own scheduling delays would fill the tail. Returns the latencies of the 200s and the count of other answers."""
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    for client in [KeepAliveClient(address, request) for _ in range(clients)]:
        client.send()
        selector.register(client.connection, selectors.EVENT_READ, client)
    while (remaining := deadline - time.perf_counter()) > 0:
        for key, _ in selector.select(remaining):
            client = key.data
            try:
                chunk = client.connection.recv(65536)
            except OSError:  # a reset connection: a failure, then a new connection, as a closed one
                chunk = b""
            client.buffer += chunk
            reply = reply_length(client.buffer) if chunk else None
            if chunk and reply is None:
                continue  # the rest of the reply is still coming
            if reply is not None and reply[0] == 200 and reply[1] == len(client.buffer):
                latencies.append(time.perf_counter() - client.started)
            else:
                failures += 1
                selector.unregister(client.connection)
                client.reconnect()
                selector.register(client.connection, selectors.EVENT_READ, client)
            client.send()
    for key in list(selector.get_map().values()):
        key.data.connection.close()
    return latencies, failures


def load_test(url: str, endpoint: str, row: str, clients: int, seconds: float, server_pid: int) -> dict[str, float]:
    """Single-row CSV requests from `clients` keep-alive clients (drive), with the server's and the clients' CPU."""
    parsed = urlparse(url)
    body = row.encode()
    request = (
        f"POST /endpoints/{endpoint}/invocations HTTP/1.1\r\nHost: {parsed.hostname}\r\nContent-Type: text/csv\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    server_before, clients_before = process_group_cpu_s(server_pid), time.process_time()
    latencies, failures = drive((str(parsed.hostname), int(parsed.port or 80)), request, clients, seconds)
    server_cpu = process_group_cpu_s(server_pid) - server_before
    clients_cpu = time.process_time() - clients_before
    latencies.sort()
    if not latencies:
        return {"requests/s": 0.0, "failed requests": failures}
    return {
        "requests/s": len(latencies) / seconds,
        "p50 ms": 1000 * latencies[len(latencies) // 2],
        "p99 ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "server CPU us/request": 1e6 * server_cpu / len(latencies),
        "clients CPU us/request": 1e6 * clients_cpu / len(latencies),
        "failed requests": failures,
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
            direct, warm, cold = best_of(
                repeats,
                lambda: time_command([sys.executable, "train.py", *arguments], self.project / "jobs", env),
                lambda: self._timed_training_job(processing, warm_start=True),
                lambda: self._timed_training_job(processing, warm_start=False),
            )
        return {
            "direct s": direct,
            "warm job s": warm,
            "warm ratio": warm / direct,
            "cold job s": cold,
            "cold ratio": cold / direct,
        }

    def _timed_training_job(self, processing: Any, warm_start: bool) -> float:
        if not warm_start:
            os.environ["SM_LOCAL_WARM_START"] = "off"
        try:
            started = time.perf_counter()
            self.workflow.train(processing)
            return time.perf_counter() - started
        finally:
            os.environ.pop("SM_LOCAL_WARM_START", None)

    def endpoint(self, clients: list[int], seconds: float) -> list[tuple[int, dict[str, float]]]:
        endpoints = self.client.list_endpoints(SortBy="CreationTime", SortOrder="Descending")["Endpoints"]
        name = endpoints[0]["EndpointName"]
        row = ",".join(self.workflow.read_rows(self.workflow.latest_processing().outputs["test_raw"])[0][1:])
        server_pid = self.client.store.read("endpoints", name)["private"]["pid"]  # the gunicorn master
        url = self.client.endpoint_url(name)
        try:
            return [(count, load_test(url, name, row, count, seconds, server_pid)) for count in clients]
        finally:
            self.workflow.teardown(self.workflow.endpoint_deployment(name))

    def transform(self, rows: int) -> dict[str, float]:
        """A transform job of `rows` rows against read + transform + predict in one process: in this process with the
        libraries imported (warm), and as a fresh `python` script (its interpreter start and imports included)."""
        from sm_engine.names import job_name
        from sm_engine.packaging import safe_extract
        from sm_engine.storage import s3_join
        from sm_engine.waiting import TRANSFORM_JOB, wait_for

        processing = self.workflow.latest_processing()
        training = self.workflow.latest_model_artifacts()
        sample = self.workflow.read_rows(processing.outputs["test_raw"])
        lines = [",".join(row) for row in sample]
        text = "\n".join(lines[index % len(lines)] for index in range(rows)) + "\n"
        folder = s3_join(self.workflow.locations.root, "benchmark", f"input-{rows}")
        self.storage.upload_bytes(text.encode(), s3_join(folder, "rows.csv"))
        input_prefix = f"{folder}/"  # the folder alone: the prefix `input-200000` also holds `input-2000000/...`
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            safe_extract(self.storage.path_for(processing.preprocessor_model), scratch)
            safe_extract(self.storage.path_for(training.model_data_url), scratch)
            (scratch / "rows.csv").write_text(text)
            (scratch / "columns.json").write_text(json.dumps(list(self.config.data.columns)))
            predict_in_process(scratch)  # the imports, not timed
            warm = predict_in_process(scratch)
            script = [sys.executable, __file__, "--predict-in-process", str(scratch)]
            fresh = time_command(script, self.project / "jobs", project_env(self.project))

        model_name = self.workflow.create_model(training, processing)
        name = job_name(self.config.project.name, "transform")
        request = self.workflow.requests.transform_job(name, model_name)
        request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = input_prefix
        started = time.perf_counter()
        self.client.create_transform_job(**request)
        # polled every 5 ms: the job's time, not the back-off of a CLI's poll (up to a tenth of the time waited)
        wait_for(self.client, TRANSFORM_JOB, name, poll_seconds=0.005, max_poll_seconds=0.005)
        job_seconds = time.perf_counter() - started
        self.client.delete_model(ModelName=model_name)
        status = self.client.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
        return {
            "rows": rows,
            "job s": job_seconds,
            "job rows/s": rows / job_seconds,
            "in-process warm rows/s": rows / warm,
            "ratio to warm": warm / job_seconds,
            "fresh script rows/s": rows / fresh,
            "ratio to fresh script": fresh / job_seconds,
            "status": status,
        }


def predict_in_process(folder: Path) -> float:
    """Seconds to load both models, read the CSV and predict (folder: preprocessor.joblib, model.joblib, rows.csv,
    columns.json), in this process."""
    import joblib
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    preprocessor = joblib.load(folder / "preprocessor.joblib")
    model = joblib.load(folder / "model.joblib")
    frame = pd.read_csv(folder / "rows.csv", header=None).iloc[:, 1:]
    frame.columns = json.loads((folder / "columns.json").read_text())
    model.predict(preprocessor.transform(frame.replace("?", np.nan)))
    return time.perf_counter() - started


def scaling_table(results: list[dict[str, Any]]) -> str:
    """The batch transforms side by side: rows/s of the local job and of the in-process reference, and their ratio."""
    lines = [
        "| rows | job s | job rows/s | in-process warm rows/s | ratio | fresh script rows/s | ratio | load |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {result['rows']:,} | {result['job s']:.2f} | {result['job rows/s']:,.0f} "
            f"| {result['in-process warm rows/s']:,.0f} | {result['ratio to warm']:.0%} "
            f"| {result['fresh script rows/s']:,.0f} | {result['ratio to fresh script']:.0%} | {result['load']:.2f} |"
        )
    return "\n".join(lines)


def integers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each endpoint load test")
    parser.add_argument("--clients", type=integers, default=[1, 8, 32], help="endpoint client counts, e.g. 1,8,32")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of the timed commands (best kept)")
    parser.add_argument(
        "--rows", type=integers, default=[10_000, 200_000], help="batch transform sizes, e.g. 10000,200000,2000000"
    )
    parser.add_argument("--two-million", action="store_true", help="add a 2,000,000-row transform (minutes)")
    parser.add_argument("--predict-in-process", type=Path, help=argparse.SUPPRESS)  # the fresh script's run
    arguments = parser.parse_args()
    if arguments.predict_in_process:
        predict_in_process(arguments.predict_in_process)
        return
    print(f"load average before: {load():.2f}  cores: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        report("bake (cookiecutter CLI)", bake_ratio(scratch, arguments.repeats))
        subprocess.run(
            [str(BIN / "cookiecutter"), "--no-input", "-o", str(scratch / "project"), str(TEMPLATE)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        project = scratch / "project" / PACKAGE
        report("CLI start", cli_start(project, arguments.repeats))
        command = [sys.executable, "-m", PACKAGE, "run", "--keep"]
        report("run (whole local workflow, 8 trials)", {"s": time_command(command, project, project_env(project))})
        measurements = Measurements(project)
        for clients, figures in measurements.endpoint(arguments.clients, arguments.seconds):
            report(f"endpoint, {clients} client(s)", figures)
        report("training", measurements.training_ratio(arguments.repeats))
        results = []
        for rows in [*arguments.rows, *([2_000_000] if arguments.two_million else [])]:
            result = measurements.transform(rows)
            report("batch transform", result)
            results.append({**result, "load": load()})
        print(f"batch transform scaling:\n{scaling_table(results)}", flush=True)
    print(f"load average after: {load():.2f}")


if __name__ == "__main__":
    main()
