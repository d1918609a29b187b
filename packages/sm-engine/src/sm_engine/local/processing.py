"""Run one processing job on this machine: stage inputs, run the entry point per instance, upload the outputs (§2)."""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..storage import LocalStorage, s3_join
from . import environment, isolation
from .state import StateStore, now

KIND = "processing-jobs"
MESSAGE_LIMIT = 1024
PYTHON_NAMES = {"python", "python3"}

Log = Callable[[str], None]


def request_stop(store: StateStore, name: str) -> bool:
    """Mark an InProgress processing job Stopping and SIGTERM its processes; False when it was not running."""
    return isolation.stop_job(store, KIND, name, "ProcessingJobStatus")


def container_command(app: dict[str, Any]) -> list[str]:
    """ContainerEntrypoint + ContainerArguments; `python3`/`python` become this interpreter."""
    entrypoint = list(app.get("ContainerEntrypoint", []))
    if not entrypoint:
        raise environment.JobSetupError(
            "AppSpecification.ContainerEntrypoint is required to run a processing job locally"
        )
    if entrypoint[0] in PYTHON_NAMES:
        entrypoint[0] = sys.executable
    return entrypoint + list(app.get("ContainerArguments", []))


class ProcessingRun:
    """The whole life of one processing job; `run()` never raises, the record says how it ended."""

    def __init__(
        self, request: dict[str, Any], *, store: StateStore, storage: LocalStorage, root: Path, log: Log
    ) -> None:
        self.request = request
        self.name = request["ProcessingJobName"]
        self.store = store
        self.storage = storage
        self.log = log
        self.folder = Path(root) / "jobs" / "processing" / self.name
        self.hosts = environment.hosts_for(request["ProcessingResources"]["ClusterConfig"]["InstanceCount"])
        self._log_lock = threading.Lock()
        self._log_file: Any = None

    def job_dir(self, host: str) -> Path:
        """/opt/ml of an instance: the job folder itself with one instance, `<job>/<host>` with several."""
        return self.folder if len(self.hosts) == 1 else self.folder / host

    def _line(self, host: str, line: str) -> None:
        with self._log_lock:
            self._log_file.write(line + "\n")
            self._log_file.flush()
        prefix = self.name if len(self.hosts) == 1 else f"{self.name}/{host}"
        self.log(f"[{prefix}] {line}")

    def _status(self) -> str:
        record = self.store.read(KIND, self.name)
        return "" if record is None else record["description"]["ProcessingJobStatus"]

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.store.update_description(KIND, self.name, ProcessingStartTime=now())
        with open(self.folder / "logs.txt", "a", encoding="utf-8") as self._log_file:
            try:
                self._run()
            except Exception as error:  # the job fails; the record must never stay InProgress
                self._line("algo-1", traceback.format_exc().rstrip())
                self._finish("Failed", failure=f"ClientError: {error}")

    def _run(self) -> None:
        try:
            command = container_command(self.request["AppSpecification"])
            for host in self.hosts:
                environment.stage_processing(self.request, self.storage, self.job_dir(host), host, self.hosts)
        except environment.JobSetupError as error:
            self._finish("Failed", failure=f"ClientError: {error}")
            return
        if self._status() == "Stopping":
            self._finish("Stopped")
            return
        results: dict[str, isolation.Finished] = {}
        threads = [
            threading.Thread(target=self._run_host, args=(command, host, results), daemon=True) for host in self.hosts
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._conclude(results)

    def _run_host(self, command: list[str], host: str, results: dict[str, isolation.Finished]) -> None:
        env = {**environment.host_environment(), **self.request.get("Environment", {}), "PYTHONUNBUFFERED": "1"}
        cwd = "/opt/ml"
        limit = self.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        try:
            results[host] = isolation.run_job(
                command,
                env,
                self.job_dir(host),
                cwd,
                lambda _stream, line: self._line(host, line),
                on_start=self._remember_pid,
                timeout=limit,
                log=self.log,
            )
        except OSError as error:
            results[host] = isolation.Finished(127, [f"cannot start {command[0]}: {error}"])

    def _remember_pid(self, pid: int) -> None:
        isolation.remember_pid(self.store, KIND, self.name, "ProcessingJobStatus", pid)

    def _conclude(self, results: dict[str, isolation.Finished]) -> None:
        message = self._exit_message()
        if self._status() == "Stopping" or any(result.timed_out for result in results.values()):
            self._finish("Stopped", message=message)
            return
        failed = [(host, result) for host, result in results.items() if result.returncode != 0]
        if failed:
            _host, result = failed[0]
            tail = "\n".join(result.stderr_tail[-10:])
            exit_code = isolation.exit_code_text(result.returncode)
            reason = f"AlgorithmError: See job logs for more information. {exit_code}\n{tail}"
            self._finish("Failed", failure=reason[:MESSAGE_LIMIT], message=message)
            return
        self._upload()
        self._finish("Completed", message=message)

    def _exit_message(self) -> str | None:
        for host in self.hosts:
            path = self.job_dir(host) / "output" / "message"
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")[:MESSAGE_LIMIT]
        return None

    def _upload(self) -> None:
        """Every instance's files of every output to the output's S3 URI, keys relative to its LocalPath."""
        for output in self.request.get("ProcessingOutputConfig", {}).get("Outputs", []):
            s3 = output["S3Output"]
            for host in self.hosts:
                folder = environment.local_path(self.job_dir(host), s3["LocalPath"])
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        self.storage.upload_file(path, s3_join(s3["S3Uri"], path.relative_to(folder).as_posix()))

    def _finish(self, status: str, *, failure: str | None = None, message: str | None = None) -> None:
        ended = now()
        self.store.update_description(
            KIND,
            self.name,
            ProcessingJobStatus=status,
            ProcessingEndTime=ended,
            FailureReason=failure,
            ExitMessage=message,
        )
        self.log(f"[{self.name}] processing job {status.lower()}" + (f": {failure}" if failure else ""))
