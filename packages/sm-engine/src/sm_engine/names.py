"""Unique, valid SageMaker resource names: `<base>-<kind>-<UTC timestamp to the ms>-<random>`.

Job, model and endpoint names may have 63 characters, tuning job names 32, all matching
`[a-zA-Z0-9](-*[a-zA-Z0-9])*` (contract §6). The base is shortened to fit; the kind, the timestamp and the random part,
which make the name unique, are never cut.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", re.ASCII)
MAX_NAME_LENGTH = 63
MAX_TUNING_JOB_NAME_LENGTH = 32
RANDOM_HEX_DIGITS = 4
TRIAL_HEX_DIGITS = 8

_INVALID_RUN = re.compile(r"[^a-zA-Z0-9]+")
_clock_lock = threading.Lock()
_last_millisecond = 0


def _sanitize(text: str) -> str:
    """Letters and digits kept, every other run of characters turned into one hyphen, no hyphen at either end."""
    return _INVALID_RUN.sub("-", text).strip("-")


def _next_millisecond() -> int:
    """The current UTC time in ms, strictly increasing within this process (so two names never share a stamp)."""
    global _last_millisecond
    with _clock_lock:
        _last_millisecond = max(time.time_ns() // 1_000_000, _last_millisecond + 1)
        return _last_millisecond


def timestamp() -> str:
    """`YYMMDD-HHMMSSmmm` in UTC, e.g. `261122-221045123`."""
    milliseconds = _next_millisecond()
    return f"{time.strftime('%y%m%d-%H%M%S', time.gmtime(milliseconds // 1000))}{milliseconds % 1000:03d}"


def job_name(base: str, kind: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """A new unique name such as `mpg-predictor-train-261122-221045123-a3f9`, at most `max_length` characters."""
    clean_kind = _sanitize(kind)
    if not clean_kind:
        raise ValueError(f"the name kind {kind!r} has no letters or digits")
    unique = f"{clean_kind}-{timestamp()}-{secrets.token_hex(RANDOM_HEX_DIGITS // 2)}"
    if len(unique) > max_length:
        raise ValueError(f"a {kind!r} name needs {len(unique)} characters but only {max_length} are allowed")
    room = max_length - len(unique) - 1
    prefix = _sanitize(_sanitize(base)[:room]) if room > 0 else ""
    return f"{prefix}-{unique}" if prefix else unique


def trial_job_name(tuning_job: str, index: int) -> str:
    """The name SageMaker gives a tuning job's training job number `index`: `<tuning>-NNN-<8 hex>`."""
    if index < 1:
        raise ValueError(f"trial numbers start at 1, got {index}")
    return f"{tuning_job}-{index:03d}-{secrets.token_hex(TRIAL_HEX_DIGITS // 2)}"


def is_valid_name(name: str, max_length: int = MAX_NAME_LENGTH) -> bool:
    """True when SageMaker accepts `name` as a job, model or endpoint name of at most `max_length` characters."""
    return len(name) <= max_length and bool(NAME_PATTERN.fullmatch(name))
