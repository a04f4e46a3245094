"""Job artifacts: downloads (streamed, to memory-safe chunks or a file), keep, delete.

Strictly private: these methods are part of ``ProjectJobs``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from urllib.parse import quote

from .._files import SavedFile, save_chunks
from .._models import Job
from .._protocol import check_id, encode_project
from ._base import Service, structure

__all__ = ["DEFAULT_CHUNK_SIZE", "ArtifactMethods"]

DEFAULT_CHUNK_SIZE = 64 * 1024


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value or value.strip() != value:
        raise ValueError(f"{name} must be non-empty, without surrounding spaces: {value!r}")
    return value


def _file_path(artifact_path: object) -> str:
    text = _text("artifact_path", artifact_path).strip("/")
    if any(part in ("", ".", "..") for part in text.split("/")):
        raise ValueError(f"artifact_path must be a plain relative path: {artifact_path!r}")
    return quote(text, safe="/")


class ArtifactMethods(Service):
    """Artifact downloads and actions of ``ProjectJobs``. Strictly private.

    Downloads follow GitLab's redirect to object storage, without the token: credentials
    only ever go to the configured GitLab.
    """

    @staticmethod
    def _path(project: int | str, job_id: int | None = None, action: str = "") -> str:
        path = f"projects/{encode_project(project)}/jobs"
        if job_id is not None:
            path += f"/{check_id('job_id', job_id)}"
        return f"{path}/{action}" if action else path

    def artifacts(
        self, project: int | str, job_id: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[bytes, None]:
        """The job's artifacts archive (a zip) as chunks."""
        check_id("chunk_size", chunk_size)
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
        check_id("chunk_size", chunk_size)
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
        check_id("chunk_size", chunk_size)
        path = self._path(project, None, f"artifacts/{quote(_text('ref', ref), safe='')}/download")
        return self._chunks(path, chunk_size, [("job", _text("job_name", job_name))])

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
        check_id("chunk_size", chunk_size)
        ref_part = quote(_text("ref", ref), safe="")
        path = self._path(project, None, f"artifacts/{ref_part}/raw/{_file_path(artifact_path)}")
        return self._chunks(path, chunk_size, [("job", _text("job_name", job_name))])

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
