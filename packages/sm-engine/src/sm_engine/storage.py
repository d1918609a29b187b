"""S3 locations: parse them, and read or write them locally (a folder per bucket) or on Amazon S3."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import StorageError

S3_SCHEME = "s3://"
MISSING_OBJECT_CODES = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not uri.startswith(S3_SCHEME):
            raise StorageError(f"{uri!r} is not an S3 URI (s3://bucket/key)")
        bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
        if not bucket:
            raise StorageError(f"{uri!r} has no bucket")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Uri:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Uri(self.bucket, key)


def s3_join(base: str, *parts: str) -> str:
    """`s3_join("s3://b/p", "a", "c.csv")` -> `s3://b/p/a/c.csv`."""
    return str(S3Uri.parse(base).join(*parts))


class Storage(Protocol):
    """What the workflow needs from S3; LocalStorage and S3Storage implement it."""

    def upload_file(self, path: Path, uri: str) -> str: ...
    def upload_bytes(self, data: bytes, uri: str) -> str: ...
    def download_file(self, uri: str, path: Path) -> Path: ...
    def read_bytes(self, uri: str) -> bytes: ...
    def list_uris(self, prefix: str) -> list[str]: ...
    def exists(self, uri: str) -> bool: ...
    def delete(self, uris: list[str]) -> int: ...


class LocalStorage:
    """S3 emulated on disk: `s3://bucket/key` is `<root>/s3/bucket/key`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve() / "s3"

    def path_for(self, uri: str) -> Path:
        """The local file or folder that stands for an S3 URI (keys may not climb out of the bucket)."""
        location = S3Uri.parse(uri)
        path = (self.root / location.bucket / location.key).resolve()
        if not path.is_relative_to(self.root / location.bucket):
            raise StorageError(f"{uri!r} points outside its bucket")
        return path

    def uri_for(self, path: Path) -> str:
        relative = Path(path).resolve().relative_to(self.root)
        bucket, *key = relative.parts
        return str(S3Uri(bucket, "/".join(key)))

    def upload_file(self, path: Path, uri: str) -> str:
        target = self.path_for(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, temporary)
        temporary.replace(target)
        return uri

    def upload_bytes(self, data: bytes, uri: str) -> str:
        target = self.path_for(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        temporary.write_bytes(data)
        temporary.replace(target)
        return uri

    def download_file(self, uri: str, path: Path) -> Path:
        source = self.path_for(uri)
        if not source.is_file():
            raise StorageError(f"{uri} does not exist")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        return Path(path)

    def read_bytes(self, uri: str) -> bytes:
        source = self.path_for(uri)
        if not source.is_file():
            raise StorageError(f"{uri} does not exist")
        return source.read_bytes()

    def list_uris(self, prefix: str) -> list[str]:
        """Every object whose key starts with the prefix's key, as S3 ListObjectsV2 would list them."""
        location = S3Uri.parse(prefix)
        bucket_root = self.root / location.bucket
        if not bucket_root.is_dir():
            return []
        uris = []
        for path in sorted(bucket_root.rglob("*")):
            key = path.relative_to(bucket_root).as_posix()
            if path.is_file() and key.startswith(location.key) and not path.name.endswith(".partial"):
                uris.append(str(S3Uri(location.bucket, key)))
        return uris

    def exists(self, uri: str) -> bool:
        return self.path_for(uri).is_file()

    def delete(self, uris: list[str]) -> int:
        """Delete these objects (as listed by `list_uris`); return how many existed."""
        deleted = 0
        for uri in uris:
            path = self.path_for(uri)
            if path.is_file():
                path.unlink()
                deleted += 1
        return deleted


class S3Storage:
    """The same operations on Amazon S3 through boto3."""

    def __init__(self, s3_client: object) -> None:
        self.client = s3_client

    def upload_file(self, path: Path, uri: str) -> str:
        location = S3Uri.parse(uri)
        self.client.upload_file(str(path), location.bucket, location.key)
        return uri

    def upload_bytes(self, data: bytes, uri: str) -> str:
        location = S3Uri.parse(uri)
        self.client.put_object(Bucket=location.bucket, Key=location.key, Body=data)
        return uri

    def download_file(self, uri: str, path: Path) -> Path:
        location = S3Uri.parse(uri)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(location.bucket, location.key, str(path))
        return Path(path)

    def read_bytes(self, uri: str) -> bytes:
        location = S3Uri.parse(uri)
        return self.client.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()

    def list_uris(self, prefix: str) -> list[str]:
        location = S3Uri.parse(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        uris = []
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
            uris.extend(str(S3Uri(location.bucket, item["Key"])) for item in page.get("Contents", []))
        return uris

    def exists(self, uri: str) -> bool:
        """HeadObject on this one key (a missing key answers 404; any other error is raised)."""
        location = S3Uri.parse(uri)
        try:
            self.client.head_object(Bucket=location.bucket, Key=location.key)
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") in MISSING_OBJECT_CODES:
                return False
            raise
        return True

    def delete(self, uris: list[str]) -> int:
        """DeleteObjects, 1000 keys per request, bucket by bucket; return how many were deleted."""
        by_bucket: dict[str, list[str]] = {}
        for uri in uris:
            location = S3Uri.parse(uri)
            by_bucket.setdefault(location.bucket, []).append(location.key)
        deleted = 0
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), 1000):
                objects = [{"Key": key} for key in keys[start : start + 1000]]
                response = self.client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
                errors = response.get("Errors", [])
                if errors:
                    raise StorageError(f"could not delete s3://{bucket}/{errors[0]['Key']}: {errors[0]['Message']}")
                deleted += len(objects)
        return deleted
