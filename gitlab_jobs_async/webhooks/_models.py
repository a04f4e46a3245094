"""Typed webhook events: GitLab's Job Hook and Pipeline Hook, and a generic event for the rest.

Plain frozen, keyword-only attrs classes, like the REST models. How GitLab's JSON becomes
them (the ``build_`` prefixes, both timestamp forms, ``null`` lists) lives in ``_convert``.
The payloads are built by GitLab's ``lib/gitlab/data_builder/build.rb`` and ``pipeline.rb``;
fields GitLab may send as ``null`` or leave out default to ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._models import Bridge, Job, JobStatus

__all__ = [
    "CommitAuthor",
    "Event",
    "HookArtifactsFile",
    "HookCommit",
    "HookEnvironment",
    "HookProject",
    "HookRunner",
    "HookUser",
    "JOB_HOOK",
    "JobEvent",
    "JobPipeline",
    "MergeRequest",
    "PIPELINE_HOOK",
    "PipelineAttributes",
    "PipelineBuild",
    "PipelineEvent",
    "PipelineVariable",
    "SourcePipeline",
]

JOB_HOOK = "Job Hook"
"""The ``X-Gitlab-Event`` of a job's status change."""
PIPELINE_HOOK = "Pipeline Hook"
"""The ``X-Gitlab-Event`` of a pipeline's status change."""


@attrs.frozen(kw_only=True)
class HookUser:
    """The user who started the job or pipeline (``User#hook_attrs``)."""

    id: int
    name: str | None = None
    username: str | None = None
    avatar_url: str | None = None
    email: str | None = None
    """May be ``"[REDACTED]"``: GitLab hides an address the user keeps private."""


@attrs.frozen(kw_only=True)
class HookRunner:
    """The runner that took the job; events of a job no runner took yet have none."""

    id: int
    description: str | None = None
    runner_type: str | None = None
    """Open string: ``instance_type``, ``group_type``, ``project_type``."""
    active: bool | None = None
    is_shared: bool | None = None
    tags: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class HookProject:
    """A project as hooks describe it (``Project#hook_attrs``); a source pipeline's has 3 fields."""

    id: int
    name: str | None = None
    description: str | None = None
    web_url: str | None = None
    avatar_url: str | None = None
    git_ssh_url: str | None = None
    git_http_url: str | None = None
    namespace: str | None = None
    visibility_level: int | None = None
    path_with_namespace: str | None = None
    default_branch: str | None = None
    ci_config_path: str | None = None


@attrs.frozen(kw_only=True)
class HookEnvironment:
    """The environment a job deploys to (``environment:`` in ``.gitlab-ci.yml``)."""

    name: str
    action: str | None = None
    """Open string: ``start``, ``prepare``, ``stop``, ``verify``, ``access``."""
    deployment_tier: str | None = None
    """Sent in a pipeline's builds only."""


@attrs.frozen(kw_only=True)
class SourcePipeline:
    """The upstream pipeline of a child or multi-project pipeline, and the job that triggered it."""

    project: HookProject | None = None
    pipeline_id: int | None = None
    job_id: int | None = None


@attrs.frozen(kw_only=True)
class JobPipeline:
    """A job event's pipeline: GitLab sends it as ``commit``, and its ``id`` is the pipeline's."""

    id: int
    name: str | None = None
    """The pipeline's ``workflow:name``, or ``None``."""
    sha: str | None = None
    message: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    author_url: str | None = None
    status: JobStatus | str | None = None
    duration: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Event:
    """A verified webhook delivery: its headers, and the payload as parsed JSON.

    Every event has these fields; a hook this SDK has no type for (``Push Hook``,
    ``Deployment Hook``, ...) arrives as a plain :class:`Event`, its payload in :attr:`data`.
    """

    hook: str
    """``X-Gitlab-Event``: ``"Job Hook"``, ``"Pipeline Hook"``, ``"Push Hook"``, ..."""
    delivery_id: str | None = None
    """``X-Gitlab-Webhook-UUID``: new on every delivery attempt, for logs."""
    idempotency_key: str | None = None
    """``Idempotency-Key`` (else ``webhook-id``): one per event and kept when GitLab resends it."""
    event_uuid: str | None = None
    """``X-Gitlab-Event-UUID``: shared by every hook one request caused (recursion detection)."""
    instance: str | None = None
    """``X-Gitlab-Instance``: the URL of the GitLab that sent it."""
    data: Mapping[str, Any] = attrs.field(factory=dict, eq=False, hash=False, repr=False)
    """The whole JSON payload, including what the typed fields leave out (do not modify it)."""


@attrs.frozen(kw_only=True)
class JobEvent(Event):
    """A job changed status (``Job Hook``, ``object_kind: "build"``).

    A watcher polling the REST API produces the same type: see :meth:`from_job`.
    """

    job_id: int
    """``build_id``."""
    name: str
    stage: str | None = None
    status: JobStatus | str
    """A :class:`~gitlab_jobs_async.JobStatus`, or a plain ``str`` for one this version lacks."""
    failure_reason: str | None = None
    """Open string such as ``script_failure``; ``None`` when GitLab says ``unknown_failure``
    (what it sends for every job that did not fail)."""
    allow_failure: bool = False
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status_changed_at: datetime | None = None
    """Sent by newer GitLab versions only."""
    duration: float | None = None
    """Seconds."""
    queued_duration: float | None = None
    """Seconds."""
    retries_count: int | None = None
    """0 for a first run, 1 for its first retry, ...; ``None`` when GitLab does not send it."""
    pipeline_id: int
    ref: str | None = None
    tag: bool = False
    sha: str | None = None
    before_sha: str | None = None
    runner: HookRunner | None = None
    """``None`` until a runner takes the job (``created``, ``pending``, ...)."""
    project_id: int
    project_name: str | None = None
    user: HookUser | None = None
    pipeline: JobPipeline | None = None
    """GitLab's ``commit`` object, which describes the pipeline."""
    project: HookProject | None = None
    environment: HookEnvironment | None = None
    source_pipeline: SourcePipeline | None = None
    """Present only in a child or multi-project pipeline."""

    @classmethod
    def from_job(
        cls,
        job: Job | Bridge,
        *,
        project_id: int | None = None,
        project: HookProject | None = None,
    ) -> JobEvent:
        """The event a job's current state stands for, from a REST job (for polling watchers).

        Fields the REST API does not give (``retries_count``, ``before_sha``, the runner's
        tags, ``environment``) are left empty; there are no delivery headers.

        Args:
            job: a job from the REST API.
            project_id: the job's project; by default its pipeline's ``project_id``.
            project: the project, when known.

        Raises:
            ValueError: when the job has no pipeline, or no project id can be found.
        """
        pipeline = job.pipeline
        if pipeline is None:
            raise ValueError(f"job {job.id} has no pipeline")
        project_id = project_id if project_id is not None else pipeline.project_id
        if project_id is None:
            project_id = project.id if project is not None else None
        if project_id is None:
            raise ValueError(f"job {job.id}: pass project_id, its pipeline does not name one")
        runner = job.runner if isinstance(job, Job) else None
        user = job.user
        return cls(
            hook=JOB_HOOK,
            job_id=job.id,
            name=job.name,
            stage=job.stage,
            status=job.status,
            failure_reason=None if job.failure_reason == "unknown_failure" else job.failure_reason,
            allow_failure=job.allow_failure,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            duration=job.duration,
            queued_duration=job.queued_duration,
            pipeline_id=pipeline.id,
            ref=job.ref,
            tag=job.tag,
            sha=job.commit.id if job.commit is not None else pipeline.sha,
            runner=None
            if runner is None
            else HookRunner(
                id=runner.id,
                description=runner.description,
                runner_type=runner.runner_type,
                active=runner.active,
                is_shared=runner.is_shared,
            ),
            project_id=project_id,
            project_name=project.path_with_namespace if project is not None else None,
            user=None
            if user is None
            else HookUser(
                id=user.id, name=user.name, username=user.username, avatar_url=user.avatar_url
            ),
            pipeline=JobPipeline(id=pipeline.id, sha=pipeline.sha, status=pipeline.status),
            project=project,
        )


@attrs.frozen(kw_only=True)
class PipelineVariable:
    """A variable the pipeline was started with."""

    key: str
    value: str | None = None


@attrs.frozen(kw_only=True)
class PipelineAttributes:
    """The pipeline of a pipeline event (GitLab's ``object_attributes``)."""

    id: int
    iid: int | None = None
    name: str | None = None
    ref: str | None = None
    tag: bool = False
    sha: str | None = None
    before_sha: str | None = None
    source: str | None = None
    """Open string: ``push``, ``web``, ``merge_request_event``, ``parent_pipeline``, ..."""
    status: JobStatus | str
    detailed_status: str | None = None
    stages: tuple[str, ...] = ()
    created_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = None
    queued_duration: float | None = None
    variables: tuple[PipelineVariable, ...] = ()
    url: str | None = None


@attrs.frozen(kw_only=True)
class MergeRequest:
    """The merge request a merge request pipeline runs for."""

    id: int
    iid: int | None = None
    title: str | None = None
    source_branch: str | None = None
    source_project_id: int | None = None
    target_branch: str | None = None
    target_project_id: int | None = None
    state: str | None = None
    merge_status: str | None = None
    detailed_merge_status: str | None = None
    url: str | None = None


@attrs.frozen(kw_only=True)
class CommitAuthor:
    """A commit's author as the commit records them."""

    name: str | None = None
    email: str | None = None


@attrs.frozen(kw_only=True)
class HookCommit:
    """The git commit a pipeline runs on (``Commit#hook_attrs``)."""

    id: str
    message: str | None = None
    title: str | None = None
    timestamp: datetime | None = None
    url: str | None = None
    author: CommitAuthor | None = None


@attrs.frozen(kw_only=True)
class HookArtifactsFile:
    """A build's artifacts archive: both fields ``None`` when it has none."""

    filename: str | None = None
    size: int | None = None


@attrs.frozen(kw_only=True)
class PipelineBuild:
    """One job of a pipeline event: every job's state arrives in each pipeline delivery."""

    id: int
    stage: str | None = None
    name: str
    status: JobStatus | str
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = None
    queued_duration: float | None = None
    failure_reason: str | None = None
    """``None`` unless the job failed for a known reason (as :attr:`JobEvent.failure_reason`)."""
    when: str | None = None
    """Open string: ``on_success``, ``manual``, ``always``, ``delayed``, ..."""
    manual: bool | None = None
    allow_failure: bool = False
    user: HookUser | None = None
    runner: HookRunner | None = None
    artifacts_file: HookArtifactsFile | None = None
    environment: HookEnvironment | None = None


@attrs.frozen(kw_only=True)
class PipelineEvent(Event):
    """A pipeline changed status (``Pipeline Hook``, ``object_kind: "pipeline"``)."""

    pipeline: PipelineAttributes
    """GitLab's ``object_attributes``."""
    builds: tuple[PipelineBuild, ...] = ()
    merge_request: MergeRequest | None = None
    user: HookUser | None = None
    project: HookProject | None = None
    commit: HookCommit | None = None
    source_pipeline: SourcePipeline | None = None
    """Present only for a child or multi-project pipeline."""

    @property
    def pipeline_id(self) -> int:
        """The pipeline's id."""
        return self.pipeline.id

    @property
    def status(self) -> JobStatus | str:
        """The pipeline's status."""
        return self.pipeline.status

    @property
    def ref(self) -> str | None:
        """The pipeline's branch or tag."""
        return self.pipeline.ref

    @property
    def project_id(self) -> int | None:
        """The project's id, when GitLab sent the project."""
        return self.project.id if self.project is not None else None
