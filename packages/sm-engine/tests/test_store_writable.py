"""A local store that cannot be written is one clear error before any job or endpoint starts, not an OSError
traceback from inside one."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sm_engine.backends import writable_root
from sm_engine.storage import StorageError


def test_a_read_only_store_is_a_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(StorageError, match=r"cannot write there \(Read-only file system\).*local\.root"):
        writable_root(tmp_path / "store")


def test_a_file_in_the_way_of_the_store_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    with pytest.raises(StorageError, match=f"local.root {tmp_path / 'blocker' / 'store'}: cannot write there"):
        writable_root(tmp_path / "blocker" / "store")


def test_a_writable_store_is_created_and_left_empty(tmp_path: Path) -> None:
    assert writable_root(tmp_path / "a" / "store") == tmp_path / "a" / "store"
    assert list((tmp_path / "a" / "store").iterdir()) == []
