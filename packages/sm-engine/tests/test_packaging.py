"""Archives: packing is reproducible and atomic; extracting a model.tar.gz refuses every member that could escape."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import sm_runtime
from sm_engine.config import load_config
from sm_engine.packaging import (
    UnsafeArchiveError,
    code_members,
    pack_directory,
    pack_members,
    safe_extract,
    write_data_schema,
)

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers


def crafted(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    """A tar.gz holding exactly these members, however unsafe."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


UNSAFE = {
    "absolute path": member("/tmp/owned.txt"),
    "parent folder": member("../owned.txt"),
    "nested parent folder": member("code/../../owned.txt"),
    "symlink leaving the folder": member("link", tarfile.SYMTYPE, "../../etc/passwd"),
    "absolute symlink": member("link", tarfile.SYMTYPE, "/etc/passwd"),
    "hard link leaving the folder": member("hard", tarfile.LNKTYPE, "../outside.txt"),
    "character device": member("tty", tarfile.CHRTYPE),
    "block device": member("disk", tarfile.BLKTYPE),
    "fifo": member("pipe", tarfile.FIFOTYPE),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_members_are_refused_and_nothing_lands_outside(case: str, tmp_path: Path) -> None:
    target = tmp_path / "model"
    archive = crafted((member("model.joblib"), b"model"), (UNSAFE[case], b"evil"))
    with pytest.raises(UnsafeArchiveError, match="refusing to extract"):
        safe_extract(archive, target)
    assert all(path.is_relative_to(target) for path in tmp_path.rglob("*"))
    assert not Path("/tmp/owned.txt").exists()


def test_a_path_archive_is_refused_with_its_name(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(crafted((member("../owned.txt"), b"evil")))
    with pytest.raises(UnsafeArchiveError, match=r"model\.tar\.gz"):
        safe_extract(archive, tmp_path / "model")


def test_inner_links_and_folders_are_extracted(tmp_path: Path) -> None:
    folder = member("code", tarfile.DIRTYPE)
    folder.mode = 0o755
    archive = crafted(
        (folder, b""),
        (member("code/inference.py"), b"print('hi')\n"),
        (member("code/alias.py", tarfile.SYMTYPE, "inference.py"), b""),
    )
    target = safe_extract(archive, tmp_path / "model")
    assert (target / "code" / "inference.py").read_text() == "print('hi')\n"
    assert (target / "code" / "alias.py").resolve() == (target / "code" / "inference.py").resolve()


def test_packing_is_reproducible_and_leaves_caches_out(tmp_path: Path) -> None:
    source = tmp_path / "jobs"
    (source / "__pycache__").mkdir(parents=True)
    (source / "train.py").write_text("print('train')\n")
    (source / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    first = pack_directory(source)
    (source / "train.py").touch()  # a new mtime must not change the bytes
    assert pack_directory(source) == first
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        assert tar.getnames() == ["train.py"]
        assert {info.uid for info in tar.getmembers()} == {0}


def test_packing_writes_the_archive_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "jobs"
    source.mkdir()
    (source / "train.py").write_text("print('train')\n")
    archive = tmp_path / "out" / "sourcedir.tar.gz"
    pack_directory(source, archive)
    good = archive.read_bytes()
    (source / "train.py").write_text("print('changed')\n")

    def interrupted(_src: object, _dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pack_directory(source, archive)
    assert archive.read_bytes() == good  # the earlier archive is intact: a later step never loads half a file


IMPORT_AS_A_CONTAINER = """
import importlib, json, sys
sys.modules["sm_engine"] = None  # no AWS container has the engine: importing it fails
sys.path.insert(0, sys.argv[1])  # /opt/ml/code
for module in sys.argv[2:]:
    importlib.import_module(module)
print(json.dumps({name: module.__file__ for name, module in sys.modules.items() if name.startswith("sm_runtime")}))
"""
"""Import job modules the way a container does, from the unpacked code folder; print where each sm_runtime module
came from."""


def test_the_code_archive_carries_sm_runtime_and_the_jobs_import_it_from_there(
    project_root: Path, tmp_path: Path
) -> None:
    config = load_config(project_root / "config" / "project.yaml")
    archive = pack_members(code_members(project_root / "jobs", write_data_schema(config.data, tmp_path)))
    code = safe_extract(archive, tmp_path / "code")
    runtime_files = {f"sm_runtime/{path.name}" for path in Path(sm_runtime.__file__).parent.glob("*.py")}
    job_files = {path.name for path in (project_root / "jobs").glob("*.py")}
    unpacked = {path.relative_to(code).as_posix() for path in code.rglob("*.py")}
    assert unpacked == runtime_files | job_files
    schema = json.loads((code / "data_schema.json").read_text())  # beside the scripts, as preprocess.py reads it
    assert schema == {
        "columns": config.data.columns,
        "ignore": config.data.ignore,
        "missing_values": config.data.missing_values,
        "transformers": config.data.transformers,
    }
    importers = sorted(path.stem for path in code.glob("*.py") if "sm_runtime" in path.read_text(encoding="utf-8"))
    assert "model_inference" in importers  # the serving handler, at least
    done = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_AS_A_CONTAINER, str(code), *importers],
        cwd=code,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert {"sm_runtime", "sm_runtime.serving_io"} <= set(loaded)
    assert all(Path(file).is_relative_to(code) for file in loaded.values()), loaded
