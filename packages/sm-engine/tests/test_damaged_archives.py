"""A truncated, empty or non-gzip model archive is an ArchiveError saying so, never a decompressor's traceback."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from sm_engine.errors import ArchiveError
from sm_engine.packaging import safe_extract


def model_archive() -> bytes:
    """A tar.gz holding one 1 MB member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = bytes(range(256)) * 4096
        member = tarfile.TarInfo("model.joblib")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


DAMAGED: dict[str, tuple[bytes, str]] = {
    "truncated": (model_archive()[:-200], "ends before its compressed data does"),
    "a zip file": (b"PK\x03\x04" + bytes(600), "is damaged"),
    "empty": (b"", "is damaged"),
    "gzip of garbage": (b"\x1f\x8b\x08\x00" + b"garbage" * 100, "is damaged"),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_archive_is_a_clear_archive_error(case: str, tmp_path: Path) -> None:
    content, reason = DAMAGED[case]
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(ArchiveError, match=f"cannot extract {archive}: not a complete tar or tar.gz archive") as raised:
        safe_extract(archive, tmp_path / "model")
    assert reason in str(raised.value)
