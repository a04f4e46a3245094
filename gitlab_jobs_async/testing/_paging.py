"""GitLab's pagination for the fake: offset headers, keyset cursors and links (§5)."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from ._errors import error

__all__ = ["MAX_PER_PAGE", "Window", "decode_cursor", "encode_cursor", "keyset_page", "offset_page"]

T = TypeVar("T")

MAX_PER_PAGE = 100
"""Kaminari's ``max_per_page``: larger values are clamped silently."""

Linker = Callable[[Mapping[str, Any]], str]
"""Makes a link from params: the external host, the request path and ``to_query``."""


@attrs.frozen
class Window:
    """Parsed ``page``/``per_page``; the requested ``per_page`` is kept for the offset cap,
    and the declared one (Grape-coerced, not clamped) for the links."""

    page: int
    per_page: int
    raw_per_page: int
    declared_per_page: int = 20


def offset_page(
    items: Sequence[T],
    window: Window,
    *,
    link: Linker,
    params: Mapping[str, Any],
    with_count: bool,
) -> tuple[list[T], dict[str, str]]:
    """One offset page of ``items`` and GitLab's headers for it (§5.1).

    ``X-Next-Page``/``X-Prev-Page`` are always present, empty when there is no such page
    (Kaminari has no previous page for a page out of range). ``Link`` lists prev, next,
    first, and last only ``with_count``, as do the totals; its URLs echo the declared
    ``per_page``, not the clamped one (``offset_header_builder.rb``).
    """
    page, per_page = window.page, window.per_page
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    has_next = len(items) > start + per_page
    has_prev = page > 1 and bool(chunk)

    def url(number: int) -> str:
        return link({**params, "page": number, "per_page": window.declared_per_page})

    headers = {
        "X-Per-Page": str(per_page),
        "X-Page": str(page),
        "X-Next-Page": str(page + 1) if has_next else "",
        "X-Prev-Page": str(page - 1) if has_prev else "",
    }
    links = []
    if has_prev:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if has_next:
        links.append(f'<{url(page + 1)}>; rel="next"')
    links.append(f'<{url(1)}>; rel="first"')
    if with_count:
        pages = max(1, -(-len(items) // per_page))
        links.append(f'<{url(pages)}>; rel="last"')
        headers["X-Total"] = str(len(items))
        headers["X-Total-Pages"] = str(pages)
    headers["Link"] = ", ".join(links)
    return chunk, headers


def encode_cursor(last_id: int) -> str:
    """URL-safe Base64, with padding, of ``{"id":"<id>","_kd":"n"}`` (§5.3)."""
    raw = json.dumps({"id": str(last_id), "_kd": "n"}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues below (400 ``cursor is invalid`` when unreadable)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(data["id"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise error(400, error_="cursor is invalid") from None


def keyset_page(
    items: Sequence[T],
    ids: Sequence[int],
    *,
    per_page: int,
    cursor: str | None,
    link: Linker,
    params: Mapping[str, Any],
) -> tuple[list[T], dict[str, str]]:
    """One keyset page (``id DESC``) and its only header, ``Link rel="next"``, left out on
    the last page (§5.3). ``items`` are newest first and ``ids`` their ids."""
    start = 0
    if cursor:
        below = decode_cursor(cursor)
        # ids descend: as negatives they ascend; find the first id below the cursor's.
        start = bisect.bisect_right(ids, -below, key=lambda job_id: -job_id)
    chunk = list(items[start : start + per_page])
    headers: dict[str, str] = {}
    if len(items) > start + per_page:
        last = ids[start + per_page - 1]
        headers["Link"] = f'<{link({**params, "cursor": encode_cursor(last)})}>; rel="next"'
    return chunk, headers
