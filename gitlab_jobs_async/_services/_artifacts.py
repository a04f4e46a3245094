"""Job artifacts: downloads (streamed, to memory-safe chunks or a file), keep, delete.

Strictly private: these methods are part of ``ProjectJobs``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator

from .. import _checks as checks
from .. import _paths as paths
from .._files import SavedFile, save_chunks
from .._models import Job
from ._base import Service, structure

__all__ = ["DEFAULT_CHUNK_SIZE", "ArtifactMethods"]

DEFAULT_CHUNK_SIZE = 64 * 1024


class ArtifactMethods(Service):
    """Artifact downloads and actions of ``ProjectJobs``. Strictly private.

    Downloads follow GitLab's redirect to object storage, without the token: credentials
    only ever go to the configured GitLab.
    """

    def artifacts(
        self, project: int | str, job_id: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[bytes, None]:
        """The job's artifacts archive (a zip) as chunks."""
        path = paths.job_artifacts(project, job_id)
        return self._chunks(path, checks.positive_int("chunk_size", chunk_size))

    def artifact_file(
        self,
        project: int | str,
        job_id: int,
        artifact_path: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """One file from the job's artifacts archive, as chunks."""
        path = paths.job_artifact_file(project, job_id, artifact_path)
        return self._chunks(path, checks.positive_int("chunk_size", chunk_size))

    def artifacts_by_ref(
        self,
        project: int | str,
        ref: str,
        job_name: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """The archive of the latest successful job ``job_name`` on branch or tag ``ref``."""
        path = paths.ref_artifacts(project, ref)
        query = [("job", checks.text("job_name", job_name))]
        return self._chunks(path, checks.positive_int("chunk_size", chunk_size), query)

    def artifact_file_by_ref(
        self,
        project: int | str,
        ref: str,
        job_name: str,
        artifact_path: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """One file of the latest successful job ``job_name`` on ``ref``."""
        path = paths.ref_artifact_file(project, ref, artifact_path)
        query = [("job", checks.text("job_name", job_name))]
        return self._chunks(path, checks.positive_int("chunk_size", chunk_size), query)

    async def save_artifacts(
        self, project: int | str, job_id: int, path: str | os.PathLike[str]
    ) -> SavedFile:
        """Stream the job's artifacts archive to ``path`` atomically."""
        return await save_chunks(self.artifacts(project, job_id), path)

    async def keep_artifacts(self, project: int | str, job_id: int) -> Job:
        """Keep the job's artifacts from expiring; returns the job."""
        response = await self._transport.request(
            "POST", paths.job_artifacts_keep(project, job_id), idempotent=True
        )
        return structure(response, response.json(), Job)

    async def delete_artifacts(self, project: int | str, job_id: int) -> None:
        """Delete the job's artifacts (GitLab answers 204)."""
        await self._transport.request(
            "DELETE", paths.job_artifacts(project, job_id), idempotent=True
        )
