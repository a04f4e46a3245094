"""The fake GitLab's in-memory store: seeding, lookups and the state changes of job actions.

:class:`Store` is the base of :class:`~gitlab_jobs_async.testing.FakeGitLab`; its public
methods are the fake's seeding API.
"""

from __future__ import annotations

import enum
import io
import re
import secrets
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from ._records import (
    BASE_TIME,
    CANCELABLE,
    ROLES,
    STATUSES,
    FakeJob,
    FakePipeline,
    FakeProject,
    FakeUser,
    Token,
    fake_sha,
    seeded_times,
)

__all__ = ["PIPELINE_USER", "Store"]


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


class Store:
    """Users, tokens, projects, pipelines and jobs, with GitLab's rules for changing them.

    Ids: one sequence for jobs and bridges (both are ``ci_builds`` rows), and one each for
    pipelines, projects and users.
    """

    def __init__(self) -> None:
        self.users: dict[int, FakeUser] = {}
        self.tokens: dict[str, Token] = {}
        self.projects: dict[int, FakeProject] = {}
        self._paths: dict[str, FakeProject] = {}
        self.pipelines: dict[int, FakePipeline] = {}
        self.jobs: dict[int, FakeJob] = {}
        self._next_job_id = 1
        self.actions: Counter[str] = Counter()
        """How many times each job action (cancel, retry, erase, play) changed state."""

    # -- users and tokens -----------------------------------------------------------------

    def add_user(self, username: str, *, name: str | None = None, admin: bool = False) -> FakeUser:
        """Add a user; admins see and may do everything."""
        user = FakeUser(len(self.users) + 1, username, name or username.title(), admin)
        self.users[user.id] = user
        return user

    def _token(self, kind: str, user: FakeUser | None, **fields: Any) -> str:
        prefix = {"personal": "glpat-", "oauth": "gloas-", "job": "glcbt-"}[kind]
        value = prefix + secrets.token_urlsafe(15)
        self.tokens[value] = Token(value, kind, user, **fields)
        return value

    def add_personal_token(
        self, user: FakeUser, *, scopes: Iterable[str] = ("api",), state: str = "active"
    ) -> str:
        """A personal access token (``PRIVATE-TOKEN`` or ``Authorization: Bearer``).

        ``state``: ``active``, ``expired`` or ``revoked`` (the last two get GitLab's
        OAuth-style 401). ``scopes``: ``api`` allows everything, ``read_api`` GET/HEAD only.
        """
        if state not in ("active", "expired", "revoked"):
            raise ValueError(f"unknown token state {state!r}")
        return self._token("personal", user, scopes=tuple(scopes), state=state)

    def add_oauth_token(self, user: FakeUser, *, scopes: Iterable[str] = ("api",)) -> str:
        """An OAuth access token (``Authorization: Bearer``)."""
        return self._token("oauth", user, scopes=tuple(scopes))

    def job_token(self, job: FakeJob) -> str:
        """The CI job token of ``job``: it acts as the job's user, only while the job runs."""
        if job.token is None:
            job.token = self._token("job", job.user, job=job)
        return job.token

    # -- projects and pipelines -----------------------------------------------------------

    def add_project(
        self, path: str, *, visibility: str = "private", public_builds: bool = True
    ) -> FakeProject:
        """Add a project with a full path such as ``group/sub/app``.

        ``visibility``: private, internal or public. ``public_builds`` is the project's
        "public pipelines" setting: with it, whoever can see the project can read its jobs.
        """
        if visibility not in ("private", "internal", "public"):
            raise ValueError(f"unknown visibility {visibility!r}")
        if path.lower() in self._paths:
            raise ValueError(f"project {path!r} exists")
        project = FakeProject(len(self.projects) + 1, path, visibility, public_builds)
        self.projects[project.id] = project
        self._paths[path.lower()] = project
        return project

    def add_member(self, project: FakeProject, user: FakeUser, role: str) -> None:
        """Give ``user`` a role in ``project``: guest, reporter, developer, maintainer, owner."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        project.members[user.id] = ROLES[role]

    def find_project(self, key: str) -> FakeProject | None:
        """Look a project up as GitLab does: digits by id, a path with ``/`` by path."""
        if key.isascii() and key.isdigit():
            return self.projects.get(int(key))
        if "/" in key:
            return self._paths.get(key.lower())
        return None

    def add_pipeline(
        self,
        project: FakeProject,
        *,
        ref: str = "main",
        sha: str | None = None,
        source: str = "push",
        status: str = "running",
        user: FakeUser | None = None,
    ) -> FakePipeline:
        """Add a pipeline to ``project`` (``sha`` made up when not given)."""
        pipeline_id = len(self.pipelines) + 1
        project.pipeline_count += 1
        pipeline = FakePipeline(
            pipeline_id,
            project.pipeline_count,
            project,
            ref,
            sha or fake_sha(f"{project.id}:{pipeline_id}"),
            source,
            status,
            user,
            seeded_times(pipeline_id, "created")["created_at"],
        )
        self.pipelines[pipeline_id] = pipeline
        return pipeline

    # -- jobs -----------------------------------------------------------------------------

    def add_job(
        self,
        pipeline: FakePipeline,
        *,
        name: str = "test",
        stage: str = "test",
        status: str = "success",
        failure_reason: str | None = None,
        when: str = "on_success",
        log: bytes | bytearray = b"",
        user: UserArg = PIPELINE_USER,
        runner: bool = True,
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
    ) -> FakeJob:
        """Add a build with deterministic timestamps for its ``status``.

        ``failure_reason`` defaults to ``script_failure`` for a failed job. ``user``
        defaults to the pipeline's user. ``artifacts`` are file types; ``archive`` (zip
        bytes) or ``files`` (made into a zip) add an ``archive`` artifact with content.
        ``environment`` is a name (tier guessed as GitLab does) or ``{"tier", "slug"}``.
        ``extra_fields`` are merged last into the job's JSON.
        """
        kinds = tuple(artifacts)
        if files and archive is None:
            archive = _zip(files)
        if archive is not None and "archive" not in kinds:
            kinds = ("archive", *kinds)
        job = self._new_job(pipeline, "build", name, stage, status, failure_reason, when, user)
        job.log = bytearray(log)
        job.runner = runner
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
        return job

    def add_bridge(
        self,
        pipeline: FakePipeline,
        *,
        name: str = "trigger",
        stage: str = "deploy",
        status: str = "success",
        when: str = "on_success",
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
        kind: str,
        name: str,
        stage: str,
        status: str,
        failure_reason: str | None,
        when: str,
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
        self.jobs[job_id] = job
        pipeline.jobs.append(job)
        if kind == "build":
            pipeline.project.builds.append(job)
        return job

    def set_status(self, job: FakeJob, status: str, *, failure_reason: str | None = None) -> None:
        """Move ``job`` to ``status`` with GitLab's timestamps: ``queued_at`` on pending,
        ``started_at`` on running, ``finished_at`` on success/failed/canceled/skipped.
        A failed job gets ``failure_reason`` (default ``script_failure``)."""
        job.set_status(status, datetime.now(UTC))
        if status == "failed":
            job.failure_reason = failure_reason or "script_failure"

    def append_log(self, job: FakeJob, data: bytes) -> None:
        """Grow the job's log, as a runner does while the job runs."""
        job.log += data

    def script_log(self, job: FakeJob, steps: Iterable[tuple[bytes, str | None]]) -> None:
        """Script a running job: each ``GET`` of the job applies the next step, appending
        its bytes to the log and then moving to its status (``None``: unchanged). Tests
        drive a growing log with it deterministically, whatever the timing."""
        job.script.extend(steps)

    def add_allowed_agent(
        self,
        project: FakeProject,
        *,
        agent_id: int,
        name: str,
        config_project: FakeProject,
        configuration: Mapping[str, Any] | None = None,
    ) -> None:
        """A Kubernetes agent that jobs of ``project`` may use (``GET /job/allowed_agents``).

        GitLab does not show the agent's name; ``configuration`` (the authorization's
        config) defaults to ``{"default_namespace": name}``.
        """
        project.agents.append(
            {
                "id": agent_id,
                "config_project": {
                    "id": config_project.id,
                    "description": None,
                    "name": config_project.name,
                    "name_with_namespace": config_project.path_with_namespace.replace("/", " / "),
                    "path": config_project.path,
                    "path_with_namespace": config_project.path_with_namespace,
                    "created_at": BASE_TIME.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                },
                "configuration": dict(configuration or {"default_namespace": name}),
            }
        )

    # -- what job actions do (the routes check permissions first) -------------------------

    def cancel(self, job: FakeJob, *, force: bool) -> None:
        """``cancel`` (or ``force_cancel``) event; a no-op in any other state (§2.4)."""
        now = datetime.now(UTC)
        if force:
            if job.status == "canceling":
                self.actions["cancel"] += 1
                job.set_status("canceled", now)
        elif job.status in CANCELABLE:
            self.actions["cancel"] += 1
            graceful = job.status == "running" and job.graceful_cancel
            job.set_status("canceling" if graceful else "canceled", now)

    def retry(self, job: FakeJob, user: FakeUser | None) -> FakeJob:
        """Retry ``job``: a new job, pending, run by ``user``; the old one is retried (§2.5)."""
        self.actions["retry"] += 1
        job.retried = True
        new = self._new_job(
            job.pipeline, job.kind, job.name, job.stage, "created", None, job.when, user
        )
        new.runner = job.runner
        new.tag_list = job.tag_list
        new.allow_failure = job.allow_failure
        new.debug_trace = job.debug_trace
        new.graceful_cancel = job.graceful_cancel
        new.environment = job.environment
        now = datetime.now(UTC)
        new.created_at = now
        new.set_status("pending", now)
        return new

    def erase(self, job: FakeJob) -> None:
        """Erase the log and artifacts of ``job`` (§2.6)."""
        self.actions["erase"] += 1
        job.erased_at = datetime.now(UTC)
        job.artifacts = ()
        job.archive = None
        job.files = {}
        job.log.clear()

    def playable(self, job: FakeJob) -> bool:
        """A build per ``Ci::Build#playable?``; a bridge only while ``manual`` (§2.7)."""
        if job.is_bridge:
            return job.when == "manual" and not job.archived and job.status == "manual"
        return job.playable()

    def play(self, job: FakeJob, user: FakeUser | None, variables: list[dict[str, str]]) -> FakeJob:
        """Play a playable job: a waiting one is enqueued in place (same id); a finished one
        is retried, as ``Ci::PlayBuildService`` does, and the new job is returned."""
        self.actions["play"] += 1
        if job.status not in ("manual", "scheduled"):
            job = self.retry(job, user)
        job.variables = variables
        job.user = user
        job.set_status("pending", datetime.now(UTC))
        return job
