"""Saving a stream of bytes to disk atomically. Strictly private."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
from pathlib import Path

import attrs

__all__ = ["SavedFile", "save_chunks"]

_BATCH = 1024 * 1024


@attrs.frozen(kw_only=True)
class SavedFile:
    """A file written by ``save_*``: where, how big, and its SHA-256."""

    path: Path
    size: int
    sha256: str


async def save_chunks(chunks: AsyncIterable[bytes], path: str | os.PathLike[str]) -> SavedFile:
    """Write ``chunks`` to ``path`` atomically and return its size and SHA-256.

    The bytes go to a temporary file beside ``path``, renamed over it only when the stream
    ended well; on any error or cancellation the temporary file is removed and ``path`` is
    untouched. Disk writes run in a worker thread, about 1 MiB at a time.
    """
    target = Path(path)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    digest = hashlib.sha256()
    size = 0
    try:
        async with contextlib.AsyncExitStack() as stack:
            if isinstance(chunks, AsyncGenerator):  # closed at once on any failure
                await stack.enter_async_context(aclosing(chunks))
            file = stack.enter_context(os.fdopen(fd, "wb"))
            pending = bytearray()
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                pending += chunk
                if len(pending) >= _BATCH:
                    await _write(file.write, bytes(pending))
                    pending.clear()
            await _write(file.write, bytes(pending))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return SavedFile(path=target, size=size, sha256=digest.hexdigest())


async def _write(write: object, data: bytes) -> None:
    assert callable(write)
    job = asyncio.ensure_future(asyncio.to_thread(write, data))
    try:
        await asyncio.shield(job)
    except asyncio.CancelledError:
        await job  # let the thread finish before the file is closed and removed
        raise
