"""JSON of the resources around jobs, as plain dicts: projects, full pipelines, the current
user, the version, and the job token's allowed agents (``lib/api/entities/``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from . import _entities as entities
from ._records import BASE_TIME, ROLES, FakeJob, FakePipeline, FakeProject, FakeUser, Role

__all__ = ["VERSION", "allowed_agents", "current_user", "pipeline", "project_json", "version"]

VERSION = "18.6.0-ee"
"""The GitLab version the fake claims in ``GET /version``."""


def project_json(p: FakeProject, base: str) -> dict[str, Any]:
    """A minimal ``Entities::Project``, enough for clients that fetch the project first."""
    namespace = p.namespace
    return {
        "id": p.id,
        "description": None,
        "name": p.name,
        "name_with_namespace": p.path_with_namespace.replace("/", " / "),
        "path": p.path,
        "path_with_namespace": p.path_with_namespace,
        "created_at": entities.iso(BASE_TIME),
        "default_branch": "main",
        "visibility": p.visibility,
        "web_url": f"{base}/{p.path_with_namespace}",
        "namespace": {
            "name": namespace.rsplit("/", 1)[-1],
            "path": namespace.rsplit("/", 1)[-1],
            "kind": "group" if namespace else "user",
            "full_path": namespace,
        },
        "public_jobs": p.public_builds,
    }


def pipeline(p: FakePipeline, base: str, now: datetime | None = None) -> dict[str, Any]:
    """``Entities::Ci::PipelineWithMetadata``: PipelineBasic, then the pipeline's own
    timing and status, with times taken from its jobs."""
    now = now or datetime.now(UTC)
    started = [j.started_at for j in p.jobs if j.started_at is not None]
    finished = [j.finished_at for j in p.jobs if j.finished_at is not None]
    start = min(started) if started else None
    end = max(finished) if finished and p.status in ("success", "failed", "canceled") else None
    data = entities.pipeline_basic(p, base)
    data.update(
        before_sha="0" * 40,
        tag=False,
        yaml_errors=None,
        user=entities.user(p.user, base),
        started_at=entities.iso(start),
        finished_at=entities.iso(end),
        committed_at=None,
        duration=int(((end or now) - start).total_seconds()) if start else None,
        queued_duration=None,
        coverage=None,
        detailed_status={
            "icon": f"status_{p.status}",
            "text": p.status.replace("_", " ").title(),
            "label": p.status.replace("_", " "),
            "group": p.status,
            "tooltip": p.status.replace("_", " "),
            "has_details": True,
            "details_path": f"/{p.project.path_with_namespace}/-/pipelines/{p.id}",
            "illustration": None,
            "favicon": f"/assets/ci_favicons/favicon_status_{p.status}.png",
        },
        archived=False,
        name=None,
    )
    return data


def current_user(u: FakeUser, base: str) -> dict[str, Any]:
    """``GET /user``: ``Entities::UserPublic``, the user's own view of themselves."""
    data = entities.user(u, base) or {}
    data.update(
        last_sign_in_at=entities.iso(BASE_TIME),
        confirmed_at=entities.iso(u.created_at),
        last_activity_on=(BASE_TIME + timedelta(days=1)).date().isoformat(),
        email=f"{u.username}@example.com",
        theme_id=1,
        color_scheme_id=1,
        projects_limit=100000,
        current_sign_in_at=entities.iso(BASE_TIME),
        identities=[],
        can_create_group=True,
        can_create_project=True,
        two_factor_enabled=False,
        external=False,
        private_profile=False,
        commit_email=f"{u.username}@example.com",
        is_admin=u.admin,
    )
    return data


def version() -> dict[str, Any]:
    """``GET /version`` (``Entities::Metadata``)."""
    kas = {"enabled": False, "externalUrl": None, "externalK8sProxyUrl": None, "version": None}
    return {"version": VERSION, "revision": "2c1e7bd1c4d", "kas": kas, "enterprise": True}


def allowed_agents(j: FakeJob, base: str, user: FakeUser | None) -> dict[str, Any]:
    """The ad-hoc answer of ``GET /job/allowed_agents`` (§2.10): ``user`` holds the id,
    username and every role up to the user's (``Gitlab::Access.sym_options_with_owner``
    at or below the access level), and ``environment`` is left out when there is none.
    (A seeded job without a user, which GitLab cannot have, gets no ``user``.)"""
    project = j.project
    groups = project.path_with_namespace.split("/")[:-1]
    data: dict[str, Any] = {
        "allowed_agents": [dict(agent) for agent in project.agents],
        "job": {"id": j.id},
        "pipeline": {"id": j.pipeline.id},
        "project": {"id": project.id, "groups": [{"id": 1000 + i} for i in range(len(groups))]},
    }
    if user is not None:
        level = project.members.get(user.id, 0)  # team.max_member_access: admins not included
        roles: list[Role] = [name for name, value in ROLES.items() if value <= level]
        data["user"] = {"id": user.id, "username": user.username, "roles_in_project": roles}
    if j.environment:
        data["environment"] = dict(j.environment)
    return data
