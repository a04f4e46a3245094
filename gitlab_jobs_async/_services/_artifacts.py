"""Job artifacts: downloads (streamed, to memory-safe chunks or a file), keep, delete.

Strictly private: these methods are part of ``ProjectJobs``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from urllib.parse import quote

from .. import _checks as checks
from .._files import SavedFile, save_chunks
from .._models import Job
from ._base import Service, segment, structure

__all__ = ["DEFAULT_CHUNK_SIZE", "ArtifactMethods"]

DEFAULT_CHUNK_SIZE = 64 * 1024


def _file_path(artifact_path: object) -> str:
    return quote(checks.artifact_path(artifact_path), safe="/")


class ArtifactMethods(Service):
    """Artifact downloads and actions of ``ProjectJobs``. Strictly private.

    Downloads follow GitLab's redirect to object storage, without the token: credentials
    only ever go to the configured GitLab.
    """

    @staticmethod
    def _jobs_path(project: int | str, tail: str = "") -> str:
        path = f"projects/{segment(checks.project(project))}/jobs"
        return f"{path}/{tail}" if tail else path

    @classmethod
    def _path(cls, project: int | str, job_id: int, action: str = "") -> str:
        # A job id is required: `None` must never shorten the path to the jobs list.
        return cls._jobs_path(project, f"{checks.job_id(job_id)}/{action}".rstrip("/"))

    def artifacts(
        self, project: int | str, job_id: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[bytes, None]:
        """The job's artifacts archive (a zip) as chunks."""
        checks.positive_int("chunk_size", chunk_size)
        return self._chunks(self._path(project, job_id, "artifacts"), chunk_size)

    def artifact_file(
        self,
        project: int | str,
        job_id: int,
        artifact_path: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """One file from the job's artifacts archive, as chunks."""
        checks.positive_int("chunk_size", chunk_size)
        path = self._path(project, job_id, f"artifacts/{_file_path(artifact_path)}")
        return self._chunks(path, chunk_size)

    def artifacts_by_ref(
        self,
        project: int | str,
        ref: str,
        job_name: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """The archive of the latest successful job ``job_name`` on branch or tag ``ref``."""
        checks.positive_int("chunk_size", chunk_size)
        path = self._jobs_path(project, f"artifacts/{segment(checks.ref(ref))}/download")
        return self._chunks(path, chunk_size, [("job", checks.text("job_name", job_name))])

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
        checks.positive_int("chunk_size", chunk_size)
        ref_part = segment(checks.ref(ref))
        path = self._jobs_path(project, f"artifacts/{ref_part}/raw/{_file_path(artifact_path)}")
        return self._chunks(path, chunk_size, [("job", checks.text("job_name", job_name))])

    async def save_artifacts(
        self, project: int | str, job_id: int, path: str | os.PathLike[str]
    ) -> SavedFile:
        """Stream the job's artifacts archive to ``path`` atomically."""
        return await save_chunks(self.artifacts(project, job_id), path)

    async def keep_artifacts(self, project: int | str, job_id: int) -> Job:
        """Keep the job's artifacts from expiring; returns the job."""
        response = await self._transport.request(
            "POST", self._path(project, job_id, "artifacts/keep"), idempotent=True
        )
        return structure(response, response.json(), Job)

    async def delete_artifacts(self, project: int | str, job_id: int) -> None:
        """Delete the job's artifacts (GitLab answers 204)."""
        await self._transport.request(
            "DELETE", self._path(project, job_id, "artifacts"), idempotent=True
        )
