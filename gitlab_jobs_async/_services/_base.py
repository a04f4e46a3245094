"""What every service shares: the transport, argument checks and structuring. Strictly private."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any, TypeVar

from .._converter import converter, structure_error_text
from .._errors import ResponseError
from .._pagination import Pagination, iter_items
from .._protocol import check_per_page, scope_params
from .._transport import Params, Response, Transport

__all__ = ["Service", "Scope"]

T = TypeVar("T")

Scope = str | Iterable[str] | None
"""One job status or several; sent as repeated ``scope[]`` parameters."""


class Service:
    """Base of the four services. Strictly private."""

    def __init__(self, transport: Transport, *, per_page: int) -> None:
        self._transport = transport
        self._per_page = per_page

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._transport.base_url}>"

    async def _get(self, path: str, cls: type[T]) -> T:
        response = await self._transport.request("GET", path)
        return structure(response, response.json(), cls)

    def _iter(
        self,
        path: str,
        cls: type[T],
        *,
        params: Params = (),
        scope: Scope = None,
        per_page: int | None,
        pagination: Pagination = "offset",
    ) -> AsyncIterator[T]:
        # Arguments are checked here, when list() is called, not at the first iteration.
        query = [*params, *scope_params(scope)]
        size = check_per_page(self._per_page if per_page is None else per_page)
        if pagination not in ("offset", "keyset"):
            raise ValueError(f"pagination must be 'offset' or 'keyset', not {pagination!r}")
        return _structured(iter_items(self._transport, path, query, per_page=size,
                                      pagination=pagination), cls)


async def _structured(
    items: AsyncGenerator[tuple[Response, dict[str, Any]], None], cls: type[T]
) -> AsyncIterator[T]:
    async with aclosing(items):
        async for response, item in items:
            yield structure(response, item, cls)


def structure(response: Response, data: Any, cls: type[T]) -> T:
    """Build ``cls`` from JSON, or raise :class:`ResponseError` naming what was wrong."""
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise ResponseError(
            f"unexpected {cls.__name__} shape: {structure_error_text(exc)}",
            status=response.status,
            method=response.method,
            url=response.url,
        ) from exc
