"""GitLab's error bodies for the fake (§8). Strictly private."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["FakeError", "error"]


class FakeError(Exception):
    """Raised by route code; the middleware turns it into GitLab's error response."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.body),
            content_type="application/json",
            headers=self.headers,
        )


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
