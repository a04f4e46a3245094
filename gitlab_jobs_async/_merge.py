"""Merging many async iterators into one stream, for audits across many projects.

Strictly private. Each source runs in its own task and hands items over through one bounded
queue, so memory stays bounded whatever the sources' lengths; the client's request budget
bounds how many requests all of them have on the wire together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Hashable, Sequence
from contextlib import aclosing
from typing import TypeVar

__all__ = ["merge"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

_QUEUE_SIZE = 256


class _Done:
    """A source's end, or its failure. Strictly private."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def merge(
    sources: Sequence[tuple[K, Callable[[], AsyncGenerator[T, None]]]],
) -> AsyncGenerator[tuple[K, T], None]:
    """Yield ``(key, item)`` from every source as items arrive.

    The first source to fail stops the merge: the others are cancelled and its error is
    raised. Leaving the loop early cancels every source.
    """
    queue: asyncio.Queue[tuple[K, T] | _Done] = asyncio.Queue(_QUEUE_SIZE)

    async def pump(key: K, make: Callable[[], AsyncGenerator[T, None]]) -> None:
        try:
            async with aclosing(make()) as items:
                async for item in items:
                    await queue.put((key, item))
        except Exception as exc:
            await queue.put(_Done(exc))
        else:
            await queue.put(_Done())

    tasks = [asyncio.ensure_future(pump(key, make)) for key, make in sources]
    try:
        remaining = len(tasks)
        while remaining:
            entry = await queue.get()
            if isinstance(entry, _Done):
                if entry.error is not None:
                    raise entry.error
                remaining -= 1
                continue
            yield entry
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
