"""Tiny hostile HTTP servers on 127.0.0.1 for the transport's tests, bounded in requests and time.

:func:`raw_server` answers each request with bytes a test writes itself (malformed status
lines, oversized headers, broken chunking, headers dripped a byte at a time);
:func:`web_server` answers with an ``aiohttp.web`` handler. Both stop answering after
``max_requests`` requests, and give every answer at most ``max_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import attrs
from aiohttp import web

__all__ = ["RawServer", "raw_server", "web_server"]

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@attrs.define
class RawServer:
    """A running :func:`raw_server`: its URL and the request heads it received."""

    url: str
    requests: list[bytes] = attrs.Factory(list)


@contextlib.asynccontextmanager
async def raw_server(
    answer: Answer, *, max_requests: int = 10, max_seconds: float = 10.0
) -> AsyncIterator[RawServer]:
    """Serve ``answer(request_head, writer)`` for each request, then close the connection."""
    handlers: set[asyncio.Task[None]] = set()
    state = RawServer(url="")

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            async with asyncio.timeout(max_seconds):
                head = await reader.readuntil(b"\r\n\r\n")
                state.requests.append(head)
                if len(state.requests) <= max_requests:
                    await answer(head, writer)
                    await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            handlers.discard(task)

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def web_server(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    *,
    max_requests: int = 10,
    max_seconds: float = 10.0,
) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """Serve ``handler`` on every path; its URL and the requests it received."""
    seen: list[web.Request] = []

    async def endpoint(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        if len(seen) > max_requests:
            return web.Response(status=503, text="hostile server: request budget spent")
        async with asyncio.timeout(max_seconds):
            return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", endpoint)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()
