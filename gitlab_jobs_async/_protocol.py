"""GitLab's wire rules as pure functions: no I/O happens here.

Error bodies and the status-to-exception mapping, every response header the client reads
(pagination, rate limits, ``Retry-After``, ``Content-Range``) and URL redaction live here so
they can be tested as tables. Argument checks live in ``_checks``, paths in ``_paths``.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from yarl import URL

from ._errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from ._json import loads

__all__ = [
    "content_range_start",
    "error_for",
    "error_message",
    "header_int",
    "next_cursor",
    "next_page",
    "parse_int",
    "parse_link",
    "parse_retry_after",
    "redact_url",
    "total_pages",
]

_MAX_DIGITS = 18  # beyond any real count, byte offset or Unix time; int() of more is slow


def parse_int(text: str) -> int | None:
    """The non-negative integer ``text`` spells in ASCII digits (at most 18), else ``None``.

    Header values come from the network: ``"²"``, ``"+1"``, ``" 1_000"`` or 4,000 digits are
    not numbers here, and nothing in this function can raise.
    """
    text = text.strip()
    if 0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """The integer value of header ``name``, or ``None`` when it is missing or not a number."""
    return parse_int(headers.get(name) or "")


def total_pages(headers: Mapping[str, str]) -> int | None:
    """``X-Total-Pages``: GitLab sends it only while the list has at most 10,000 rows."""
    return header_int(headers, "X-Total-Pages")


_CONTENT_RANGE = re.compile(r"bytes (\d{1,18})-")


def content_range_start(headers: Mapping[str, str]) -> int | None:
    """The first byte position of a ``206`` answer's ``Content-Range: bytes <start>-...``."""
    match = _CONTENT_RANGE.match(headers.get("Content-Range") or "")
    return int(match.group(1)) if match else None


_SECRET_PARAMS = frozenset({
    "private_token", "job_token", "access_token", "token",
    # signed object-storage URLs (artifact downloads redirect there)
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
    "x-goog-credential", "signature", "sig",
})  # fmt: skip


def redact_url(url: URL) -> str:
    """Render ``url`` without user info or token-bearing query parameters."""
    clean = url.with_user(None).with_password(None) if url.is_absolute() else url
    if any(key.lower() in _SECRET_PARAMS for key in clean.query):
        clean = clean.with_query(
            [(k, "REDACTED" if k.lower() in _SECRET_PARAMS else v) for k, v in clean.query.items()]
        )
    return str(clean)


def error_message(body: bytes, content_type: str | None = None) -> str:
    """Read GitLab's wording of an error from any of its error-body shapes.

    They come from ``render_api_error!`` and ``rescue_from`` in GitLab's ``lib/api/helpers.rb``
    and ``lib/api/api.rb``, and from the OAuth layer (``lib/api/api_guard.rb``).

    ``{"message": "..."}``, ``{"message": {"field": ["..."]}}``, ``{"message": {"error": "..."}}``,
    ``{"error": "..."}`` (optionally with ``error_description``) and plain text all give a
    readable one-line message.
    """
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data: Any = loads(text) if text else None  # as success bodies: bounded depth
    except ValueError:
        data = None
    if isinstance(data, dict):
        if "message" in data:
            return _flatten(data["message"])
        if "error" in data:
            message = _flatten(data["error"])
            description = data.get("error_description")
            if isinstance(description, str) and description:
                message = f"{message}: {description}"
            return message
    if data is not None and not isinstance(data, str | int | float | bool):
        return _flatten(data)
    first = text.splitlines()[0] if text else ""
    return first[:300] if first else "(empty body)"


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if set(value) == {"error"}:
            return _flatten(value["error"])
        return "; ".join(f"{key} {_flatten(inner)}" for key, inner in value.items())
    if isinstance(value, list):
        return ", ".join(_flatten(item) for item in value)
    return json.dumps(value)


_ERROR_CLASSES: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    429: RateLimited,
}


def error_for(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    now: datetime | None = None,
) -> APIError:
    """Build the exception for an error response (the caller raises it)."""
    message = error_message(body, headers.get("Content-Type"))
    request_id = headers.get("X-Request-Id") or None
    if status == 429:
        return RateLimited(
            message,
            status=status,
            method=method,
            url=url,
            request_id=request_id,
            retry_after=parse_retry_after(headers, now=now),
        )
    cls = _ERROR_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(message, status=status, method=method, url=url, request_id=request_id)


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP-date), else ``RateLimit-Reset``."""
    now = now or datetime.now(UTC)
    value = (headers.get("Retry-After") or "").strip()
    if value:
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    reset = header_int(headers, "RateLimit-Reset")
    if reset is not None:
        return max(0.0, float(reset) - now.timestamp())
    return None


_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL_RE = re.compile(r'rel\s*=\s*"?([^";,]+)"?')


def parse_link(value: str | None) -> dict[str, URL]:
    """Parse a ``Link`` header into ``{rel: URL}``."""
    links: dict[str, URL] = {}
    if not value:
        return links
    for match in _LINK_RE.finditer(value):
        rel = _REL_RE.search(match.group(2))
        if rel:
            for name in rel.group(1).split():
                links[name] = URL(match.group(1))
    return links


def next_page(headers: Mapping[str, str]) -> int | None:
    """The next offset page number, or ``None`` on the last page.

    GitLab sends ``X-Next-Page`` as an *empty string* on the last page (``next_page.to_s`` in
    ``lib/gitlab/pagination/offset_header_builder.rb``); when the header is missing altogether
    the ``Link rel="next"`` query is read instead. Only the page number is taken from either,
    never a host: GitLab writes its configured external host into links, which may differ
    from the URL the client was given.
    """
    if "X-Next-Page" in headers:
        value = headers["X-Next-Page"].strip()
        if not value:
            return None
        number = parse_int(value)
        if number is None:
            raise ValueError(f"X-Next-Page is not a page number: {value[:40]!r}")
        return number
    link = parse_link(headers.get("Link")).get("next")
    if link is not None:
        number = parse_int(link.query.get("page", ""))
        if number is not None:
            return number
    return None


def next_cursor(headers: Mapping[str, str]) -> str | None:
    """The next keyset cursor, from ``Link rel="next"``; ``None`` on the last page.

    GitLab's keyset pages link only the next one
    (``lib/gitlab/pagination/keyset/header_builder.rb``).
    """
    link = parse_link(headers.get("Link")).get("next")
    if link is None:
        return None
    return link.query.get("cursor") or None
