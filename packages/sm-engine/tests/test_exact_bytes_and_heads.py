"""Correctness details of issue 16, item 13: archives without a clock time, S3 existence checks by HeadObject."""

from __future__ import annotations

import gzip
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from sm_engine.packaging import pack_directory
from sm_engine.storage import S3Storage

GZIP_MTIME = slice(4, 8)  # RFC 1952: MTIME, 4 bytes after the magic, method and flags


def test_the_gzip_header_of_an_archive_holds_no_clock_time(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"weights")
    archive = pack_directory(tmp_path)
    assert archive[GZIP_MTIME] == b"\0\0\0\0"
    assert gzip.decompress(archive)  # still a valid gzip stream


@pytest.fixture
def s3_stub() -> Stubber:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_exists_heads_the_one_key(s3_stub: Stubber) -> None:
    s3_stub.add_response("head_object", {"ContentLength": 3}, {"Bucket": "b", "Key": "out/result.json"})
    s3_stub.add_client_error(
        "head_object", service_error_code="404", http_status_code=404, expected_params={"Bucket": "b", "Key": "gone"}
    )
    storage = S3Storage(s3_stub.client)
    assert storage.exists("s3://b/out/result.json")
    assert not storage.exists("s3://b/gone")


def test_exists_raises_what_is_not_a_missing_key(s3_stub: Stubber) -> None:
    s3_stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
    with pytest.raises(Exception, match="403"):
        S3Storage(s3_stub.client).exists("s3://b/secret")
