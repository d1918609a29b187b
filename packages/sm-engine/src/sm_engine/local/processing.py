"""Run one processing job on this machine: stage inputs, run the entry point per instance, upload the outputs (§2)."""

from __future__ import annotations

import os
import sys
from typing import Any

from ..storage import s3_join
from . import compat, environment, jobs
from .jobs import HostResult, Launch
from .processes import exit_code_text
from .state import StateStore, now

KIND = "processing-jobs"
MESSAGE_LIMIT = 1024
PYTHON_NAMES = {"python", "python3"}


def request_stop(store: StateStore, name: str) -> bool:
    """Mark an InProgress processing job Stopping and SIGTERM its processes; False when it was not running."""
    return jobs.request_stop(store, KIND, name, "ProcessingJobStatus")


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


class ProcessingRun(jobs.HostJobRun):
    """The whole life of one processing job; `run()` never raises, the record says how it ended."""

    kind = KIND
    name_key = "ProcessingJobName"
    status_key = "ProcessingJobStatus"
    start_key = "ProcessingStartTime"
    folder_name = "processing"

    def instance_count(self) -> int:
        return self.request["ProcessingResources"]["ClusterConfig"]["InstanceCount"]

    def set_up(self) -> Launch:
        command = container_command(self.request["AppSpecification"])
        for host in self.hosts:
            environment.stage_processing(self.request, self.storage, self.job_dir(host), host, self.hosts)
        env = dict(self.request.get("Environment", {}))
        toolkits = compat.paths_for(self.request["AppSpecification"]["ImageUri"])  # installed in the real image
        if toolkits:
            env["PYTHONPATH"] = os.pathsep.join([*filter(None, [env.get("PYTHONPATH")]), *toolkits])
        return lambda _host: (command, env, "/opt/ml")

    def conclude(self, results: list[HostResult]) -> None:
        message = self._exit_message()
        if self.status() == "Stopping" or any(result.finished.timed_out for result in results):
            self.finish("Stopped", message=message)
            return
        failed = [result.finished for result in results if result.finished.returncode != 0]
        if failed:
            tail = "\n".join(failed[0].stderr_tail[-10:])
            exit_code = exit_code_text(failed[0].returncode)
            reason = f"AlgorithmError: See job logs for more information. {exit_code}\n{tail}"
            self.finish("Failed", reason[:MESSAGE_LIMIT], message=message)
            return
        self._upload()
        self.finish("Completed", message=message)

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

    def finish(self, status: str, reason: str | None = None, *, message: str | None = None) -> None:
        self.store.update_description(
            KIND,
            self.name,
            ProcessingJobStatus=status,
            ProcessingEndTime=now(),
            FailureReason=reason,
            ExitMessage=message,
        )
        self.log(f"[{self.name}] processing job {status.lower()}" + (f": {reason}" if reason else ""))
