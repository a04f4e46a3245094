"""Following a running job's log: only new bytes, none repeated or lost. Strictly private.

GitLab has no incremental log API for tokens (SERVER-BEHAVIOUR.md §7): every read returns
the whole log and ``Range`` is ignored. So each poll reads the job's status first, then the
log, skipping the bytes already delivered. To catch a log that was erased or rewritten, the
last bytes before that point are compared with what was delivered. Each read asks with
``Range: bytes=<offset - 4096>-``, so a server that honours it (``206``) sends only the new
part plus that overlap. The loop:

* waits, doubling its pause up to ``max_poll``, while the job is created, pending, manual,
  scheduled, waiting for a resource or callback, or preparing, without reading the log;
* reads while the job runs (and through ``canceling``), pausing ``poll`` seconds after new
  output and backing off up to ``max_poll`` while nothing changes;
* stops after one final read once the job is success, failed, canceled or skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import aiohttp

from ._errors import LogRewritten
from ._models import FINISHED_STATUSES, WAITING_STATUSES, Job
from ._protocol import content_range_start
from ._transport import body_chunks

__all__ = ["follow_log"]

OVERLAP = 4096

OpenLog = Callable[[dict[str, str]], AbstractAsyncContextManager[aiohttp.ClientResponse]]


async def follow_log(
    get_job: Callable[[], Awaitable[Job]],
    open_log: OpenLog,
    *,
    poll: float,
    max_poll: float,
    chunk_size: int,
) -> AsyncGenerator[bytes, None]:
    """Yield the log's new bytes as the job runs, until it has finished."""
    offset = 0
    tail = b""  # the last bytes delivered, at most OVERLAP of them
    pause = poll
    while True:
        status = (await get_job()).status
        if status in WAITING_STATUSES:
            await asyncio.sleep(pause)
            pause = min(pause * 2, max_poll)
            continue
        grew = False
        async for chunk in _new_bytes(open_log, offset, tail, chunk_size):
            offset += len(chunk)
            tail = (tail + chunk)[-OVERLAP:]
            grew = True
            yield chunk
        if status in FINISHED_STATUSES:
            return
        pause = poll if grew else min(pause * 2, max_poll)
        await asyncio.sleep(pause)


async def _new_bytes(
    open_log: OpenLog, offset: int, tail: bytes, chunk_size: int
) -> AsyncGenerator[bytes, None]:
    start = offset - len(tail)
    headers = {"Range": f"bytes={start}-"} if start > 0 else {}
    async with open_log(headers) as response:
        position = 0
        if response.status == 206:
            position = content_range_start(response.headers) or 0
        seen = bytearray()  # the bytes in [start, offset) as they come now
        verified = False
        async for chunk in body_chunks(response, chunk_size):
            end = position + len(chunk)
            if position < offset:
                lo, hi = max(start - position, 0), min(offset - position, len(chunk))
                if lo < hi:
                    seen += chunk[lo:hi]
                if end <= offset:
                    position = end
                    continue
                chunk = chunk[offset - position :]
                position = offset
            if not verified:
                if bytes(seen) != tail:
                    raise LogRewritten(
                        "the log changed before the point already read", offset=offset, size=None
                    )
                verified = True
            position += len(chunk)
            yield chunk
        if position < offset:
            raise LogRewritten(
                "the log is shorter than what was read (erased?)", offset=offset, size=position
            )
        if not verified and bytes(seen) != tail:
            raise LogRewritten(
                "the log changed before the point already read", offset=offset, size=position
            )
