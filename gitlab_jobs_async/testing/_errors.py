"""GitLab's JSON answers and error bodies for the fake (§1, §8): every JSON answer of the
fake is built by :func:`json_response`, every error raised as a :class:`FakeError`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = ["FakeError", "Throttled", "error", "json_response"]


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer with ``Content-Type: application/json`` (no charset, as Grape sends)."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        content_type="application/json",
        headers=headers,
    )


class FakeError(Exception):
    """Raised by route code; the middleware turns it into GitLab's error response.

    ``body`` ``None`` makes an empty answer (redirects).
    """

    def __init__(
        self, status: int, body: dict[str, Any] | None, headers: Mapping[str, str]
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers)

    def response(self) -> web.Response:
        if self.body is None:
            return web.Response(status=self.status, headers=self.headers)
        return json_response(self.body, self.status, self.headers)


class Throttled(FakeError):
    """A 429 from one of the fake's rate limits (``limit`` names it)."""

    def __init__(self, limit: str, response: web.Response) -> None:
        super().__init__(429, None, {})
        self.limit = limit
        self._response = response

    def response(self) -> web.Response:
        return self._response


def error(
    status: int,
    message: Any = None,
    *,
    error_: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> FakeError:
    """A ``{"message": ...}`` or (with ``error_``) ``{"error": ...}`` error to raise."""
    body: dict[str, Any] = {"message": message} if error_ is None else {"error": error_}
    body.update(extra or {})
    return FakeError(status, body, headers or {})
