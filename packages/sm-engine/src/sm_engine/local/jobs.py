"""The life of one local job, shared by processing, training and batch transform.

A JobRun creates the job folder and its logs.txt, records the start time, sets the job up, starts one process per
host (`/opt/ml` = the host's folder) and records their pids so that a stop reaches them, waits for them, and hands
their results to the kind's conclusion; `run()` never raises: whatever happens, the record ends in a final status.
"""

from __future__ import annotations

import threading
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from .. import image_versions
from ..errors import JobError, ServiceError
from ..storage import LocalStorage
from . import environment, isolation, pinned_env
from .processes import Finished, terminate
from .state import StateStore, now

Log = Callable[[str], None]
Launch = Callable[[str], tuple[list[str], dict[str, str], str]]
"""What a host runs: host -> (command, environment, working directory), written with /opt/ml paths."""
SETUP_ERRORS = (JobError, ServiceError)
"""Errors that keep a job from starting; it fails with `ClientError: <message>`, without a traceback."""


def request_stop(
    store: StateStore, kind: str, name: str, status_key: str, mark: Callable[[dict[str, Any]], None] | None = None
) -> bool:
    """Mark an InProgress job Stopping (`mark` adds kind-specific fields) and SIGTERM its processes; False when it was
    not running."""
    stopping = threading.Event()

    def change(record: dict[str, Any]) -> None:
        description = record["description"]
        if description[status_key] == "InProgress":
            description[status_key] = "Stopping"
            if mark is not None:
                mark(description)
            description["LastModifiedTime"] = now()
            stopping.set()

    record = store.update(kind, name, change)
    if stopping.is_set():
        for pid in record["private"].get("pids", []):
            _terminate_soon(pid)
    return stopping.is_set()


def _terminate_soon(pid: int) -> None:
    threading.Thread(target=terminate, args=(pid,), daemon=True).start()


@dataclass
class HostResult:
    host: str
    job_dir: Path
    command: list[str]
    finished: Finished


@dataclass(frozen=True)
class JobContext:
    """What every local job of a client works with: the records, S3, the folder its job folders go under, the log
    callback and where it runs (config local.environments, pinned_env.py)."""

    store: StateStore
    storage: LocalStorage
    root: Path
    log: Log
    environments: pinned_env.Environments = pinned_env.HOST


class JobRun(ABC):
    """One job of `kind`: its folder, logs.txt and record; subclasses do the work (`execute`) and write the final
    status (`finish`)."""

    kind: ClassVar[str]
    name_key: ClassVar[str]
    status_key: ClassVar[str]
    start_key: ClassVar[str]
    folder_name: ClassVar[str]

    def __init__(self, request: dict[str, Any], context: JobContext) -> None:
        self.request = request
        self.environments = context.environments
        self.name: str = request[self.name_key]
        self.store = context.store
        self.storage = context.storage
        self.log = context.log
        self.folder = Path(context.root) / "jobs" / self.folder_name / self.name
        self.hosts = environment.hosts_for(self.instance_count())
        self._log_lock = threading.Lock()
        self._log_file: IO[str] | None = None
        self.interpreter: pinned_env.Interpreter | None = None

    def instance_count(self) -> int:
        return 1

    def job_dir(self, host: str) -> Path:
        """/opt/ml of a host: the job folder itself with one host, `<job>/<host>` with several."""
        return self.folder if len(self.hosts) == 1 else self.folder / host

    def status(self) -> str:
        record = self.store.read(self.kind, self.name)
        return "" if record is None else record["description"][self.status_key]

    def line(self, host: str, line: str) -> None:
        """One line of the job's output: to logs.txt, and to the log callback prefixed with the job (and host)."""
        with self._log_lock:
            assert self._log_file is not None, "line() is for the job's output, while run() runs"
            self._log_file.write(line + "\n")
            self._log_file.flush()
        prefix = self.name if len(self.hosts) == 1 else f"{self.name}/{host}"
        self.log(f"[{prefix}] {line}")

    def run(self) -> None:
        """The whole job; never raises, the record says how it ended."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.store.update_description(self.kind, self.name, **{self.start_key: now()})
        with open(self.folder / "logs.txt", "a", encoding="utf-8") as self._log_file:
            note = image_versions.version_note(image_versions.request_image(self.request))
            if note and self.environments == pinned_env.HOST:
                self.line(self.hosts[0], note)
            try:
                self.execute()
            except Exception as error:  # the job fails; the record must never stay InProgress
                self.line(self.hosts[0], traceback.format_exc().rstrip())
                self.finish("Failed", self.unexpected_failure(error))

    @abstractmethod
    def execute(self) -> None:
        """The job's work; an exception fails the job (`unexpected_failure` words the reason)."""

    def unexpected_failure(self, error: Exception) -> str:
        """The FailureReason of an error nobody expected."""
        return f"ClientError: {error}"

    @abstractmethod
    def finish(self, status: str, reason: str | None = None) -> None:
        """Write the final status (and FailureReason) to the record."""


class HostJobRun(JobRun):
    """A job that runs one process per host: subclasses stage the hosts and say what each runs (`set_up`), and
    conclude from the hosts' results (`conclude`)."""

    def execute(self) -> None:
        """Set up (in pinned mode: the image's environment first), stop if asked meanwhile, run every host, conclude."""
        try:
            if self.environments == pinned_env.PINNED:
                image = image_versions.request_image(self.request)
                self.interpreter = pinned_env.interpreter_for(image, lambda text: self.line(self.hosts[0], text))
            launch = self.set_up()
        except SETUP_ERRORS as error:
            self.finish("Failed", f"ClientError: {error}")
            return
        if self.status() == "Stopping":
            self.finish("Stopped")
            return
        self.conclude(self.run_hosts(launch))

    @abstractmethod
    def set_up(self) -> Launch:
        """Stage every host's /opt/ml; what each host runs. SETUP_ERRORS fail the job."""

    @abstractmethod
    def conclude(self, results: list[HostResult]) -> None:
        """Finish the job from its hosts' results (in host order)."""

    def run_hosts(self, launch: Launch) -> list[HostResult]:
        """One process per host, all at once, each stopped after MaxRuntimeInSeconds; their results in host order."""
        results: list[HostResult] = []
        threads = [
            threading.Thread(
                target=self._run_host, args=(launch, host, results), name=f"{self.name}-{host}", daemon=True
            )
            for host in self.hosts
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sorted(results, key=lambda result: self.hosts.index(result.host))

    def _run_host(self, launch: Launch, host: str, results: list[HostResult]) -> None:
        command, env, cwd = launch(host)
        limit = self.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        full_env = {**environment.host_environment(), **env, "PYTHONUNBUFFERED": "1"}
        if self.interpreter is not None:  # not `python` of this machine: the warm path (warm.eligible) does not apply
            command, full_env = self.interpreter.command(command), self.interpreter.environment(full_env)
        try:
            finished = isolation.run_job(
                command,
                full_env,
                self.job_dir(host),
                cwd,
                lambda _stream, line: self.line(host, line),
                on_start=self._remember_pid,
                timeout=limit,
                log=self.log,
            )
        except OSError as error:
            finished = Finished(127, [f"cannot start {command[0]}: {error}"])
        results.append(HostResult(host, self.job_dir(host), command, finished))

    def _remember_pid(self, pid: int) -> None:
        """Record a job process so that a stop reaches it; a stop that came before the process existed ends it now."""
        record = self.store.update(
            self.kind, self.name, lambda record: record["private"].setdefault("pids", []).append(pid)
        )
        if record["description"][self.status_key] == "Stopping":
            _terminate_soon(pid)
