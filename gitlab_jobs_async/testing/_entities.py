"""GitLab's JSON entities built as plain dicts (SERVER-BEHAVIOUR.md §3).

Deliberately independent of the SDK's models and converter: a bug in how the SDK reads JSON
must not be hidden by the same bug in how the fake writes it. Keys come in GitLab's
exposure order; conditional keys are left out exactly where GitLab leaves them out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ._records import BASE_TIME, COMPLETED, FakeJob, FakePipeline, FakeUser

__all__ = ["bridge", "commit", "iso", "job", "pipeline_basic", "user"]

_ARTIFACT_FILES = {
    "archive": ("artifacts.zip", "zip", 4096),
    "metadata": ("metadata.gz", "gzip", 186),
    "trace": ("job.log", "raw", 0),
    "junit": ("junit.xml.gz", "gzip", 512),
}


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 with milliseconds and ``Z``, as GitLab writes instance times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def user(u: FakeUser | None, base: str) -> dict[str, Any] | None:
    if u is None:
        return None
    return {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "state": "active",
        "locked": False,
        "avatar_url": f"https://www.gravatar.com/avatar/{u.id:032x}?s=80&d=identicon",
        "web_url": f"{base}/{u.username}",
        "created_at": iso(u.created_at),
        "bio": "",
        "location": "",
        "public_email": None,
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "discord": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "pronouns": None,
        "bot": False,
        "work_information": None,
        "followers": 0,
        "following": 0,
        "local_time": None,
    }


def commit(p: FakePipeline, base: str) -> dict[str, Any]:
    """``Entities::Commit`` of the pipeline's sha, written by the pipeline's user."""
    # Git dates keep the author's offset (§1): render the commit an hour ahead, as +01:00.
    authored = p.created_at - timedelta(minutes=2) + timedelta(hours=1)
    stamp = authored.strftime("%Y-%m-%dT%H:%M:%S.000+01:00")
    author = p.user.name if p.user else "Ada Lovelace"
    email = f"{p.user.username}@example.com" if p.user else "ada@example.com"
    return {
        "id": p.sha,
        "short_id": p.sha[:8],
        "created_at": stamp,
        "parent_ids": [p.sha[::-1]],
        "title": f"Update {p.ref}",
        "message": f"Update {p.ref}\n",
        "author_name": author,
        "author_email": email,
        "authored_date": stamp,
        "committer_name": author,
        "committer_email": email,
        "committed_date": stamp,
        "trailers": {},
        "extended_trailers": {},
        "web_url": f"{base}/{p.project.path_with_namespace}/-/commit/{p.sha}",
    }


def pipeline_basic(p: FakePipeline, base: str) -> dict[str, Any]:
    return {
        "id": p.id,
        "iid": p.iid,
        "project_id": p.project.id,
        "sha": p.sha,
        "ref": p.ref,
        "status": p.status,
        "source": p.source,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.created_at + timedelta(minutes=5)),
        "web_url": f"{base}/{p.project.path_with_namespace}/-/pipelines/{p.id}",
    }


def _seconds(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    """GitLab's ``calculate_duration``: ``(end || now) - start``; grows while ``end`` is unset.
    Never negative, should the fixed seeding clock be ahead of the real one."""
    if start is None:
        return None
    return max(0.0, ((end or now) - start).total_seconds())


def _job_basic(j: FakeJob, base: str, now: datetime) -> dict[str, Any]:
    """``Entities::Ci::JobBasic``."""
    data: dict[str, Any] = {
        "id": j.id,
        "status": j.status,
        "stage": j.stage,
        "name": j.name,
        "ref": j.pipeline.ref,
        "tag": False,
        "coverage": j.coverage,
        "allow_failure": j.allow_failure,
        "created_at": iso(j.created_at),
        "started_at": iso(j.started_at),
        "finished_at": iso(j.finished_at),
        "erased_at": iso(j.erased_at),
        "duration": _seconds(j.started_at, j.finished_at, now),
        "queued_duration": _seconds(j.queued_at, j.started_at, now),
        "user": user(j.user, base),
        "commit": commit(j.pipeline, base),
        "pipeline": pipeline_basic(j.pipeline, base),
    }
    if j.status == "failed":
        data["failure_reason"] = j.failure_reason or "unknown_failure"
    data["web_url"] = f"{base}/{j.project.path_with_namespace}/-/jobs/{j.id}"
    data["project"] = {"ci_job_token_scope_enabled": False}
    return data


def job(j: FakeJob, base: str, now: datetime | None = None) -> dict[str, Any]:
    """``Entities::Ci::Job``; also how GitLab renders a retried bridge (no runner_manager)."""
    now = now or datetime.now(UTC)
    data = _job_basic(j, base, now)
    kinds = _artifact_kinds(j)
    if "archive" in kinds:
        data["artifacts_file"] = {
            "filename": "artifacts.zip",
            "size": _archive_size(j),
        }
    data["artifacts"] = [_artifact(kind, j) for kind in kinds]
    picked = j.runner and j.is_build and j.started_at is not None
    runner_id = j.runner_id if j.runner_id is not None else 1 + j.id % 3
    data["runner"] = _runner(runner_id) if picked else None
    if j.is_build:
        data["runner_manager"] = _runner_manager(runner_id) if picked else None
    expiring = any(kind != "trace" for kind in kinds)
    data["artifacts_expire_at"] = iso(j.created_at + timedelta(days=30)) if expiring else None
    data["archived"] = j.archived
    data["tag_list"] = sorted(j.tag_list)
    if j.extra_fields:
        data.update(j.extra_fields)
    return data


def bridge(j: FakeJob, base: str, now: datetime | None = None) -> dict[str, Any]:
    """``Entities::Ci::Bridge``: JobBasic plus ``downstream_pipeline``."""
    data = _job_basic(j, base, now or datetime.now(UTC))
    data["downstream_pipeline"] = pipeline_basic(j.downstream, base) if j.downstream else None
    if j.extra_fields:
        data.update(j.extra_fields)
    return data


def _artifact_kinds(j: FakeJob) -> list[str]:
    """The job's artifacts: none while it runs (a runner uploads them at the end) or once
    erased; the log counts (as ``trace``) once it is archived, when the job is complete."""
    if j.erased_at is not None or j.status not in COMPLETED:
        return []
    kinds = [k for k in j.artifacts if k != "trace" or j.log]
    if j.log and "trace" not in kinds:
        kinds.append("trace")
    return kinds


def _artifact(kind: str, j: FakeJob) -> dict[str, Any]:
    filename, file_format, size = _ARTIFACT_FILES.get(kind, (f"{kind}.gz", "gzip", 100))
    size = j.artifact_sizes.get(kind, size)
    if kind == "trace":
        size = len(j.log)
    elif kind == "archive":
        size = _archive_size(j)
    return {"file_type": kind, "size": size, "filename": filename, "file_format": file_format}


def _archive_size(j: FakeJob) -> int:
    if j.archive is not None:
        return len(j.archive)
    return j.artifact_sizes.get("archive", _ARTIFACT_FILES["archive"][2])


def _runner(runner_id: int) -> dict[str, Any]:
    return {
        "id": runner_id,
        "description": f"shared-runner-{runner_id}",
        "ip_address": None,
        "active": True,
        "paused": False,
        "is_shared": True,
        "runner_type": "instance_type",
        "name": "gitlab-runner",
        "online": True,
        "created_at": iso(BASE_TIME - timedelta(days=90)),
        "status": "online",
        "job_execution_status": "active",
    }


def _runner_manager(runner_id: int) -> dict[str, Any]:
    return {
        "id": runner_id,
        "system_id": f"s_{runner_id:012x}",
        "version": "17.5.0",
        "revision": "8ec04662",
        "platform": "linux",
        "architecture": "amd64",
        "created_at": iso(BASE_TIME - timedelta(days=90)),
        "contacted_at": iso(BASE_TIME),
        "ip_address": "10.0.0.1",
        "status": "online",
        "job_execution_status": "active",
    }
