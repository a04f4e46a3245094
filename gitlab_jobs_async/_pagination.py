"""Walking GitLab's paginated lists, one page at a time. Strictly private.

Two modes (SERVER-BEHAVIOUR.md §5):

* offset: ``page``/``per_page``; the next page comes from ``X-Next-Page`` (an empty string on
  the last page) or, when that header is missing, from the ``page`` of ``Link rel="next"``.
  Totals are never needed: the project jobs list never sends them.
* keyset (project jobs only): ``pagination=keyset&order_by=id&sort=desc``; the next page's
  ``cursor`` comes from ``Link rel="next"``, and the last page has no ``Link``.

Only a page number or a cursor is taken from the headers, and it is sent to the client's own
base URL: a ``Link`` may name GitLab's external host, which can differ (§10 item 5).

Jobs are listed ``id DESC``. New jobs arriving while offset pages are read shift older jobs
onto later pages; such repeats are skipped by id, so each job is yielded once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, Literal

from ._errors import ResponseError
from ._protocol import next_cursor, next_page
from ._transport import Params, Response, Transport

__all__ = ["Pagination", "iter_items"]

Pagination = Literal["offset", "keyset"]


async def iter_items(
    transport: Transport,
    path: str,
    params: Params,
    *,
    per_page: int,
    pagination: Pagination = "offset",
) -> AsyncGenerator[tuple[Response, dict[str, Any]], None]:
    """Yield every JSON object of a list endpoint once, in server order, across all pages.

    Each object comes with the response of its page, for error messages.
    """
    pages = (
        _keyset_pages(transport, path, params, per_page)
        if pagination == "keyset"
        else _offset_pages(transport, path, params, per_page)
    )
    last_id: int | None = None
    async with aclosing(pages):
        async for response, items in pages:
            for item in items:
                item_id = item["id"]
                if last_id is not None and item_id >= last_id:
                    # Offset pages shift as new jobs arrive at the top; an id at or above the
                    # last yielded one is a job we have already seen.
                    continue
                last_id = item_id
                yield response, item


async def _offset_pages(
    transport: Transport, path: str, params: Params, per_page: int
) -> AsyncGenerator[tuple[Response, list[dict[str, Any]]], None]:
    page = 1
    while True:
        query = [*params, ("page", str(page)), ("per_page", str(per_page))]
        response = await transport.request("GET", path, params=query)
        items = _items(response)
        yield response, items
        try:
            following = next_page(response.headers)
        except ValueError as exc:
            raise _shape_error(response, str(exc)) from exc
        if following is None and not _has_page_headers(response) and len(items) >= per_page:
            # Something between us and GitLab dropped its headers: keep reading until a
            # short page rather than stopping early in silence.
            following = page + 1
        if following is None:
            return
        if following <= page:
            raise _shape_error(response, f"next page {following} does not advance past {page}")
        page = following


async def _keyset_pages(
    transport: Transport, path: str, params: Params, per_page: int
) -> AsyncGenerator[tuple[Response, list[dict[str, Any]]], None]:
    base = [
        *params,
        ("pagination", "keyset"),
        ("order_by", "id"),
        ("sort", "desc"),
        ("per_page", str(per_page)),
    ]
    cursor: str | None = None
    while True:
        query = [*base, ("cursor", cursor)] if cursor else base
        response = await transport.request("GET", path, params=query)
        yield response, _items(response)
        following = next_cursor(response.headers)
        if following is None:
            return
        if following == cursor:
            raise _shape_error(response, "keyset cursor did not advance")
        cursor = following


def _has_page_headers(response: Response) -> bool:
    return "X-Next-Page" in response.headers or "Link" in response.headers


def _items(response: Response) -> list[dict[str, Any]]:
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


def _shape_error(response: Response, message: str) -> ResponseError:
    return ResponseError(message, status=response.status, method=response.method, url=response.url)
