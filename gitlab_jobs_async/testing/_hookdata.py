"""The fake GitLab's webhook payloads, as plain dicts: Job Hook and Pipeline Hook.

Key by key after GitLab's ``lib/gitlab/data_builder/build.rb`` and ``pipeline.rb``, with what
newer versions add (``retries_count``, ``project``, the ``*_iso`` twins, ``source_pipeline``
for a downstream pipeline). Like the REST entities, they are built from the fake's records,
never from the SDK's models, so the SDK's webhook parsing is checked against an independent
rendering. Timestamps are ISO 8601 with milliseconds (what GitLab's JSON encoder writes for a
``Time``), the ``*_iso`` twins to the second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import _entities as entities
from ._records import FakeJob, FakePipeline, FakeProject, FakeUser
from ._state import Store

__all__ = ["job_hook", "pipeline_hook"]

_VISIBILITY = {"private": 0, "internal": 10, "public": 20}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    return None if start is None else max(0.0, ((end or now) - start).total_seconds())


def _user(u: FakeUser | None) -> dict[str, Any] | None:
    """``User#hook_attrs``: the address is ``[REDACTED]`` unless public (none are, here)."""
    if u is None:
        return None
    avatar = f"https://www.gravatar.com/avatar/{u.id:032x}?s=80&d=identicon"
    return {"id": u.id, "name": u.name, "username": u.username, "avatar_url": avatar,
            "email": "[REDACTED]"}  # fmt: skip


def _full_name(p: FakeProject) -> str:
    return " / ".join(part.replace("-", " ").title() for part in p.path_with_namespace.split("/"))


def _urls(p: FakeProject, base: str) -> dict[str, str]:
    host = base.split("://", 1)[-1]
    return {
        "web_url": f"{base}/{p.path_with_namespace}",
        "git_ssh_url": f"git@{host}:{p.path_with_namespace}.git",
        "git_http_url": f"{base}/{p.path_with_namespace}.git",
    }


def project(p: FakeProject, base: str) -> dict[str, Any]:
    """``Project#hook_attrs(backward: false)``."""
    urls = _urls(p, base)
    return {
        "id": p.id,
        "name": p.name,
        "description": None,
        "web_url": urls["web_url"],
        "avatar_url": None,
        "git_ssh_url": urls["git_ssh_url"],
        "git_http_url": urls["git_http_url"],
        "namespace": _full_name(p).rpartition(" / ")[0],
        "visibility_level": _VISIBILITY[p.visibility],
        "path_with_namespace": p.path_with_namespace,
        "default_branch": "main",
        "ci_config_path": None,
    }


def _runner(j: FakeJob) -> dict[str, Any] | None:
    if not (j.runner and j.is_build and j.started_at is not None):
        return None
    runner_id = j.runner_id if j.runner_id is not None else 1 + j.id % 3  # as the REST job
    return {"id": runner_id, "description": f"shared-runner-{runner_id}",
            "runner_type": "instance_type", "active": True, "is_shared": True,
            "tags": sorted(j.tag_list)}  # fmt: skip


def _source_pipeline(store: Store, p: FakePipeline, base: str) -> dict[str, Any] | None:
    """The upstream of a pipeline some bridge triggered (``Ci::Sources::Pipeline``)."""
    bridge = next((j for j in store.jobs.values() if j.downstream is p), None)
    if bridge is None:
        return None
    upstream = bridge.project
    return {
        "project": {
            "id": upstream.id,
            "web_url": f"{base}/{upstream.path_with_namespace}",
            "path_with_namespace": upstream.path_with_namespace,
        },
        "job_id": bridge.id,
        "pipeline_id": bridge.pipeline.id,
    }


def _pipeline_times(p: FakePipeline) -> tuple[datetime | None, datetime | None]:
    started = [j.started_at for j in p.jobs if j.started_at is not None]
    finished = [j.finished_at for j in p.jobs if j.finished_at is not None]
    done = p.status in ("success", "failed", "canceled")
    return (min(started) if started else None), (max(finished) if finished and done else None)


def job_hook(store: Store, j: FakeJob, base: str, now: datetime | None = None) -> dict[str, Any]:
    """The Job Hook payload of ``j`` as it is now (``Gitlab::DataBuilder::Build.build``)."""
    now = now or datetime.now(UTC)
    p, proj = j.pipeline, j.project
    commit = entities.commit(p, base)
    started, finished = _pipeline_times(p)
    retries = sum(1 for o in p.jobs if o.retried and o.name == j.name and o.is_build)
    data: dict[str, Any] = {
        "object_kind": "build",
        "ref": p.ref,
        "tag": False,
        "before_sha": "0" * 40,
        "sha": p.sha,
        "retries_count": retries,
        "build_id": j.id,
        "build_name": j.name,
        "build_stage": j.stage,
        "build_status": j.status,
        "build_created_at": entities.iso(j.created_at),
        "build_started_at": entities.iso(j.started_at),
        "build_finished_at": entities.iso(j.finished_at),
        "build_created_at_iso": _iso(j.created_at),
        "build_started_at_iso": _iso(j.started_at),
        "build_finished_at_iso": _iso(j.finished_at),
        "build_duration": _seconds(j.started_at, j.finished_at, now),
        "build_queued_duration": _seconds(j.queued_at, j.started_at, now),
        "build_allow_failure": j.allow_failure,
        # GitLab's column default: what every job that did not fail says.
        "build_failure_reason": j.failure_reason or "unknown_failure",
        "pipeline_id": p.id,
        "runner": _runner(j),
        "project_id": proj.id,
        "project_name": _full_name(proj),
        "user": _user(j.user),
        "commit": {
            "id": p.id,  # the pipeline's id, under the name "commit"
            "name": None,
            "sha": p.sha,
            "message": commit["message"],
            "author_name": commit["author_name"],
            "author_email": commit["author_email"],
            "author_url": f"{base}/{p.user.username}" if p.user else "mailto:ada@example.com",
            "status": p.status,
            "duration": int(_seconds(started, finished, now) or 0) if started else None,
            "started_at": entities.iso(started),
            "finished_at": entities.iso(finished),
            "started_at_iso": _iso(started),
            "finished_at_iso": _iso(finished),
        },
        "repository": {
            "name": proj.name,
            "url": _urls(proj, base)["git_ssh_url"],
            "description": None,
            "homepage": _urls(proj, base)["web_url"],
            "git_http_url": _urls(proj, base)["git_http_url"],
            "git_ssh_url": _urls(proj, base)["git_ssh_url"],
            "visibility_level": _VISIBILITY[proj.visibility],
        },
        "project": project(proj, base),
        "environment": _environment(j, tier=False),
    }
    source = _source_pipeline(store, p, base)
    if source is not None:  # absent, not null, for a pipeline nobody triggered
        data["source_pipeline"] = source
    return data


def _environment(j: FakeJob, *, tier: bool) -> dict[str, Any] | None:
    if not j.environment:
        return None
    env: dict[str, Any] = {"name": j.environment.get("slug", "env"), "action": "start"}
    if tier:
        env["deployment_tier"] = j.environment.get("tier")
    return env


def _build(j: FakeJob, base: str, now: datetime) -> dict[str, Any]:
    """One of ``builds`` in a Pipeline Hook (``build_hook_attrs``)."""
    archive = "archive" in j.artifacts and j.status in ("success", "failed", "canceled")
    return {
        "id": j.id,
        "stage": j.stage,
        "name": j.name,
        "status": j.status,
        "created_at": entities.iso(j.created_at),
        "started_at": entities.iso(j.started_at),
        "finished_at": entities.iso(j.finished_at),
        "duration": _seconds(j.started_at, j.finished_at, now),
        "queued_duration": _seconds(j.queued_at, j.started_at, now),
        "failure_reason": j.failure_reason if j.status == "failed" else None,
        "when": j.when,
        "manual": j.when in ("manual", "delayed"),
        "allow_failure": j.allow_failure,
        "user": _user(j.user),
        "runner": _runner(j),
        "artifacts_file": {
            "filename": "artifacts.zip" if archive else None,
            "size": (len(j.archive) if j.archive else 4096) if archive else None,
        },
        "environment": _environment(j, tier=True),
    }


def pipeline_hook(
    store: Store, p: FakePipeline, base: str, now: datetime | None = None
) -> dict[str, Any]:
    """The Pipeline Hook payload of ``p`` (``Gitlab::DataBuilder::Pipeline``): the pipeline
    and the latest attempt of each of its builds."""
    now = now or datetime.now(UTC)
    started, finished = _pipeline_times(p)
    commit = entities.commit(p, base)
    stages = list(dict.fromkeys(j.stage for j in p.jobs))
    builds = [j for j in p.jobs if j.is_build and not j.retried]
    data: dict[str, Any] = {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": p.id,
            "iid": p.iid,
            "name": None,
            "ref": p.ref,
            "tag": False,
            "sha": p.sha,
            "before_sha": "0" * 40,
            "source": p.source,
            "status": p.status,
            "detailed_status": p.status.replace("_", " "),
            "stages": stages,
            "created_at": entities.iso(p.created_at),
            "finished_at": entities.iso(finished),
            "duration": int(_seconds(started, finished, now) or 0) if started else None,
            "queued_duration": None,
            "protected_ref": p.ref == "main",
            "variables": [],
            "url": f"{base}/{p.project.path_with_namespace}/-/pipelines/{p.id}",
        },
        "merge_request": None,
        "user": _user(p.user),
        "project": project(p.project, base),
        "commit": {
            "id": p.sha,
            "message": commit["message"],
            "title": commit["title"],
            "timestamp": commit["authored_date"],
            "url": commit["web_url"],
            "author": {"name": commit["author_name"], "email": commit["author_email"]},
        },
        "builds": [_build(j, base, now) for j in builds],
    }
    source = _source_pipeline(store, p, base)
    if source is not None:
        data["source_pipeline"] = source
    return data
