"""Archives the way SageMaker makes and reads them: sourcedir.tar.gz and model.tar.gz."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sm_runtime

from .errors import ArchiveError

if TYPE_CHECKING:  # the serving process imports this module: not the config schema (pydantic models, ~0.3 s)
    from .config import DataSection

EXCLUDED_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".DS_Store"}


class UnsafeArchiveError(ArchiveError):
    """An archive member would land outside the target folder or is not a plain file, folder or inner link."""


class ArchiveTooLargeError(UnsafeArchiveError):
    """An archive would extract to more bytes or members than the limits allow (a decompression bomb)."""


@dataclass(frozen=True)
class ExtractionLimits:
    """What one archive may extract to. The byte cap is of the order of SageMaker's own model limits (a model's
    uncompressed artefacts on a serverless endpoint, some GB); the ratio applies beyond `ratio_from_bytes` only, so
    that small, very compressible files (zeros, repeated text) pass."""

    max_bytes: int = 6 * 1024**3
    max_members: int = 20_000
    max_ratio: int = 200
    ratio_from_bytes: int = 64 * 1024**2


DEFAULT_LIMITS = ExtractionLimits()


def _tar_filter(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    name = Path(member.name).name
    if name in EXCLUDED_NAMES or name.endswith((".pyc", ".pyo")):
        return None
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    member.mtime = 0
    return member


def packable_files(source: Path) -> list[Path]:
    """Every file and folder under `source` that belongs in a code or model archive, sorted."""
    kept = []
    for path in sorted(Path(source).rglob("*")):
        relative = path.relative_to(source)
        if any(part in EXCLUDED_NAMES for part in relative.parts) or path.suffix in (".pyc", ".pyo"):
            continue
        kept.append(path)
    return kept


def directory_members(source: Path, prefix: str = "") -> list[tuple[Path, str]]:
    """(file, archive name) for everything packable under `source`, named relative to it (under `prefix`)."""
    return [(path, f"{prefix}{path.relative_to(source).as_posix()}") for path in packable_files(source)]


def code_members(jobs: Path, data_schema: Path) -> list[tuple[Path, str]]:
    """What the code upload and sourcedir.tar.gz hold: the project's jobs/ folder, the column schema (written by
    write_data_schema) beside the scripts, and the engine's container-side helpers (`sm_runtime/`), which the job
    scripts import and which no AWS framework container ships."""
    from sm_runtime.tabular import DATA_SCHEMA_FILE  # with numpy: not for the commands that upload no code

    runtime = Path(sm_runtime.__file__).parent
    scripts = [member for member in directory_members(jobs) if member[1] != DATA_SCHEMA_FILE]
    return [
        *scripts,
        (data_schema, DATA_SCHEMA_FILE),
        (runtime, "sm_runtime"),
        *directory_members(runtime, "sm_runtime/"),
    ]


def write_data_schema(data: DataSection, folder: Path) -> Path:
    """data_schema.json in `folder`: the column schema of the config's `data:` that the processing job reads
    (columns with their kinds in order, ignore, missing_values, transformers)."""
    from sm_runtime.tabular import DATA_SCHEMA_FILE

    schema = data.model_dump(include={"columns", "ignore", "missing_values", "transformers"})
    path = Path(folder) / DATA_SCHEMA_FILE
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return path


def pack_directory(source: Path, archive: Path | None = None) -> bytes:
    """tar.gz the contents of `source` at the archive root (as the SDK packs sourcedir.tar.gz and model.tar.gz)."""
    return pack_members(directory_members(source), archive)


def pack_members(members: list[tuple[Path, str]], archive: Path | None = None) -> bytes:
    """tar.gz these (file, archive name) members. Members are sorted and timestamps zeroed so the same files always
    give the same bytes. Written atomically to `archive` when given; the bytes are returned in every case."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as stream,  # no clock time in the header
        tarfile.open(fileobj=stream, mode="w") as tar,
    ):
        for path, name in sorted(members, key=lambda member: member[1]):
            tar.add(path, arcname=name, recursive=False, filter=_tar_filter)
    data = buffer.getvalue()
    if archive is not None:
        archive = Path(archive)
        archive.parent.mkdir(parents=True, exist_ok=True)
        temporary = archive.with_name(f".{archive.name}.partial")
        try:  # a reader sees the old archive or the new one, never half of one; an interrupted write leaves nothing
            temporary.write_bytes(data)
            os.replace(temporary, archive)
        finally:
            temporary.unlink(missing_ok=True)
    return data


def _refusing_filter(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    """tarfile's "data" filter, except that an absolute member name is refused rather than made relative."""
    if member.name.startswith(("/", os.sep)):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, destination)


class _BudgetFilter:
    """The refusing filter, counting each member's declared size (what extracting it writes) against the limits
    before the member is written; tarfile reads members one by one, so a bomb stops at its first excess."""

    def __init__(self, limits: ExtractionLimits, compressed_bytes: int) -> None:
        self.limits = limits
        self.compressed_bytes = max(compressed_bytes, 1)
        self.members = 0
        self.bytes = 0

    def __call__(self, member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
        self.members += 1
        self.bytes += member.size if member.isfile() else 0
        limits = self.limits
        if self.members > limits.max_members:
            raise ArchiveTooLargeError(f"it has more than {limits.max_members:,} members")
        if self.bytes > limits.max_bytes:
            raise ArchiveTooLargeError(f"it extracts to more than {limits.max_bytes:,} bytes")
        ratio = self.bytes / self.compressed_bytes
        if self.bytes > limits.ratio_from_bytes and ratio > limits.max_ratio:
            raise ArchiveTooLargeError(
                f"it extracts to {self.bytes:,}+ bytes, over {limits.max_ratio} times its compressed size"
            )
        return _refusing_filter(member, destination)


def safe_extract(archive: Path | bytes, target: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> Path:
    """Extract a tar(.gz) into `target`, refusing absolute paths, `..`, links leaving the folder and devices, and
    archives beyond `limits` (size, member count, compression ratio: decompression bombs)."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    source = io.BytesIO(archive) if isinstance(archive, bytes) else None
    label = archive if source is None else "archive"
    compressed = len(archive) if isinstance(archive, bytes) else Path(archive).stat().st_size
    try:
        with tarfile.open(name=None if source else archive, fileobj=source, mode="r:*") as tar:
            tar.extractall(target, filter=_BudgetFilter(limits, compressed))
    except ArchiveTooLargeError as error:
        raise ArchiveTooLargeError(
            f"refusing to extract {label}: {error} (a decompression bomb, or a model too large to serve)"
        ) from None
    except (tarfile.FilterError, tarfile.AbsolutePathError, tarfile.OutsideDestinationError) as error:
        raise UnsafeArchiveError(f"refusing to extract {label}: {error}") from None
    except (tarfile.ReadError, EOFError, zlib.error) as error:
        reason = "it ends before its compressed data does" if isinstance(error, EOFError) else "it is damaged"
        raise ArchiveError(
            f"cannot extract {label}: not a complete tar or tar.gz archive ({reason}); package it again"
        ) from None
    return target
