"""What every service shares: the transport, list options and structuring. Strictly private."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from datetime import datetime
from typing import Any, TypeVar, cast

from .. import _checks as checks
from .._converter import structure as structure_data
from .._errors import ResponseError
from .._pagination import ListOptions, Pagination, iter_items
from .._transport import Params, Response, Transport, body_chunks

__all__ = ["Scope", "Service", "scope_query", "structure"]

T = TypeVar("T")

Scope = str | Iterable[str] | None
"""One job status or several; sent as repeated ``scope[]`` parameters."""

PAGINATIONS = ("offset", "keyset")


def scope_query(scope: Scope) -> list[tuple[str, str]]:
    """GitLab's repeated ``scope[]`` parameters for one status or several (checked)."""
    return [("scope[]", status) for status in checks.statuses(scope)]


class Service:
    """Base of the services. Strictly private."""

    def __init__(self, transport: Transport, *, per_page: int) -> None:
        self._transport = transport
        self._per_page = per_page

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._transport.base_url}>"

    async def _get(self, path: str, cls: type[T]) -> T:
        response = await self._transport.request("GET", path)
        return structure(response, response.json(), cls)

    async def _chunks(
        self, path: str, chunk_size: int, params: Params = ()
    ) -> AsyncGenerator[bytes, None]:
        """A body as chunks of at most ``chunk_size`` bytes, as they arrive."""
        async with self._transport.stream("GET", path, params=params) as response:
            async for chunk in body_chunks(response, chunk_size):
                yield chunk

    def _options(
        self,
        *,
        per_page: int | None,
        concurrency: int | None,
        pagination: Pagination = "offset",
        keyset_capable: bool = False,
        max_items: int | None = None,
        created_after: datetime | None = None,
    ) -> ListOptions:
        """Check list arguments (at call time, before any request) and bundle them."""
        return ListOptions(
            per_page=checks.per_page(self._per_page if per_page is None else per_page),
            concurrency=checks.positive_int(
                "concurrency",
                self._transport.max_concurrency if concurrency is None else concurrency,
            ),
            pagination=cast(Pagination, checks.choice("pagination", pagination, PAGINATIONS)),
            keyset_capable=keyset_capable,
            max_items=None if max_items is None else checks.positive_int("max_items", max_items),
            created_after=(
                None
                if created_after is None
                else checks.aware_datetime("created_after", created_after)
            ),
        )

    def _iter(
        self,
        path: str,
        cls: type[T],
        options: ListOptions,
        *,
        params: Params = (),
        scope: Scope = None,
    ) -> AsyncGenerator[T, None]:
        query = [*params, *scope_query(scope)]  # checked now, not at the first iteration
        return _structured(iter_items(self._transport, path, query, options), cls)


async def _structured(
    items: AsyncGenerator[tuple[Response, dict[str, Any]], None], cls: type[T]
) -> AsyncGenerator[T, None]:
    async with aclosing(items):
        async for response, item in items:
            yield structure(response, item, cls)


def structure(response: Response, data: Any, cls: type[T]) -> T:
    """Build ``cls`` from JSON, or raise :class:`ResponseError` naming what was wrong."""
    try:
        return structure_data(data, cls)
    except ValueError as exc:
        raise ResponseError(
            f"unexpected {cls.__name__} shape: {exc}",
            status=response.status,
            method=response.method,
            url=response.url,
        ) from exc
