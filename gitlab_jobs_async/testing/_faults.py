"""Scripted faults: a proxy or network in front of the fake GitLab misbehaving on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import attrs
from aiohttp import web

from ._errors import json_response
from ._recording import RecordedRequest

__all__ = ["Behaviour", "Fault", "misbehave"]

Behaviour = Literal["reset", "reset_mid_body", "truncate", "drip", "redirect"]


@attrs.define(eq=False)
class Fault:
    """A scripted misbehaviour for requests that ``match``.

    Args:
        match: which requests (a predicate over :class:`RecordedRequest`).
        delay: seconds to wait before handling.
        status: answer with this status and ``body`` instead of handling the request.
        body: the JSON (dict/list) or text body of that answer.
        headers: extra headers of that answer.
        times: how many matching requests it applies to (``None``: all).
        after: a callable run after the request was handled (e.g. to add jobs).
        behaviour: a transport-level fault instead of a status:
            ``"reset"`` closes the connection before handling the request;
            ``"reset_mid_body"`` handles it, sends half the answer and closes;
            ``"truncate"`` handles it and sends a complete answer of half the body;
            ``"drip"`` handles it and sends the body in small, slow pieces;
            ``"redirect"`` answers 302 to :attr:`FakeGitLab.storage_url` (a second origin
            that records what it receives) without handling the request.
    """

    match: Callable[[RecordedRequest], bool]
    delay: float = 0.0
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    times: int | None = 1
    after: Callable[[], None] | None = None
    behaviour: Behaviour | None = None
    hits: int = 0

    def takes(self, record: RecordedRequest) -> bool:
        """Whether this fault applies to ``record`` (and has applications left)."""
        return (self.times is None or self.hits < self.times) and self.match(record)

    def canned(self, request: web.Request, storage_url: str) -> web.Response | None:
        """The answer that replaces handling the request, if this fault gives one."""
        if self.behaviour == "reset":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # the connection is gone; nothing is handled
        if self.behaviour == "redirect":
            return web.Response(status=302, headers={"Location": f"{storage_url}/elsewhere"})
        if self.status is None:
            return None
        if isinstance(self.body, dict | list):
            return json_response(self.body, status=self.status, headers=self.headers)
        return web.Response(status=self.status, text=str(self.body or ""), headers=self.headers)


async def misbehave(
    request: web.Request, response: web.StreamResponse, fault: Fault
) -> web.StreamResponse:
    """Send ``response`` the way ``fault`` says: truncated, reset midway, or dripped."""
    how = fault.behaviour
    if how not in ("reset_mid_body", "truncate", "drip") or not isinstance(response, web.Response):
        return response
    body = bytes(response.body) if isinstance(response.body, bytes | bytearray) else b""
    if how == "truncate":
        return web.Response(
            status=response.status, body=body[: len(body) // 2], content_type=response.content_type
        )
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    if how == "reset_mid_body":
        await stream.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.abort()
        raise asyncio.CancelledError
    for start in range(0, len(body), 512):  # drip
        await stream.write(body[start : start + 512])
        await asyncio.sleep(0.002)
    await stream.write_eof()
    return stream
