"""Decompression bombs are refused before they fill the disk: extracted bytes, member count and compression ratio
have limits (issue 16, item 6)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from sm_engine.packaging import ArchiveTooLargeError, ExtractionLimits, UnsafeArchiveError, safe_extract


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def declared_only(name: str, size: int) -> bytes:
    """A gzipped tar whose one member declares `size` bytes: what a bomb's header looks like, without its data."""
    info = tarfile.TarInfo(name)
    info.size = size
    return gzip.compress(info.tobuf(format=tarfile.PAX_FORMAT))


def test_a_member_declaring_ten_gigabytes_is_refused_before_it_is_written(tmp_path: Path) -> None:
    with pytest.raises(ArchiveTooLargeError, match="decompression bomb"):
        safe_extract(declared_only("model.joblib", 10 * 1024**3), tmp_path / "model")
    assert not (tmp_path / "model" / "model.joblib").exists()


def test_a_highly_compressed_archive_is_refused_by_its_ratio(tmp_path: Path) -> None:
    bomb = tar_gz({"zeros.bin": bytes(2 * 1024**2)})
    limits = ExtractionLimits(max_ratio=50, ratio_from_bytes=1024**2)
    with pytest.raises(ArchiveTooLargeError, match="over 50 times its compressed size"):
        safe_extract(bomb, tmp_path / "model", limits)


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    archive = tar_gz({f"empty-{index}": b"" for index in range(30)})
    with pytest.raises(ArchiveTooLargeError, match="more than 20 members"):
        safe_extract(archive, tmp_path / "model", ExtractionLimits(max_members=20))


def test_the_byte_cap_counts_every_member(tmp_path: Path) -> None:
    archive = tar_gz({"a": b"x" * 600, "b": b"y" * 600})
    with pytest.raises(ArchiveTooLargeError, match="more than 1,000 bytes"):
        safe_extract(archive, tmp_path / "model", ExtractionLimits(max_bytes=1000))


def test_an_archive_within_the_limits_extracts_and_a_bomb_is_an_unsafe_archive(tmp_path: Path) -> None:
    target = safe_extract(tar_gz({"model.joblib": b"weights", "code/inference.py": b"x = 1\n"}), tmp_path / "ok")
    assert (target / "model.joblib").read_bytes() == b"weights"
    assert issubclass(ArchiveTooLargeError, UnsafeArchiveError)  # every caller's clean error path handles it
