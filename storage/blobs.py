"""Where rendered mockups live: a `BlobStore` keyed by path-like keys.

`LocalBlobStore` writes under one root directory, atomically (temp file in the
same directory, fsync, rename), so a reader never sees half a PNG and a
redelivered message simply replaces the file under the same key. An object
store (S3/GCS) can implement the same two methods later.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlparse


@runtime_checkable
class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store `data` under `key` (replacing it) and return its URI."""
        ...

    async def get(self, uri: str) -> bytes: ...


class LocalBlobStore:
    """Blobs as files under `root`; URIs are ``file://`` URLs. Content type is implied by the key's suffix."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path_for(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not key or key.startswith("/") or "\\" in key or any(p in ("..", ".") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*parts)

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self.path_for(key)
        await asyncio.to_thread(_write_atomically, path, data)
        return path.as_uri()

    async def get(self, uri: str) -> bytes:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise ValueError(f"not a file:// uri: {uri!r}")
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"{uri!r} is outside the blob root {self.root}")
        return await asyncio.to_thread(path.read_bytes)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
