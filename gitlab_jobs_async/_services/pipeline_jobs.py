"""``PipelineJobs``: the jobs of one pipeline."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from functools import partial

from .. import _checks as checks
from .. import _paths as paths
from .._merge import merge
from .._models import Job
from ._base import Scope, Service, scope_query

__all__ = ["PipelineJobs"]


class PipelineJobs(Service):
    """``/projects/:id/pipelines/:pipeline_id/jobs`` (reached as ``gl.pipeline_jobs``)."""

    def list(
        self,
        project: int | str,
        pipeline_id: int,
        *,
        scope: Scope = None,
        include_retried: bool = False,
        per_page: int | None = None,
        concurrency: int | None = None,
        max_items: int | None = None,
    ) -> AsyncGenerator[Job, None]:
        """The pipeline's jobs (not its bridges), newest first, each exactly once.

        Args:
            project: numeric id or full path.
            pipeline_id: the pipeline's id (not its iid).
            scope: a status or statuses to keep.
            include_retried: also list the earlier attempts of retried jobs.
            per_page: page size, 1–100 (default: the client's ``per_page``, 100).
            concurrency: pages in flight at once (default: the client's ``max_concurrency``).
            max_items: stop after this many jobs.
        """
        options = self._options(per_page=per_page, concurrency=concurrency, max_items=max_items)
        return self._iter(
            paths.pipeline_jobs(project, pipeline_id),
            Job,
            options,
            params=_retried(include_retried),
            scope=scope,
        )

    def list_many(
        self,
        pipelines: Iterable[tuple[int | str, int]],
        *,
        scope: Scope = None,
        include_retried: bool = False,
        per_page: int | None = None,
        concurrency: int | None = None,
    ) -> AsyncGenerator[tuple[tuple[int | str, int], Job], None]:
        """The jobs of many ``(project, pipeline_id)`` pairs as one stream, as they arrive.

        All lists run at once within the client's request budget; the first to fail stops
        the stream with its error.
        """
        options = self._options(per_page=per_page, concurrency=concurrency)
        params = [*_retried(include_retried), *scope_query(scope)]
        pairs = checks.pipelines(pipelines)
        sources = [
            (
                (project, pipeline_id),
                partial(
                    self._iter,
                    paths.pipeline_jobs(project, pipeline_id),
                    Job,
                    options,
                    params=params,
                ),
            )
            for project, pipeline_id in pairs
        ]
        return merge(sources)


def _retried(include_retried: bool) -> list[tuple[str, str]]:
    return (
        [("include_retried", "true")] if checks.boolean("include_retried", include_retried) else []
    )
