"""GitLab's pagination rules for the fake: parameters, headers and cursors (§5).

Strictly private.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlencode

from aiohttp import web

from ._errors import error

__all__ = ["Window", "keyset_page", "offset_page", "page_params"]

T = TypeVar("T")

MAX_PER_PAGE = 100


class Window:
    """Parsed ``page``/``per_page``: the raw ``per_page`` is kept for the offset cap check."""

    def __init__(self, page: int, per_page: int, raw_per_page: int) -> None:
        self.page = page
        self.per_page = per_page
        self.raw_per_page = raw_per_page


def _int_param(query: web.BaseRequest, name: str) -> int | None:
    value = query.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise error(400, error_=f"{name} is invalid") from None


def page_params(request: web.BaseRequest) -> Window:
    """Read ``page`` and ``per_page`` as Grape and Kaminari do: default 20, clamp 100, 0 → 400."""
    page = _int_param(request, "page")
    per_page = _int_param(request, "per_page")
    if per_page == 0:
        raise error(400, error_="per_page has a value not allowed")
    raw = 20 if per_page is None or per_page < 0 else per_page
    return Window(max(page or 1, 1), min(raw, MAX_PER_PAGE), raw)


def _link(base: str, path: str, params: Sequence[tuple[str, str]]) -> str:
    return f"{base}{path}?{urlencode(sorted(params, key=lambda kv: kv[0]))}"


def offset_page(
    items: Sequence[T],
    window: Window,
    *,
    base: str,
    path: str,
    params: Sequence[tuple[str, str]],
    with_count: bool,
) -> tuple[list[T], dict[str, str]]:
    """One offset page of ``items`` and GitLab's headers for it (§5.1).

    ``X-Next-Page``/``X-Prev-Page`` are always present, empty when there is no such page.
    Totals and ``rel="last"`` only when ``with_count``.
    """
    start = (window.page - 1) * window.per_page
    chunk = list(items[start : start + window.per_page])
    has_next = len(items) > start + window.per_page
    page, per_page = window.page, window.per_page
    fixed = [(k, v) for k, v in params if k not in ("page", "per_page")]

    def url(number: int) -> str:
        return _link(base, path, [*fixed, ("page", str(number)), ("per_page", str(per_page))])

    headers = {
        "X-Per-Page": str(per_page),
        "X-Page": str(page),
        "X-Next-Page": str(page + 1) if has_next else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    links = []
    if page > 1:
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
    raw = json.dumps({"id": str(last_id), "_kd": "n"}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(data["id"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise error(400, error_="cursor is invalid") from None


def keyset_page(
    items: Sequence[T],
    ids: Sequence[int],
    request: web.BaseRequest,
    *,
    base: str,
    path: str,
    params: Sequence[tuple[str, str]],
) -> tuple[list[T], dict[str, str]]:
    """One keyset page (``id DESC``) and its only header, ``Link rel="next"`` (§5.3).

    ``items`` are newest first and ``ids`` their ids. Only ``order_by=id`` with ``sort=desc``
    is supported; anything else is GitLab's 405.
    """
    order_by = request.query.get("order_by", "id")
    sort = request.query.get("sort", "desc")
    if order_by != "id" or sort != "desc":
        raise error(405, error_="Keyset pagination is not yet available for this type of request")
    per_page = page_params(request).per_page
    cursor = request.query.get("cursor")
    start = 0
    if cursor:
        below = decode_cursor(cursor)
        # ids are descending: the first index whose id is below the cursor's.
        lo, hi = 0, len(ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if ids[mid] >= below:
                lo = mid + 1
            else:
                hi = mid
        start = lo
    chunk = list(items[start : start + per_page])
    headers: dict[str, str] = {}
    if len(items) > start + per_page:
        last = ids[start + per_page - 1]
        fixed = [(k, v) for k, v in params if k != "cursor"]
        headers["Link"] = (
            f'<{_link(base, path, [*fixed, ("cursor", encode_cursor(last))])}>; rel="next"'
        )
    return chunk, headers
