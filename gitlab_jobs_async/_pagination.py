"""Walking GitLab's paginated lists: pages fetched concurrently, each item yielded once.

Strictly private. Two modes (SERVER-BEHAVIOUR.md §5):

* **offset** (``page``/``per_page``). Page 1 comes first. If it says there is more, the next
  pages are requested ahead of the consumer, at most ``concurrency`` at a time, and yielded in
  page order as soon as the next one in order is ready. With ``X-Total-Pages`` (pipeline jobs,
  bridges up to 10,000 rows) nothing is requested past the end; without it (the project jobs
  list never sends totals) the window is speculative: it starts at 2 pages and doubles, and
  stops at the first page that ends the list (an empty ``X-Next-Page``), cancelling the rest.
* **keyset** (project jobs only): ``pagination=keyset&order_by=id&sort=desc``, the next page's
  ``cursor`` read from ``Link rel="next"``; the next page is fetched while the consumer works
  through the current one.

Only a page number or a cursor is taken from the headers, and it is sent to the client's own
base URL: a ``Link`` may name GitLab's external host, which can differ (§10 item 5).

**Exactly once, even while new jobs arrive.** Lists are ``id DESC`` and new jobs appear at the
top, which shifts every offset page down. An id at or above the last one yielded is a repeat
and is skipped. Concurrent pages can also be served out of order, and a shift between them
could hide jobs in a gap; but every page in flight was requested after the page it follows in
the walk's *anchor* was read, so the first shift the walk meets shows itself as repeats. On
seeing repeats the walk drops every page fetched ahead and fetches them again, taking the
current page as the new anchor. Deleted jobs (rare: a deleted pipeline) can still shift pages
up, as with any offset walk; keyset has no such limit.

**Offset cap.** Behind a server flag, GitLab refuses offsets past 50,000 with a 405 that points
to keyset (§5.2). On a list that supports keyset, the walk then continues in keyset mode from
the last id it yielded, with a cursor in GitLab's documented shape (§5.3).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from datetime import datetime
from typing import Any, Literal

import attrs

from ._converter import parse_timestamp
from ._errors import MethodNotAllowed, ResponseError
from ._protocol import next_cursor, next_page, total_pages
from ._transport import Params, Response, Transport

__all__ = ["ListOptions", "Pagination", "iter_items", "keyset_cursor"]

Pagination = Literal["offset", "keyset"]
Item = dict[str, Any]
Page = tuple[Response, list[Item]]


@attrs.frozen(kw_only=True)
class ListOptions:
    """How one list is walked. Strictly private."""

    per_page: int
    concurrency: int
    pagination: Pagination = "offset"
    keyset_capable: bool = False
    max_items: int | None = None
    created_after: datetime | None = None


async def iter_items(
    transport: Transport, path: str, params: Params, options: ListOptions
) -> AsyncGenerator[tuple[Response, Item], None]:
    """Yield every JSON object of a list endpoint once, in server order (newest first).

    Each object comes with the response of its page, for error messages. Stops after
    ``max_items``, or at the first object created before ``created_after``.
    """
    per_page = options.per_page
    if options.max_items is not None:
        per_page = max(1, min(per_page, options.max_items))
    if options.pagination == "keyset":
        items = _keyset(transport, path, params, per_page, cursor=None)
    else:
        items = _offset(transport, path, params, per_page, options)
    count = 0
    async with aclosing(items):
        async for response, item in items:
            if options.max_items is not None and count >= options.max_items:
                return
            if options.created_after is not None and _created_before(
                response, item, options.created_after
            ):
                return
            count += 1
            yield response, item


def keyset_cursor(last_id: int) -> str:
    """GitLab's cursor for "jobs with an id below ``last_id``, newest first" (§5.3)."""
    raw = json.dumps({"id": str(last_id), "_kd": "n"}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


async def _offset(
    transport: Transport, path: str, params: Params, per_page: int, options: ListOptions
) -> AsyncGenerator[tuple[Response, Item], None]:
    def fetch(page: int) -> Awaitable[Response]:
        query = [*params, ("page", str(page)), ("per_page", str(per_page))]
        return transport.request("GET", path, params=query)

    ahead = _Ahead(fetch)
    last_id: int | None = None
    try:
        page = 1
        response = await fetch(page)
        last_page = total_pages(response.headers)
        window = 2
        while True:
            items = _items(response)
            fresh = []
            for item in items:
                if last_id is None or item["id"] < last_id:
                    fresh.append(item)
                    last_id = item["id"]
            following = _following(response, page, per_page, len(items))
            if len(fresh) < len(items):
                # The list shifted under us: pages fetched ahead may predate the shift and
                # leave a gap. Fetch them again, after this page (the new anchor).
                await ahead.cancel()
            if following is not None:
                # Request the next pages before handing this one over, so they travel
                # while the consumer works.
                limit = following + window - 1
                if last_page is not None:
                    limit = min(limit, max(last_page, following))
                ahead.fill(following, limit, options.concurrency)
                window = min(window * 2, options.concurrency)
            for item in fresh:
                yield response, item
            if following is None:
                return
            page = following
            try:
                response = await ahead.take(page)
            except MethodNotAllowed:
                if not options.keyset_capable or last_id is None:
                    raise
                await ahead.cancel()
                rest = _keyset(transport, path, params, per_page, cursor=keyset_cursor(last_id))
                async with aclosing(rest):
                    async for pair in rest:
                        yield pair
                return
    finally:
        await ahead.cancel()


class _Ahead:
    """Pages requested ahead of the consumer, by page number. Strictly private."""

    def __init__(self, fetch: Callable[[int], Awaitable[Response]]) -> None:
        self._fetch = fetch
        self._tasks: dict[int, asyncio.Task[Response]] = {}
        self._next = 0

    def fill(self, page: int, limit: int, concurrency: int) -> None:
        """Make sure ``page`` and the pages after it up to ``limit`` are requested."""
        start = max(self._next, page)
        for number in range(start, limit + 1):
            if len(self._tasks) >= concurrency and number != page:
                break
            self._tasks[number] = asyncio.ensure_future(self._fetch(number))
            self._next = number + 1

    async def take(self, page: int) -> Response:
        return await self._tasks.pop(page)

    async def cancel(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._next = 0
        for task in tasks:
            task.cancel()
        # Wait for them, so no task outlives the walk and no exception goes unretrieved.
        await asyncio.gather(*tasks, return_exceptions=True)


async def _keyset(
    transport: Transport, path: str, params: Params, per_page: int, *, cursor: str | None
) -> AsyncGenerator[tuple[Response, Item], None]:
    base = [
        *params,
        ("pagination", "keyset"),
        ("order_by", "id"),
        ("sort", "desc"),
        ("per_page", str(per_page)),
    ]

    def fetch(at: str | None) -> asyncio.Task[Response]:
        query = [*base, ("cursor", at)] if at else base
        return asyncio.ensure_future(transport.request("GET", path, params=query))

    task = fetch(cursor)
    last_id: int | None = None
    try:
        while True:
            response = await task
            following = next_cursor(response.headers)
            if following is not None and following == cursor:
                raise _shape_error(response, "keyset cursor did not advance")
            if following is not None:
                task = fetch(following)  # read ahead while the consumer works
            for item in _items(response):
                if last_id is None or item["id"] < last_id:
                    last_id = item["id"]
                    yield response, item
            if following is None:
                return
            cursor = following
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _following(response: Response, page: int, per_page: int, count: int) -> int | None:
    """The next page number after ``page``, or ``None`` when this page ends the list."""
    try:
        following = next_page(response.headers)
    except ValueError as exc:
        raise _shape_error(response, str(exc)) from exc
    if following is None and not _has_page_headers(response) and count >= per_page:
        # Something between us and GitLab dropped its headers: keep reading until a short
        # page rather than stopping early in silence.
        following = page + 1
    if following is not None and following <= page:
        raise _shape_error(response, f"next page {following} does not advance past {page}")
    return following


def _has_page_headers(response: Response) -> bool:
    return "X-Next-Page" in response.headers or "Link" in response.headers


def _items(response: Response) -> list[Item]:
    data = response.json()
    if not isinstance(data, list):
        raise _shape_error(response, f"expected a JSON array, got {type(data).__name__}")
    previous: int | None = None
    for item in data:
        item_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise _shape_error(response, "list item without an integer id")
        if previous is not None and item_id >= previous:
            raise _shape_error(response, "list is not ordered by id descending")
        previous = item_id
    return data


def _created_before(response: Response, item: Item, moment: datetime) -> bool:
    value = item.get("created_at")
    try:
        created = parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        created = None
    if created is None:
        raise _shape_error(response, f"item {item['id']} has no valid created_at")
    return created < moment


def _shape_error(response: Response, message: str) -> ResponseError:
    return ResponseError(message, status=response.status, method=response.method, url=response.url)
