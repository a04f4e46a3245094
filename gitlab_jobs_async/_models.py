"""Typed models of GitLab's job entities (SERVER-BEHAVIOUR.md §3).

Plain frozen, keyword-only attrs classes. They carry no wire rules: how JSON becomes these
objects (timestamps, open enums, leniency about unknown keys) lives in ``_converter``.
Fields GitLab may send as ``null`` or leave out default to ``None``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

__all__ = [
    "AgentConfigProject",
    "AllowedAgent",
    "AllowedAgents",
    "AllowedAgentsEnvironment",
    "AllowedAgentsProject",
    "AllowedAgentsUser",
    "Artifact",
    "ArtifactsFile",
    "Bridge",
    "Commit",
    "Job",
    "JobProject",
    "JobStatus",
    "Pipeline",
    "Ref",
    "Runner",
    "RunnerManager",
    "User",
]


class JobStatus(StrEnum):
    """The 13 statuses of a GitLab job (``Ci::HasStatus::AVAILABLE_STATUSES``, §4.1).

    Fields typed ``JobStatus | str`` hold a plain ``str`` for a status this version does not
    know yet. Members compare equal to their string values.
    """

    CREATED = "created"
    WAITING_FOR_RESOURCE = "waiting_for_resource"
    PREPARING = "preparing"
    WAITING_FOR_CALLBACK = "waiting_for_callback"
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELING = "canceling"
    CANCELED = "canceled"
    SKIPPED = "skipped"
    MANUAL = "manual"
    SCHEDULED = "scheduled"

    @property
    def is_finished(self) -> bool:
        """True for the completed statuses: success, failed, canceled, skipped."""
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({
    JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.SKIPPED,
})  # fmt: skip
"""Statuses a job never leaves by itself (``Ci::HasStatus::COMPLETED_STATUSES``)."""

WAITING_STATUSES = frozenset({
    JobStatus.CREATED, JobStatus.PENDING, JobStatus.MANUAL, JobStatus.SCHEDULED,
    JobStatus.WAITING_FOR_RESOURCE, JobStatus.WAITING_FOR_CALLBACK, JobStatus.PREPARING,
})  # fmt: skip
"""Statuses of a job that has not started running: it has no log yet."""


@attrs.frozen(kw_only=True)
class User:
    """A GitLab user as embedded in a job (``Entities::User``, §3.5)."""

    id: int
    username: str
    name: str
    state: str | None = None
    locked: bool | None = None
    avatar_url: str | None = None
    web_url: str | None = None
    created_at: datetime | None = None
    bio: str | None = None
    location: str | None = None
    public_email: str | None = None
    skype: str | None = None
    linkedin: str | None = None
    twitter: str | None = None
    discord: str | None = None
    website_url: str | None = None
    organization: str | None = None
    job_title: str | None = None
    pronouns: str | None = None
    bot: bool | None = None
    work_information: str | None = None
    followers: int | None = None
    following: int | None = None
    is_followed: bool | None = None
    local_time: str | None = None


@attrs.frozen(kw_only=True)
class Commit:
    """The commit a job ran on (``Entities::Commit``)."""

    id: str
    short_id: str | None = None
    created_at: datetime | None = None
    parent_ids: tuple[str, ...] = ()
    title: str | None = None
    message: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    authored_date: datetime | None = None
    committer_name: str | None = None
    committer_email: str | None = None
    committed_date: datetime | None = None
    trailers: dict[str, str] | None = None
    extended_trailers: dict[str, tuple[str, ...]] | None = None
    web_url: str | None = None


@attrs.frozen(kw_only=True)
class Pipeline:
    """A pipeline as embedded in a job or a bridge (``Entities::Ci::PipelineBasic``)."""

    id: int
    iid: int | None = None
    project_id: int | None = None
    sha: str | None = None
    ref: str | None = None
    status: JobStatus | str | None = None
    source: str | None = None
    """Open string: push, web, trigger, schedule, api, parent_pipeline, ... (§4.3)."""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    web_url: str | None = None


@attrs.frozen(kw_only=True)
class Artifact:
    """One of a job's artifacts (``Entities::Ci::JobArtifact``)."""

    file_type: str
    """Open string: archive, metadata, trace, junit, ... (§4.4)."""
    size: int | None = None
    filename: str | None = None
    file_format: str | None = None
    """Open string: raw, zip, gzip."""


@attrs.frozen(kw_only=True)
class ArtifactsFile:
    """The legacy ``artifacts_file`` object: present only while an unexpired archive exists."""

    filename: str
    size: int | None = None


@attrs.frozen(kw_only=True)
class Runner:
    """The runner that picked up a job (``Entities::Ci::Runner``)."""

    id: int
    description: str | None = None
    ip_address: str | None = None
    active: bool | None = None
    paused: bool | None = None
    is_shared: bool | None = None
    runner_type: str | None = None
    name: str | None = None
    online: bool | None = None
    created_by: User | None = None
    created_at: datetime | None = None
    status: str | None = None
    job_execution_status: str | None = None


@attrs.frozen(kw_only=True)
class RunnerManager:
    """The runner manager (one runner process on one machine) that ran a job."""

    id: int
    system_id: str | None = None
    version: str | None = None
    revision: str | None = None
    platform: str | None = None
    architecture: str | None = None
    created_at: datetime | None = None
    contacted_at: datetime | None = None
    ip_address: str | None = None
    status: str | None = None
    job_execution_status: str | None = None


@attrs.frozen(kw_only=True)
class JobProject:
    """The ``project`` object embedded in a job: only the outbound job-token scope flag."""

    ci_job_token_scope_enabled: bool | None = None


@attrs.frozen(kw_only=True)
class _JobBasic:
    """The fields jobs and bridges share (``Entities::Ci::JobBasic``, §3.1). Strictly private."""

    id: int
    status: JobStatus | str
    """A :class:`JobStatus`, or a plain ``str`` for a status this version does not know."""
    name: str
    stage: str | None = None
    ref: str | None = None
    tag: bool = False
    coverage: float | None = None
    allow_failure: bool = False
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    erased_at: datetime | None = None
    duration: float | None = None
    """Seconds; grows while the job runs."""
    queued_duration: float | None = None
    """Seconds; grows while the job waits."""
    user: User | None = None
    commit: Commit | None = None
    pipeline: Pipeline | None = None
    failure_reason: str | None = None
    """Open string (§4.2); GitLab sends it only for failed jobs."""
    web_url: str | None = None
    project: JobProject | None = None


@attrs.frozen(kw_only=True)
class Job(_JobBasic):
    """A CI job (``Entities::Ci::Job``, §3.1–3.2)."""

    artifacts_file: ArtifactsFile | None = None
    """The legacy archive object: ``None`` unless an unexpired archive exists."""
    artifacts: tuple[Artifact, ...] = ()
    runner: Runner | None = None
    runner_manager: RunnerManager | None = None
    artifacts_expire_at: datetime | None = None
    archived: bool | None = None
    tag_list: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Bridge(_JobBasic):
    """A trigger job that starts a downstream pipeline (``Entities::Ci::Bridge``, §3.3)."""

    downstream_pipeline: Pipeline | None = None
    """The pipeline this bridge triggered, or ``None`` before it has one."""


@attrs.frozen(kw_only=True)
class Ref:
    """An object GitLab names by id only (``job``, ``pipeline``, a group)."""

    id: int


@attrs.frozen(kw_only=True)
class AgentConfigProject:
    """The project holding a Kubernetes agent's configuration."""

    id: int
    description: str | None = None
    name: str | None = None
    name_with_namespace: str | None = None
    path: str | None = None
    path_with_namespace: str | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class AllowedAgent:
    """A Kubernetes agent the job may use."""

    id: int
    config_project: AgentConfigProject | None = None
    configuration: dict[str, Any] | None = None
    """Free-form agent configuration (``default_namespace``, ``access_as``, ...)."""


@attrs.frozen(kw_only=True)
class AllowedAgentsProject:
    """The job's project and the ids of its ancestor groups."""

    id: int
    groups: tuple[Ref, ...] = ()


@attrs.frozen(kw_only=True)
class AllowedAgentsUser:
    """The user the job runs as, with their roles in the project."""

    id: int
    name: str | None = None
    username: str | None = None
    roles_in_project: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class AllowedAgentsEnvironment:
    """The job's deployment environment."""

    tier: str | None = None
    slug: str | None = None


@attrs.frozen(kw_only=True)
class AllowedAgents:
    """The answer of ``GET /job/allowed_agents`` (§2.10)."""

    allowed_agents: tuple[AllowedAgent, ...] = ()
    job: Ref | None = None
    pipeline: Ref | None = None
    project: AllowedAgentsProject | None = None
    user: AllowedAgentsUser | None = None
    environment: AllowedAgentsEnvironment | None = None
    """``None`` when the job has no environment (GitLab leaves the key out)."""
