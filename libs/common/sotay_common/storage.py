"""Object storage for files (attachments, audio, large texts by claim check, eKYC images):
a folder by default, S3-compatible storage in production. Chosen by a URL setting:

    file:///var/lib/sotay/content        a folder (created when missing)
    s3://bucket/prefix?endpoint=https://minio.example:9000&region=us-east-1

S3 credentials come from the standard AWS environment variables (never from settings files).
Keys are relative paths of safe characters; objects are written whole and atomically.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$")


class ObjectNotFound(KeyError):
    pass


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise ValueError(f"invalid object key {key!r}")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes start..end inclusive, as in an HTTP Range header."""
        ...

    async def info(self, key: str) -> ObjectInfo: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        await asyncio.to_thread(self._put_sync, key, data, content_type)

    def _put_sync(self, key: str, data: bytes, content_type: str | None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        type_file = path.with_name(path.name + ".content-type")
        if content_type:
            type_file.write_text(content_type)
        else:
            type_file.unlink(missing_ok=True)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        def read() -> bytes:
            with self._path(key).open("rb") as handle:
                handle.seek(start)
                return handle.read(end - start + 1)

        try:
            return await asyncio.to_thread(read)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def info(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        type_file = path.with_name(path.name + ".content-type")
        content_type = type_file.read_text() if type_file.exists() else None
        return ObjectInfo(key, size, content_type)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".content-type").unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3BlobStore:
    """S3 through boto3, each call in a worker thread."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str | None = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: Any = boto3.client("s3", endpoint_url=endpoint, region_name=region)

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        await asyncio.to_thread(
            self._client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data, **extra
        )

    async def _get(self, key: str, **extra: str) -> bytes:
        try:
            response = await asyncio.to_thread(
                self._client.get_object, Bucket=self.bucket, Key=self._key(key), **extra
            )
        except self._client.exceptions.NoSuchKey as exc:
            raise ObjectNotFound(key) from exc
        body: bytes = await asyncio.to_thread(response["Body"].read)
        return body

    async def get(self, key: str) -> bytes:
        return await self._get(key)

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        return await self._get(key, Range=f"bytes={start}-{end}")

    async def info(self, key: str) -> ObjectInfo:
        from botocore.exceptions import ClientError

        try:
            head = await asyncio.to_thread(
                self._client.head_object, Bucket=self.bucket, Key=self._key(key)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise ObjectNotFound(key) from exc
            raise
        return ObjectInfo(key, int(head["ContentLength"]), head.get("ContentType"))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        try:
            await self.info(key)
        except ObjectNotFound:
            return False
        return True


def open_blob_store(url: str) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        options = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        return S3BlobStore(
            parsed.netloc,
            parsed.path,
            endpoint=options.get("endpoint"),
            region=options.get("region"),
        )
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")
