"""``TokenJob``: what a CI job token can tell about its own job."""

from __future__ import annotations

from .. import _paths as paths
from .._models import AllowedAgents, Job
from ._base import Service

__all__ = ["TokenJob"]


class TokenJob(Service):
    """``/job`` and ``/job/allowed_agents`` (reached as ``gl.token_job``).

    These endpoints accept only a CI job token (``GitLab(url, job_token=...)``): a personal
    token gets :class:`~gitlab_jobs_async.NotFound`, and the token of a job that is no longer
    running gets :class:`~gitlab_jobs_async.Unauthorized`.
    """

    async def get(self) -> Job:
        """The job the token belongs to (``GET /job``)."""
        return await self._get(paths.TOKEN_JOB, Job)

    async def allowed_agents(self) -> AllowedAgents:
        """The Kubernetes agents the job may use (``GET /job/allowed_agents``)."""
        return await self._get(paths.TOKEN_JOB_AGENTS, AllowedAgents)
