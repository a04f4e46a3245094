"""``Bridges``: the trigger jobs of one pipeline."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from .. import _checks as checks
from .._models import Bridge
from ._base import Scope, Service, segment

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
        path = (
            f"projects/{segment(checks.project(project))}/pipelines/"
            f"{checks.pipeline_id(pipeline_id)}/bridges"
        )
        options = self._options(per_page=per_page, concurrency=concurrency)
        return self._iter(path, Bridge, options, scope=scope)
