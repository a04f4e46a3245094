"""Seeding builds and bridges, and moving them through their states as a runner would.

:class:`JobSeeding` is a base of the fake's store; its public methods are part of the
seeding API of :class:`~gitlab_jobs_async.testing.FakeGitLab`.
"""

from __future__ import annotations

import enum
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from ._records import (
    STATUSES,
    FakeJob,
    FakePipeline,
    FakeUser,
    JobKind,
    JobStatus,
    When,
    seeded_times,
)

__all__ = ["PIPELINE_USER", "JobSeeding", "UserArg"]


class _Default(enum.Enum):
    PIPELINE_USER = "the pipeline's user"


PIPELINE_USER: Literal[_Default.PIPELINE_USER] = _Default.PIPELINE_USER
"""``add_job(user=...)`` default: the job belongs to its pipeline's user."""

UserArg = FakeUser | None | Literal[_Default.PIPELINE_USER]

_TIERS = (
    ("production", r"prod|live|prd"),
    ("staging", r"stag|model|pre|demo"),
    ("testing", r"test|tst|int|ac(ce)?pt|qa|qc|control|quality"),
    ("development", r"dev|review|trunk"),
)


def _environment(value: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """An environment as ``{"tier", "slug"}``; a bare name gets GitLab's guessed tier."""
    if value is None or isinstance(value, Mapping):
        return None if value is None else dict(value)
    tier = next((t for t, pattern in _TIERS if re.search(pattern, value, re.I)), "other")
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:24] or "env"
    return {"tier": tier, "slug": slug}


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class JobSeeding:
    """Adds jobs to pipelines and changes their status, log and script.

    Ids: one sequence for jobs and bridges (both are ``ci_builds`` rows).
    """

    def __init__(self) -> None:
        self.jobs: dict[int, FakeJob] = {}
        self._next_job_id = 1

    def add_job(
        self,
        pipeline: FakePipeline,
        *,
        name: str = "test",
        stage: str = "test",
        status: JobStatus = "success",
        failure_reason: str | None = None,
        when: When = "on_success",
        log: bytes | bytearray = b"",
        user: UserArg = PIPELINE_USER,
        runner: bool | int = True,
        tag_list: Iterable[str] = (),
        allow_failure: bool = False,
        coverage: float | None = None,
        artifacts: Iterable[str] = (),
        archived: bool = False,
        debug_trace: bool = False,
        graceful_cancel: bool = False,
        environment: str | Mapping[str, str] | None = None,
        extra_fields: Mapping[str, Any] | None = None,
        archive: bytes | None = None,
        files: Mapping[str, bytes] | None = None,
        artifact_sizes: Mapping[str, int] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> FakeJob:
        """Add a build with deterministic timestamps for its ``status``.

        ``failure_reason`` defaults to ``script_failure`` for a failed job. ``user``
        defaults to the pipeline's user. ``runner``: picked up by a runner once started
        (an int names which runner). ``artifacts`` are file types, shown once the job is
        complete, with ``artifact_sizes`` (bytes per type) if given; ``archive`` (zip bytes)
        or ``files`` (made into a zip) add an ``archive`` artifact with content.
        ``environment`` is a name (tier guessed as GitLab does) or ``{"tier", "slug"}``.
        ``inputs`` are the job's declared inputs and their defaults (``play``/``retry``
        accept ``job_inputs`` for them). ``extra_fields`` are merged last into its JSON.
        """
        kinds = tuple(artifacts)
        if files and archive is None:
            archive = _zip(files)
        if archive is not None and "archive" not in kinds:
            kinds = ("archive", *kinds)
        job = self._new_job(pipeline, "build", name, stage, status, failure_reason, when, user)
        job.log = bytearray(log)
        job.runner = runner is not False
        job.runner_id = None if isinstance(runner, bool) else runner
        job.artifact_sizes = dict(artifact_sizes or {})
        job.inputs = dict(inputs or {})
        job.tag_list = tuple(tag_list)
        job.allow_failure = allow_failure
        job.coverage = coverage
        job.artifacts = kinds
        job.archived = archived
        job.debug_trace = debug_trace
        job.graceful_cancel = graceful_cancel
        job.environment = _environment(environment)
        job.extra_fields = dict(extra_fields) if extra_fields else None
        job.archive = archive
        job.files = dict(files or {})
        self._job_created(job)
        return job

    def add_bridge(
        self,
        pipeline: FakePipeline,
        *,
        name: str = "trigger",
        stage: str = "deploy",
        status: JobStatus = "success",
        when: When = "on_success",
        downstream: FakePipeline | None = None,
        failure_reason: str | None = None,
        user: UserArg = PIPELINE_USER,
        allow_failure: bool = False,
        archived: bool = False,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> FakeJob:
        """Add a trigger job (bridge), optionally with its downstream pipeline."""
        job = self._new_job(pipeline, "bridge", name, stage, status, failure_reason, when, user)
        job.downstream = downstream
        job.runner = False
        job.allow_failure = allow_failure
        job.archived = archived
        job.extra_fields = dict(extra_fields) if extra_fields else None
        return job

    def _new_job(
        self,
        pipeline: FakePipeline,
        kind: JobKind,
        name: str,
        stage: str,
        status: JobStatus,
        failure_reason: str | None,
        when: When,
        user: UserArg,
    ) -> FakeJob:
        if status not in STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        job_id = self._next_job_id
        self._next_job_id += 1
        reason = (failure_reason or "script_failure") if status == "failed" else None
        job = FakeJob(
            job_id,
            kind,
            pipeline,
            name,
            stage,
            status,
            when=when,
            failure_reason=reason,
            user=pipeline.user if user is PIPELINE_USER else user,
            **seeded_times(job_id, status),
        )
        job.observer = self._job_changed
        self.jobs[job_id] = job
        pipeline.jobs.append(job)
        if kind == "build":
            pipeline.project.builds.append(job)
        return job

    def set_status(
        self, job: FakeJob, status: JobStatus, *, failure_reason: str | None = None
    ) -> None:
        """Move ``job`` to ``status`` with GitLab's timestamps: ``queued_at`` on pending,
        ``started_at`` on running, ``finished_at`` on success/failed/canceled.
        A failed job gets ``failure_reason`` (default ``script_failure``)."""
        if status == "failed":  # before the change, so that its webhooks carry the reason
            job.failure_reason = failure_reason or "script_failure"
        job.set_status(status, datetime.now(UTC))

    def _job_created(self, job: FakeJob) -> None:
        """A build was added (the fake's webhooks fire here)."""

    def _job_changed(self, job: FakeJob, previous: JobStatus) -> None:
        """A job's status changed (the fake's webhooks fire here)."""

    def append_log(self, job: FakeJob, data: bytes) -> None:
        """Grow the job's log, as a runner does while the job runs."""
        job.log += data

    def script_log(self, job: FakeJob, steps: Iterable[tuple[bytes, JobStatus | None]]) -> None:
        """Script a running job: each ``GET`` of the job applies the next step, appending
        its bytes to the log and then moving to its status (``None``: unchanged). Tests
        drive a growing log with it deterministically, whatever the timing."""
        job.script.extend(steps)
