"""The fake GitLab's in-memory store: users, tokens, projects, pipelines, and lookups.

:class:`Store` is the base of :class:`~gitlab_jobs_async.testing.FakeGitLab`; its public
methods (and those of :class:`~._seeding.JobSeeding`) are the fake's seeding API.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ._recording import Observations
from ._records import (
    BASE_TIME,
    ROLES,
    FakeJob,
    FakePipeline,
    FakeProject,
    FakeUser,
    JobStatus,
    Role,
    Scope,
    Token,
    TokenKind,
    TokenState,
    Visibility,
    fake_sha,
    seeded_times,
)
from ._seeding import JobSeeding

__all__ = ["Store"]


class Store(JobSeeding):
    """Users, tokens, projects, pipelines and jobs, with GitLab's rules for changing them.

    Ids: one sequence for jobs and bridges (both are ``ci_builds`` rows), and one each for
    pipelines, projects and users.
    """

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[int, FakeUser] = {}
        self.tokens: dict[str, Token] = {}
        self.projects: dict[int, FakeProject] = {}
        self._paths: dict[str, FakeProject] = {}
        self._moved: dict[str, FakeProject] = {}
        self.pipelines: dict[int, FakePipeline] = {}
        self.observed = Observations()
        """What the fake saw and did: requests, actions, rate-limited answers."""

    @property
    def actions(self) -> Counter[str]:
        """How many times each job action (cancel, retry, erase, play) changed state."""
        return self.observed.actions

    # -- users and tokens -----------------------------------------------------------------

    def add_user(self, username: str, *, name: str | None = None, admin: bool = False) -> FakeUser:
        """Add a user; admins see and may do everything."""
        user = FakeUser(len(self.users) + 1, username, name or username.title(), admin)
        self.users[user.id] = user
        return user

    def _token(self, kind: TokenKind, user: FakeUser | None, **fields: Any) -> str:
        prefix = {"personal": "glpat-", "oauth": "gloas-", "job": "glcbt-"}[kind]
        value = prefix + secrets.token_urlsafe(15)
        self.tokens[value] = Token(value, kind, user, **fields)
        return value

    def add_personal_token(
        self,
        user: FakeUser,
        *,
        scopes: Iterable[Scope] = ("api",),
        state: TokenState = "active",
    ) -> str:
        """A personal access token (``PRIVATE-TOKEN`` or ``Authorization: Bearer``).

        ``state``: ``active``, ``expired`` or ``revoked`` (the last two get GitLab's
        OAuth-style 401). ``scopes``: ``api`` allows everything, ``read_api`` GET/HEAD only.
        """
        if state not in ("active", "expired", "revoked"):
            raise ValueError(f"unknown token state {state!r}")
        return self._token("personal", user, scopes=tuple(scopes), state=state)

    def add_oauth_token(self, user: FakeUser, *, scopes: Iterable[Scope] = ("api",)) -> str:
        """An OAuth access token (``Authorization: Bearer``)."""
        return self._token("oauth", user, scopes=tuple(scopes))

    def job_token(self, job: FakeJob) -> str:
        """The CI job token of ``job``: it acts as the job's user, only while the job runs."""
        if job.token is None:
            job.token = self._token("job", job.user, job=job)
        return job.token

    # -- projects and pipelines -----------------------------------------------------------

    def add_project(
        self, path: str, *, visibility: Visibility = "private", public_builds: bool = True
    ) -> FakeProject:
        """Add a project with a full path such as ``group/sub/app``.

        ``visibility``: private, internal or public. ``public_builds`` is the project's
        "public pipelines" setting: with it, whoever can see the project can read its jobs.
        """
        if visibility not in ("private", "internal", "public"):
            raise ValueError(f"unknown visibility {visibility!r}")
        if path.lower() in self._paths or not path.strip("/"):
            raise ValueError(f"project {path!r} exists or is empty")
        project = FakeProject(len(self.projects) + 1, path, visibility, public_builds)
        self.projects[project.id] = project
        self._paths[path.lower()] = project
        return project

    def add_member(self, project: FakeProject, user: FakeUser, role: Role) -> None:
        """Give ``user`` a role in ``project``: guest, reporter, developer, maintainer, owner."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        project.members[user.id] = ROLES[role]

    def rename_project(self, project: FakeProject, new_path: str) -> None:
        """Move ``project`` to ``new_path``; its old path keeps answering GET with a 301 to
        ``/projects/<id>/...`` (other methods get a 405), as GitLab's redirect routes do."""
        if new_path.lower() in self._paths:
            raise ValueError(f"project {new_path!r} exists")
        old = project.path_with_namespace.lower()
        del self._paths[old]
        self._moved[old] = project
        project.path_with_namespace = new_path
        self._paths[new_path.lower()] = project
        self._moved.pop(new_path.lower(), None)

    def find_project(self, key: str) -> FakeProject | None:
        """Look a project up as GitLab does: digits by id, a path with ``/`` by path."""
        if key.isascii() and key.isdigit():
            return self.projects.get(int(key))
        if "/" in key:
            return self._paths.get(key.lower())
        return None

    def moved_project(self, key: str) -> FakeProject | None:
        """The project that used to live at path ``key``, if it was renamed."""
        return self._moved.get(key.lower()) if "/" in key else None

    def add_pipeline(
        self,
        project: FakeProject,
        *,
        ref: str = "main",
        sha: str | None = None,
        source: str = "push",
        status: JobStatus = "running",
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
