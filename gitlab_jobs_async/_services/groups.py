"""``Groups``: what the SDK reads of a group, its projects (for audits across a group)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from .. import _checks as checks
from .. import _paths as paths
from .._errors import ResponseError
from .._pagination import iter_items
from .._transport import Response
from ._base import Service

__all__ = ["Groups"]


class Groups(Service):
    """``/groups/:id/projects`` (reached as ``gl.groups``)."""

    def projects(
        self,
        group: int | str,
        *,
        include_subgroups: bool = True,
        per_page: int | None = None,
        concurrency: int | None = None,
    ) -> AsyncGenerator[str, None]:
        """The full paths of a group's projects, newest project first (for ``list_many``).

        Args:
            group: numeric id or full path (``"acme/web"``).
            include_subgroups: also the projects of its subgroups, at any depth.
            per_page: page size, 1–100 (default: the client's ``per_page``, 100).
            concurrency: pages in flight at once (default: the client's ``max_concurrency``).

        Raises:
            ValueError, TypeError: for bad arguments, before any request.
        """
        path = paths.group_projects(group)
        subgroups = checks.boolean("include_subgroups", include_subgroups)
        params = [
            ("include_subgroups", "true" if subgroups else "false"),
            ("order_by", "id"),
            ("sort", "desc"),
            ("simple", "true"),
        ]
        options = self._options(per_page=per_page, concurrency=concurrency)
        return _full_paths(iter_items(self._transport, path, params, options))


async def _full_paths(
    items: AsyncGenerator[tuple[Response, dict[str, Any]], None],
) -> AsyncGenerator[str, None]:
    async with aclosing(items):
        async for response, item in items:
            path = item.get("path_with_namespace")
            if not isinstance(path, str):
                raise ResponseError(
                    "project without path_with_namespace",
                    status=response.status,
                    method=response.method,
                    url=response.url,
                )
            yield path
