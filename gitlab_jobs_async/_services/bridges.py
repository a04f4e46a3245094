"""``Bridges``: the trigger jobs of one pipeline."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from .. import _paths as paths
from .._models import Bridge
from ._base import Scope, Service

__all__ = ["Bridges"]


class Bridges(Service):
    """``/projects/:id/pipelines/:pipeline_id/bridges`` (reached as ``gl.bridges``)."""

    def list(
        self,
        project: int | str,
        pipeline_id: int,
        *,
        scope: Scope = None,
        per_page: int | None = None,
        concurrency: int | None = None,
    ) -> AsyncGenerator[Bridge, None]:
        """The pipeline's trigger jobs, newest first, each with its ``downstream_pipeline``."""
        path = paths.pipeline_bridges(project, pipeline_id)
        options = self._options(per_page=per_page, concurrency=concurrency)
        return self._iter(path, Bridge, options, scope=scope)
