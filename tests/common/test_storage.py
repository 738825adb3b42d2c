"""Object storage, on a folder and on a real S3-compatible server (moto's, over HTTP)."""

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from sotay_common.storage import BlobStore, ObjectNotFound, open_blob_store
from sotay_devstack.net import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait()


@pytest.fixture(params=["file", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> BlobStore:
    if request.param == "file":
        return open_blob_store(f"file://{tmp_path}/objects")
    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return open_blob_store(f"s3://{bucket}/prefix?endpoint={endpoint}&region=us-east-1")


async def test_objects_round_trip_with_ranges_and_deletion(store: BlobStore) -> None:
    data = bytes(range(256)) * 40
    await store.put("audio/doc-1/v1.ogg", data, content_type="audio/ogg")
    assert await store.get("audio/doc-1/v1.ogg") == data
    assert await store.get_range("audio/doc-1/v1.ogg", 10, 19) == data[10:20]
    info = await store.info("audio/doc-1/v1.ogg")
    assert (info.size, info.content_type) == (len(data), "audio/ogg")
    await store.put("audio/doc-1/v1.ogg", b"replaced")
    assert await store.get("audio/doc-1/v1.ogg") == b"replaced"
    await store.delete("audio/doc-1/v1.ogg")
    assert not await store.exists("audio/doc-1/v1.ogg")
    with pytest.raises(ObjectNotFound):
        await store.get("audio/doc-1/v1.ogg")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "", "a/../b", "x y"])
async def test_unsafe_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"x")
