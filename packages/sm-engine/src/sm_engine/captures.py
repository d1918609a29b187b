"""Reading endpoint data capture: the JSONL files SageMaker (or the local endpoint server) writes under
`<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`, one request per line (contract §7)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from .storage import S3Uri, Storage


@dataclass(frozen=True)
class CapturedRecord:
    """One captured invocation: where and when, and the request and response bodies as text."""

    endpoint: str
    variant: str
    time: str
    event_id: str
    input: str | None
    output: str | None


def payload_text(payload: dict[str, Any] | None) -> str | None:
    """The body of an endpointInput / endpointOutput entry; BASE64 data decoded (as UTF-8 when it is text)."""
    if not payload:
        return None
    data = str(payload.get("data", ""))
    if payload.get("encoding") != "BASE64":
        return data
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return data
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(raw)} bytes of {payload.get('observedContentType', 'binary data')}>"


def parse_line(line: str, endpoint: str, variant: str) -> CapturedRecord | None:
    """One JSONL line as a record; None for a line that is not a capture record."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("captureData"), dict):
        return None
    data, metadata = record["captureData"], record.get("eventMetadata") or {}
    return CapturedRecord(
        endpoint=endpoint,
        variant=variant,
        time=str(metadata.get("inferenceTime", "")),
        event_id=str(metadata.get("eventId", "")),
        input=payload_text(data.get("endpointInput")),
        output=payload_text(data.get("endpointOutput")),
    )


def _hour_folders(storage: Storage, capture_root: str, endpoint: str | None) -> dict[str, list[str]]:
    """Capture files grouped by `<endpoint>/<variant>/yyyy/mm/dd/hh`, under one endpoint or all of them."""
    root = S3Uri.parse(capture_root.rstrip("/") + "/")
    prefix = f"{root}{endpoint}/" if endpoint else str(root)
    folders: dict[str, list[str]] = {}
    for uri in storage.list_uris(prefix):
        relative = S3Uri.parse(uri).key[len(root.key) :]
        folder, _, name = relative.rpartition("/")
        if name.endswith(".jsonl") and folder.count("/") >= 5:
            folders.setdefault(folder, []).append(uri)
    return folders


def latest_records(
    storage: Storage, capture_root: str, endpoint: str | None = None, limit: int = 10
) -> list[CapturedRecord]:
    """The newest `limit` captured records, oldest first. Every file of an hour is read (the newest hours first),
    so the records of several writers (variants, instances, workers) come out in time order."""
    folders = _hour_folders(storage, capture_root, endpoint)
    records: list[CapturedRecord] = []
    by_hour = sorted(folders, key=_hour, reverse=True)
    for _hour_key, hour_folders in groupby(by_hour, key=_hour):
        if len(records) >= limit:
            break
        for folder in hour_folders:
            endpoint_name, variant = folder.split("/")[:2]
            for uri in folders[folder]:
                text = storage.read_bytes(uri).decode("utf-8", errors="replace")
                parsed = (parse_line(line, endpoint_name, variant) for line in text.splitlines() if line.strip())
                records.extend(record for record in parsed if record is not None)
    records.sort(key=lambda record: record.time)
    return records[-limit:] if limit > 0 else []


def _hour(folder: str) -> str:
    """`<endpoint>/<variant>/yyyy/mm/dd/hh` -> `yyyy/mm/dd/hh`."""
    return folder.split("/", 2)[2]
