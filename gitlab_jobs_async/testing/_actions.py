"""What the job actions do to the store, once the routes have checked permissions (§2.4-2.7).

Pure state changes: each takes the store and the job, and counts what changed state in
``store.observed.actions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ._records import CANCELABLE, FakeJob, FakeProject, FakeUser
from ._state import Store

__all__ = [
    "cancel",
    "delete_artifacts",
    "delete_project_artifacts",
    "erase",
    "play",
    "playable",
    "retry",
    "unknown_inputs",
]


def cancel(store: Store, job: FakeJob, *, force: bool) -> None:
    """``cancel`` (or ``force_cancel``) event; a no-op in any other state (§2.4)."""
    now = datetime.now(UTC)
    if force:
        if job.status == "canceling":
            store.actions["cancel"] += 1
            job.set_status("canceled", now)
    elif job.status in CANCELABLE:
        store.actions["cancel"] += 1
        graceful = job.status == "running" and job.graceful_cancel
        job.set_status("canceling" if graceful else "canceled", now)


def unknown_inputs(job: FakeJob, given: Mapping[str, Any]) -> list[str]:
    """Names in ``given`` that ``job`` does not declare: job inputs are an explicit
    contract, and GitLab rejects inputs a job does not define."""
    return sorted(name for name in given if name not in job.inputs)


def retry(
    store: Store, job: FakeJob, user: FakeUser | None, inputs: Mapping[str, Any] | None = None
) -> FakeJob:
    """Retry ``job``: a new job, pending, run by ``user``; the old one is retried (§2.5)."""
    store.actions["retry"] += 1
    job.retried = True
    new = store._new_job(
        job.pipeline, job.kind, job.name, job.stage, "created", None, job.when, user
    )
    new.runner = job.runner
    new.runner_id = job.runner_id
    new.tag_list = job.tag_list
    new.allow_failure = job.allow_failure
    new.debug_trace = job.debug_trace
    new.graceful_cancel = job.graceful_cancel
    new.environment = job.environment
    new.inputs = {**job.inputs, **(inputs or {})}
    store._job_created(new)
    now = datetime.now(UTC)
    new.created_at = now
    new.set_status("pending", now)
    return new


def erase(store: Store, job: FakeJob) -> None:
    """Erase the log and artifacts of ``job`` (§2.6)."""
    store.actions["erase"] += 1
    job.erased_at = datetime.now(UTC)
    job.artifacts = ()
    job.archive = None
    job.files = {}
    job.log.clear()


def playable(job: FakeJob) -> bool:
    """A build per ``Ci::Build#playable?``; a bridge only while ``manual`` (§2.7)."""
    if job.is_bridge:
        return job.when == "manual" and not job.archived and job.status == "manual"
    return job.playable()


def play(
    store: Store,
    job: FakeJob,
    user: FakeUser | None,
    variables: list[dict[str, str]],
    inputs: Mapping[str, Any] | None = None,
) -> FakeJob:
    """Play a playable job: a waiting one is enqueued in place (same id); a finished one
    is retried, as ``Ci::PlayBuildService`` does, and the new job is returned."""
    store.actions["play"] += 1
    if job.status not in ("manual", "scheduled"):
        job = retry(store, job, user)
    job.variables = variables
    job.inputs = {**job.inputs, **(inputs or {})}
    job.user = user
    job.set_status("pending", datetime.now(UTC))
    return job


def delete_artifacts(job: FakeJob) -> None:
    """``Ci::JobArtifacts::DeleteService``: every artifact but the log."""
    job.archive = None
    job.files = {}
    job.artifacts = tuple(k for k in job.artifacts if k == "trace")


def delete_project_artifacts(project: FakeProject) -> int:
    """Expire the artifacts of every build of ``project``, except those of the latest
    successful pipeline of each ref, which GitLab keeps (locked); how many jobs lost some."""
    latest: dict[str, int] = {}
    for job in project.builds:
        pipeline = job.pipeline
        if pipeline.status == "success":
            latest[pipeline.ref] = max(latest.get(pipeline.ref, 0), pipeline.id)
    changed = 0
    for job in project.builds:
        if latest.get(job.pipeline.ref) == job.pipeline.id:
            continue
        if job.archive is not None or any(k != "trace" for k in job.artifacts):
            delete_artifacts(job)
            changed += 1
    return changed
