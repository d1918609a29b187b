"""Resource records as JSON files under `<root>/state/<kind>/<name>.json`, shared by every process on the root.

A record is `{"description": <the describe_* response>, "private": {...}}`; datetimes are stored as ISO strings
tagged `{"$datetime": ...}` and come back as timezone-aware datetime objects, as boto3 returns them.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

Record = dict[str, Any]

_DATETIME_TAG = "$datetime"
_LOCK = threading.RLock()


def now() -> datetime:
    """The current time, timezone-aware (UTC) like boto3's parsed timestamps."""
    return datetime.now(timezone.utc)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DATETIME_TAG: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _decode(value: dict[str, Any]) -> Any:
    if len(value) == 1 and _DATETIME_TAG in value:
        return datetime.fromisoformat(value[_DATETIME_TAG])
    return value


def process_alive(pid: int | None) -> bool:
    """Whether a process with this id exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class StateStore:
    """Atomic JSON records per resource kind and name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "state"

    def path(self, kind: str, name: str) -> Path:
        return self.root / kind / f"{name}.json"

    def exists(self, kind: str, name: str) -> bool:
        return self.path(kind, name).is_file()

    def read(self, kind: str, name: str) -> Record | None:
        try:
            text = self.path(kind, name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return json.loads(text, object_hook=_decode)

    def write(self, kind: str, name: str, record: Record) -> None:
        """Write the whole record atomically (temporary file + os.replace)."""
        target = self.path(kind, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle, default=_encode, indent=1)
        os.replace(temporary, target)

    def update(self, kind: str, name: str, change: Callable[[Record], None]) -> Record:
        """Read, change in place and write a record under this process's lock; returns the new record."""
        with _LOCK:
            record = self.read(kind, name)
            if record is None:
                raise KeyError(f"{kind}/{name}")
            change(record)
            self.write(kind, name, record)
            return record

    def update_description(self, kind: str, name: str, **fields: Any) -> Record:
        """Set describe_* fields (None removes one) and LastModifiedTime."""

        def change(record: Record) -> None:
            description = record["description"]
            for key, value in fields.items():
                if value is None:
                    description.pop(key, None)
                else:
                    description[key] = value
            description["LastModifiedTime"] = now()

        return self.update(kind, name, change)

    def delete(self, kind: str, name: str) -> None:
        self.path(kind, name).unlink(missing_ok=True)

    def names(self, kind: str) -> list[str]:
        folder = self.root / kind
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def records(self, kind: str) -> list[Record]:
        """Every record of a kind (records deleted meanwhile are skipped)."""
        found = (self.read(kind, name) for name in self.names(kind))
        return [record for record in found if record is not None]
