"""The fake GitLab's records: plain mutable objects and GitLab's rules about their states.

Seeded through :class:`~gitlab_jobs_async.testing.FakeGitLab`; tests may read and change them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import attrs

__all__ = [
    "BASE_TIME",
    "CANCELABLE",
    "COMPLETED",
    "FakeJob",
    "FakePipeline",
    "FakeProject",
    "FakeUser",
    "JobKind",
    "JobStatus",
    "ROLES",
    "Role",
    "STATUSES",
    "Scope",
    "Token",
    "TokenKind",
    "TokenState",
    "Visibility",
    "When",
    "fake_sha",
    "seeded_times",
]

JobStatus = Literal[
    "created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending",
    "running", "success", "failed", "canceling", "canceled", "skipped", "manual", "scheduled",
]  # fmt: skip
"""``Ci::HasStatus::AVAILABLE_STATUSES`` (§4.1)."""
Role = Literal["guest", "reporter", "developer", "maintainer", "owner"]
Visibility = Literal["private", "internal", "public"]
When = Literal["on_success", "on_failure", "always", "manual", "delayed", "never"]
"""The ``when:`` of a job in ``.gitlab-ci.yml``."""
JobKind = Literal["build", "bridge"]
TokenKind = Literal["personal", "oauth", "job"]
TokenState = Literal["active", "expired", "revoked"]
Scope = Literal[
    "api", "read_api", "read_user", "read_repository", "write_repository", "read_registry",
    "write_registry", "sudo", "admin_mode", "create_runner", "manage_runner", "ai_features",
    "k8s_proxy", "self_rotate", "read_service_ping", "ai_workflows",
]  # fmt: skip
"""Personal access token scopes; ``api`` allows everything, ``read_api`` GET/HEAD."""

BASE_TIME = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)
"""Seeded objects get deterministic timestamps counted from here."""

STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
COMPLETED = frozenset({"success", "failed", "canceled", "skipped"})
FINISHING = frozenset({"success", "failed", "canceled"})
"""The statuses whose transition stamps ``finished_at``."""
RETRYABLE = frozenset({"success", "failed", "canceled", "canceling"})
CANCELABLE = frozenset(STATUSES) - COMPLETED - {"canceling"}
"""What the ``cancel`` event moves to ``canceled`` (or ``canceling``) (§2.4)."""
ROLES: dict[Role, int] = {
    "guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50
}  # fmt: skip
"""Access levels of ``Gitlab::Access``."""


@attrs.define(eq=False)
class FakeUser:
    """A user of the fake GitLab."""

    id: int
    username: str
    name: str
    admin: bool = False
    created_at: datetime = BASE_TIME


@attrs.define(eq=False)
class Token:
    """A token: ``kind`` is personal, oauth or job; ``state`` active, expired or revoked."""

    value: str = attrs.field(repr=False)
    kind: TokenKind
    user: FakeUser | None
    scopes: tuple[str, ...] = ("api",)
    state: TokenState = "active"
    job: FakeJob | None = None


@attrs.define(eq=False)
class FakeProject:
    """A project, found by id or by full path (``group/sub/app``)."""

    id: int
    path_with_namespace: str
    visibility: Visibility = "private"
    public_builds: bool = True
    members: dict[int, int] = attrs.Factory(dict)
    """User id → access level (10 guest … 50 owner)."""
    agents: list[dict[str, Any]] = attrs.Factory(list)
    """What ``GET /job/allowed_agents`` lists for this project's jobs."""
    builds: list[FakeJob] = attrs.Factory(list)
    """Every build (not bridge) in id order; lists read it newest first."""
    pipeline_count: int = 0
    """Pipelines created so far: the next pipeline's ``iid`` is one more."""

    @property
    def name(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        return self.name

    @property
    def namespace(self) -> str:
        """The full path of the group the project is in (``""`` for none)."""
        return self.path_with_namespace.rpartition("/")[0]


@attrs.define(eq=False)
class FakePipeline:
    """A pipeline of one project."""

    id: int
    iid: int
    project: FakeProject
    ref: str
    sha: str
    source: str
    status: JobStatus
    user: FakeUser | None
    created_at: datetime
    jobs: list[FakeJob] = attrs.Factory(list)
    """Builds and bridges in id order."""


@attrs.define(eq=False)
class FakeJob:
    """A build or a bridge (``kind``); mutable so tests can inspect and change it."""

    id: int
    kind: JobKind
    """``"build"`` (``Ci::Build``) or ``"bridge"`` (a trigger job, ``Ci::Bridge``)."""
    pipeline: FakePipeline
    name: str
    stage: str
    status: JobStatus
    when: When = "on_success"
    failure_reason: str | None = None
    log: bytearray = attrs.Factory(bytearray)
    user: FakeUser | None = None
    runner: bool = True
    """Picked up by a runner once started (``runner``/``runner_manager`` then non-null)."""
    runner_id: int | None = None
    """Which runner (default: one of three shared runners, by job id)."""
    tag_list: tuple[str, ...] = ()
    allow_failure: bool = False
    coverage: float | None = None
    artifacts: tuple[str, ...] = ()
    """Artifact file types (``archive``, ``metadata``, ``junit``, ``trace``, ...)."""
    archived: bool = False
    debug_trace: bool = False
    """``CI_DEBUG_TRACE`` set: reading the log needs developer access."""
    graceful_cancel: bool = False
    """The runner supports graceful cancel: cancelling a running job gives ``canceling``."""
    environment: dict[str, str] | None = None
    """``{"tier": ..., "slug": ...}`` of the job's environment, if any."""
    extra_fields: dict[str, Any] | None = None
    """Merged last into the job's JSON (to test unknown keys)."""
    downstream: FakePipeline | None = None
    created_at: datetime = BASE_TIME
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    erased_at: datetime | None = None
    retried: bool = False
    """A newer attempt exists (hidden from pipeline lists unless ``include_retried``)."""
    variables: list[dict[str, str]] = attrs.Factory(list)
    """The ``job_variables_attributes`` it was last played with."""
    archive: bytes | None = None
    """The artifacts archive (a zip); built from ``files`` when only those are given."""
    files: dict[str, bytes] = attrs.Factory(dict)
    artifact_sizes: dict[str, int] = attrs.Factory(dict)
    """Sizes to report per artifact file type (default: GitLab's documented examples)."""
    inputs: dict[str, Any] = attrs.Factory(dict)
    """Job inputs (``inputs:`` in ``.gitlab-ci.yml``) with their current values; ``play``
    and ``retry`` may override declared ones (``job_inputs``)."""
    script: list[tuple[bytes, JobStatus | None]] = attrs.Factory(list)
    """Steps applied one per ``GET`` of the job: (bytes to append to the log, new status)."""
    token: str | None = attrs.field(default=None, repr=False)
    """Its CI job token, once :meth:`FakeGitLab.job_token` made one."""
    observer: Callable[[FakeJob, JobStatus], None] | None = attrs.field(default=None, repr=False)
    """Told of each status change, with the status before (the fake's webhooks)."""

    @property
    def project(self) -> FakeProject:
        return self.pipeline.project

    @property
    def is_build(self) -> bool:
        return self.kind == "build"

    @property
    def is_bridge(self) -> bool:
        return self.kind == "bridge"

    def set_status(self, status: JobStatus, now: datetime) -> None:
        """Move to ``status``, stamping times as GitLab does (§3.1, §4.1).

        ``queued_at`` on entering pending (or running, which passes through pending),
        ``started_at`` on running, ``finished_at`` on success/failed/canceled only
        (``commit_status.rb``: ``before_transition any => [:success, :failed, :canceled]``).
        """
        if status not in STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        if status in ("pending", "running") and self.queued_at is None:
            self.queued_at = now
        if status == "running" and self.started_at is None:
            self.started_at = now
        if status in FINISHING:
            self.finished_at = self.finished_at or now
        elif status != "skipped":
            self.finished_at = None
        if status != "failed":
            self.failure_reason = None
        previous, self.status = self.status, status
        if self.observer is not None:
            self.observer(self, previous)

    def retryable(self) -> bool:
        """``Processable#retryable?``: latest attempt, not archived, and finished (§2.5)."""
        return not self.retried and not self.archived and self.status in RETRYABLE

    def playable(self) -> bool:
        """``Ci::Build#playable?``: a manual or delayed job waiting, or retryable (§2.7)."""
        return (
            self.when in ("manual", "delayed")
            and not self.archived
            and (self.status in ("manual", "scheduled") or self.retryable())
        )

    def erasable(self) -> bool:
        """``Ci::Build#erasable?``: complete, with artifacts or a log (§2.6)."""
        return (
            self.is_build and self.status in COMPLETED and (bool(self.artifacts) or bool(self.log))
        )


_QUEUED = frozenset({"pending", "running", "success", "failed", "canceling", "canceled"})


def seeded_times(job_id: int, status: JobStatus) -> dict[str, Any]:
    """Deterministic timestamps for a job seeded in ``status``."""
    created = BASE_TIME + timedelta(seconds=job_id * 60)
    queued = created + timedelta(seconds=3) if status in _QUEUED else None
    started = None
    finished = None
    if status in ("running", "canceling") or status in COMPLETED - {"skipped"}:
        started = created + timedelta(seconds=10 + job_id % 7)
    if status in FINISHING:
        assert started is not None
        finished = started + timedelta(seconds=30 + (job_id * 13) % 600)
    return {
        "created_at": created,
        "queued_at": queued,
        "started_at": started,
        "finished_at": finished,
    }


def fake_sha(seed: str) -> str:
    """A stable 40-hex commit sha."""
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
