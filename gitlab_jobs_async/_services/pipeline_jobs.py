"""``PipelineJobs``: the jobs of one pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator

from .._models import Job
from .._protocol import check_id, encode_project
from ._base import Scope, Service

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
    ) -> AsyncIterator[Job]:
        """The pipeline's jobs (not its bridges), newest first, each exactly once.

        Args:
            project: numeric id or full path.
            pipeline_id: the pipeline's id (not its iid).
            scope: a status or statuses to keep.
            include_retried: also list the earlier attempts of retried jobs.
            per_page: page size, 1–100 (default: the client's ``per_page``).
        """
        if not isinstance(include_retried, bool):
            raise TypeError(f"include_retried must be a bool, not {type(include_retried).__name__}")
        path = (
            f"projects/{encode_project(project)}/pipelines/"
            f"{check_id('pipeline_id', pipeline_id)}/jobs"
        )
        params = [("include_retried", "true")] if include_retried else []
        return self._iter(path, Job, params=params, scope=scope, per_page=per_page)
