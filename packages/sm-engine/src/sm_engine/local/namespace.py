"""The private mount namespace of a local job, in which /opt/ml IS the job's folder (contract §1, §2).

`enter(job_dir)` is the one way in: a new user namespace (root = our uid, no privilege needed) and mount namespace,
with `job_dir` bound on /opt/ml. A warm job's forked child calls it in-process (zygote.py); a cold job runs this file
in front of its command (`launcher` + command): enter, change to the working directory, exec the command, so the job
keeps the pid and process group that Popen gave it and its environment exactly. The launcher costs an interpreter
start (~10 ms): this file imports ctypes, os and sys only (pathlib or typing would double that). The zygote loads it by
path.
"""

from __future__ import annotations

import ctypes
import os
import sys

ENTER_FAILED = 126
NOT_STARTED = 127
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def enter(job_dir: str) -> None:
    """In a single-threaded process: a new user + mount namespace with `job_dir` bound on /opt/ml; OSError when the
    system refuses (no unprivileged user namespaces, no /opt/ml)."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare")
    for name, text in (("uid_map", f"0 {uid} 1\n"), ("setgroups", "deny\n"), ("gid_map", f"0 {gid} 1\n")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    _check(libc.mount(job_dir.encode(), b"/opt/ml", None, _MS_BIND | _MS_REC, None), f"bind {job_dir} on /opt/ml")


def launcher(job_dir: os.PathLike[str], cwd: str) -> list[str]:
    """The command prefix that runs a command inside the namespace of `job_dir`, in `cwd` (an /opt/ml path)."""
    return [sys.executable, "-I", "-S", __file__, os.fspath(job_dir), cwd]


def main(job_dir: str, cwd: str, command: list[str]) -> None:
    """The launcher (never returns): enter, chdir, exec; exit 126 when the namespace cannot be entered, 127 when the
    command cannot be started (as a shell does)."""
    try:
        enter(job_dir)
        os.chdir(cwd)
    except OSError as error:
        print(f"isolation failed: {error}", file=sys.stderr)
        sys.exit(ENTER_FAILED)
    try:
        os.execvp(command[0], command)
    except OSError as error:
        print(f"cannot start {command[0]}: {error}", file=sys.stderr)
        sys.exit(NOT_STARTED)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
