"""Load test of the default generated project's local endpoint: many clients, mixed valid and invalid payloads.

Bakes the default project, runs its workflow with `run --keep`, then drives the kept endpoint on 127.0.0.1 (only) with
`--clients` concurrent asyncio clients on keep-alive connections for `--seconds` (both bounded), through the SageMaker
Runtime REST path that boto3 uses. Each request picks a payload case: most are valid rows (CSV and JSON), the rest
are the documented bad inputs (wrong Content-Type, wrong Accept, empty body, malformed CSV/JSON, wrong column count,
NaN/inf, text in a numeric column, a very wide row, a 7 MB body). `--slow-clients` more clients send their body, and
`--slow-header-clients` their headers, slower than the server's deadlines (answered 408). Prints a report (requests
per case, answered as documented or not, failures, latency of the valid ones, the server's RSS before and after);
asserts nothing: this machine is shared and noisy.
Usage: python scripts/loadtest.py [--clients 50] [--seconds 30] [--slow-clients 4] [--slow-header-clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from benchmark import PACKAGE, TEMPLATE, Measurements, process_group, project_env, time_command
from cookiecutter.main import cookiecutter

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 30.0
SLOW_BYTE_INTERVAL_S = 1.0
RSS_INTERVAL_S = 5.0
MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Case:
    """One kind of request and the answer the endpoint documents for it."""

    name: str
    body: bytes
    content_type: str
    accept: str
    status: int  # what the runtime path answers: 200, 424 (ModelError) or its own 413
    original_status: int | None = None  # the container's status inside a ModelError
    weight: int = 1


@dataclass
class Tally:
    sent: int = 0
    as_documented: int = 0
    wrong_answer: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def cases(row: list[str]) -> list[Case]:
    """The payload mix, built from one real raw test row."""
    csv_row = ",".join(row).encode()
    width = len(row)

    def in_numeric_column(value: str) -> bytes:  # displacement (cylinders and origin are categorical: any text goes)
        return ",".join([row[0], value, *row[2:]]).encode()

    numbers = [float(value) if value else None for value in row]

    def model_error(name: str, body: bytes, original: int, content_type: str = "text/csv", accept: str = "*/*") -> Case:
        return Case(name, body, content_type, accept, 424, original)

    return [
        Case("valid CSV row", csv_row, "text/csv", "application/json", 200, weight=12),
        Case("valid CSV, 20 rows", b"\n".join([csv_row] * 20), "text/csv", "text/csv", 200, weight=4),
        Case("valid JSON rows", json.dumps([numbers]).encode(), "application/json", "application/json", 200, weight=4),
        model_error("wrong Content-Type", csv_row, 415, content_type="application/xml"),
        model_error("wrong Accept", csv_row, 406, accept="image/png"),
        model_error("empty body", b"", 400),
        model_error("malformed CSV", b'1,"2,3\n', 400),
        model_error("malformed JSON", b"[[1, 2", 400, content_type="application/json"),
        model_error("wrong column count", b"1,2,3", 400),
        model_error("NaN", in_numeric_column("nan"), 400),
        model_error("inf", in_numeric_column("inf"), 400),
        model_error("text in a numeric column", in_numeric_column("abc"), 400),
        model_error("very wide row", ",".join(["1"] * (width * 5000)).encode(), 400),
        Case("7 MB body", b"1" * (7 * 1024 * 1024), "text/csv", "*/*", 413),
    ]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def head(path: str, case: Case) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {case.content_type}\r\nAccept: {case.accept}\r\n"
        f"Content-Length: {len(case.body)}\r\n\r\n"
    ).encode()


def documented(case: Case, status: int, body: bytes) -> bool:
    """The status the case documents, and for errors a JSON body that says what was wrong."""
    if status != case.status:
        return False
    if status == 200:
        return True
    try:
        error = json.loads(body)
    except ValueError:
        return False
    if case.original_status is None:
        return bool(error.get("message"))
    return error.get("OriginalStatusCode") == case.original_status and "error" in json.loads(error["OriginalMessage"])


class Client:
    """One closed-loop client on one keep-alive connection, reconnecting when the server closes it."""

    def __init__(self, port: int, path: str, mix: list[Case], tallies: dict[str, Tally], seed: int) -> None:
        self.port, self.path, self.mix, self.tallies = port, path, mix, tallies
        self.random = random.Random(seed)
        self.connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, case: Case) -> tuple[int, dict[str, str], bytes]:
        if self.connection is None:
            self.connection = await asyncio.open_connection(HOST, self.port)
        reader, writer = self.connection
        writer.write(head(self.path, case) + case.body)
        await writer.drain()
        status, headers, body = await read_response(reader)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self.connection is not None:
            self.connection[1].close()
            self.connection = None

    async def run(self, deadline: float) -> None:
        weights = [case.weight for case in self.mix]
        while time.monotonic() < deadline:
            case = self.random.choices(self.mix, weights)[0]
            tally = self.tallies[case.name]
            tally.sent += 1
            started = time.perf_counter()
            try:
                status, _, body = await asyncio.wait_for(self.send(case), REQUEST_TIMEOUT_S)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
                tally.failed += 1
                tally.examples.append(f"{type(error).__name__}: {error}")
                self.close()
                continue
            if documented(case, status, body):
                tally.as_documented += 1
                if status == 200:
                    tally.latencies.append(time.perf_counter() - started)
            else:
                tally.wrong_answer += 1
                tally.examples.append(f"{status}: {body[:160]!r}")
        self.close()


async def trickling_client(
    port: int, at_once: bytes, trickled: bytes, deadline: float, tally: Tally, answered: Callable[[int, bytes], bool]
) -> None:
    """Sends `at_once`, then `trickled` one byte a second, over and over: the server must answer before the end (a
    timeout 4xx that `answered` accepts) and keep serving everyone else."""
    while time.monotonic() < deadline:
        tally.sent += 1
        writer = None
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(at_once)
            answer = asyncio.ensure_future(read_response(reader))
            for byte in trickled:
                if answer.done() or time.monotonic() >= deadline:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.wait([answer], timeout=SLOW_BYTE_INTERVAL_S)
            status, _, body = await asyncio.wait_for(answer, REQUEST_TIMEOUT_S)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
            tally.failed += 1
            tally.examples.append(f"{type(error).__name__}: {error}")
            continue
        finally:
            if writer is not None:
                writer.close()
        if answered(status, body):
            tally.as_documented += 1
        else:
            tally.wrong_answer += 1
            tally.examples.append(f"{status}: {body[:160]!r}")


def slow_body_client(port: int, path: str, row: bytes, deadline: float, tally: Tally) -> Awaitable[None]:
    """A valid request whose body trickles: answered by the body deadline (a JSON 4xx)."""
    case = Case("slow body", row, "text/csv", "application/json", 408)
    return trickling_client(
        port, head(path, case), row, deadline, tally, lambda status, body: 400 <= status < 500 and body[:1] == b"{"
    )


def slow_header_client(port: int, path: str, row: bytes, deadline: float, tally: Tally) -> Awaitable[None]:
    """A valid request whose headers trickle: answered 408 by the header deadline."""
    case = Case("slow headers", row, "text/csv", "application/json", 408)
    return trickling_client(port, b"", head(path, case) + row, deadline, tally, lambda status, _: status == 408)


def process_group_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children (the server's master and workers), in MB."""
    total = 0
    for folder in process_group(pid):
        try:
            status = (folder / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


@dataclass(frozen=True)
class KeptEndpoint:
    """The endpoint under test: its port and invocation path on 127.0.0.1, a raw test row, its server's pid."""

    port: int
    path: str
    row: list[str]
    server_pid: int


@contextmanager
def kept_endpoint() -> Iterator[KeptEndpoint]:
    """Bake the default project into a temporary folder, `run --keep`, yield its endpoint; delete the endpoint at the
    end, also when the load fails or is interrupted."""
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=scratch))
        command = [sys.executable, "-m", PACKAGE, "run", "--keep"]
        print(f"run --keep: {time_command(command, project, project_env(project)):.1f} s", flush=True)
        measurements = Measurements(project)
        client, workflow = measurements.client, measurements.workflow
        name = client.list_endpoints(SortBy="CreationTime", SortOrder="Descending")["Endpoints"][0]["EndpointName"]
        try:
            row = workflow.read_rows(workflow.latest_processing().outputs["test_raw"])[0][1:]
            server_pid = client.store.read("endpoints", name)["private"]["pid"]  # the endpoint's gunicorn master
            port = urlparse(client.endpoint_url(name)).port
            yield KeptEndpoint(int(port or 0), f"/endpoints/{name}/invocations", row, server_pid)
        finally:
            workflow.teardown(workflow.endpoint_deployment(name))


async def sample_rss(pid: int, deadline: float, interval: float, samples: list[tuple[float, float]]) -> None:
    """(seconds since the start, the server's RSS in MB) every `interval` s while the load lasts, and once at its end
    (stable memory shows as a plateau)."""
    started = time.monotonic()
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - started, process_group_rss_mb(pid)))
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    samples.append((time.monotonic() - started, process_group_rss_mb(pid)))


async def drive(
    endpoint: KeptEndpoint, arguments: argparse.Namespace, rss_interval: float
) -> tuple[dict[str, Tally], list[tuple[float, float]]]:
    """`arguments.clients` keep-alive clients, `slow_clients` with trickling bodies and `slow_header_clients` with
    trickling headers for `arguments.seconds`, the server's RSS sampled every `rss_interval` s."""
    mix = cases(endpoint.row)
    tallies = {case.name: Tally() for case in mix} | {"slow body": Tally(), "slow headers": Tally()}
    deadline = time.monotonic() + arguments.seconds
    port, path, row = endpoint.port, endpoint.path, ",".join(endpoint.row).encode()
    clients = [Client(port, path, mix, tallies, seed).run(deadline) for seed in range(arguments.clients)]
    slow = [slow_body_client(port, path, row, deadline, tallies["slow body"]) for _ in range(arguments.slow_clients)]
    slow += [
        slow_header_client(port, path, row, deadline, tallies["slow headers"])
        for _ in range(arguments.slow_header_clients)
    ]
    rss: list[tuple[float, float]] = []
    await asyncio.gather(*clients, *slow, sample_rss(endpoint.server_pid, deadline, rss_interval, rss))
    return tallies, rss


def add_load_options(parser: argparse.ArgumentParser, seconds: float, max_seconds: float) -> None:
    """The options of the load: clients, duration, slow clients (their bounds are checked by `check_load`)."""
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (at most 200)")
    parser.add_argument("--seconds", type=float, default=seconds, help=f"duration (at most {max_seconds:g})")
    parser.add_argument("--slow-clients", type=int, default=4, help="clients that trickle their body (at most 20)")
    parser.add_argument(
        "--slow-header-clients", type=int, default=4, help="clients that trickle their headers (at most 20)"
    )


def check_load(parser: argparse.ArgumentParser, arguments: argparse.Namespace, max_seconds: float) -> None:
    if not (
        1 <= arguments.clients <= 200
        and 1 <= arguments.seconds <= max_seconds
        and 0 <= arguments.slow_clients <= 20
        and 0 <= arguments.slow_header_clients <= 20
    ):
        parser.error(
            f"keep --clients in 1..200, --seconds in 1..{max_seconds:g}, --slow-clients and --slow-header-clients "
            "in 0..20"
        )


def report(tallies: dict[str, Tally], seconds: float) -> None:
    print(f"{'case':28} {'sent':>7} {'as documented':>14} {'wrong answer':>13} {'failed':>7}")
    for name, tally in tallies.items():
        print(f"{name:28} {tally.sent:7d} {tally.as_documented:14d} {tally.wrong_answer:13d} {tally.failed:7d}")
        for example in tally.examples[:2]:
            print(f"    e.g. {example}")
    latencies = sorted(latency for tally in tallies.values() for latency in tally.latencies)
    if latencies:
        p50, p99 = latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"valid requests: {len(latencies) / seconds:.0f}/s, p50 {1000 * p50:.1f} ms, p99 {1000 * p99:.1f} ms")
    valid_failed = sum(t.failed + t.wrong_answer for n, t in tallies.items() if n.startswith("valid"))
    invalid_wrong = sum(t.failed + t.wrong_answer for n, t in tallies.items() if not n.startswith("valid"))
    print(f"valid requests not answered 200: {valid_failed}; invalid ones not answered as documented: {invalid_wrong}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser, seconds=30.0, max_seconds=MAX_SECONDS)
    arguments = parser.parse_args()
    check_load(parser, arguments, MAX_SECONDS)
    print(f"load average before: {os.getloadavg()[0]:.2f}  cores: {os.cpu_count()}")
    with kept_endpoint() as endpoint:
        before = process_group_rss_mb(endpoint.server_pid)
        tallies, rss = asyncio.run(drive(endpoint, arguments, RSS_INTERVAL_S))
        report(tallies, arguments.seconds)
        print(f"server RSS (master + workers): {before:.0f} MB before, {rss[-1][1]:.0f} MB after")
        print(f"  every {RSS_INTERVAL_S:g} s under load: " + ", ".join(f"{mb:.0f}" for _, mb in rss) + " MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
