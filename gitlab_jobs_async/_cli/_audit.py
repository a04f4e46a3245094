"""The audit's numbers, computed from jobs alone (pure; no I/O). Strictly private."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import attrs

from .._models import Job

__all__ = ["AuditReport", "audit", "percentile", "stage_order"]


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@attrs.frozen(kw_only=True)
class AuditReport:
    """What an audit found; :meth:`as_dict` is the ``--format json`` document."""

    projects: list[str]
    """Every project audited, with jobs or not (not the skipped ones)."""
    total: int
    by_status: dict[str, int]
    failure_reasons: list[tuple[str, int]]
    most_failing: list[dict[str, Any]]
    flaky: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    """In pipeline order."""
    skipped: list[dict[str, Any]] = attrs.field(factory=list)
    """Projects that could not be read: ``project``, ``status`` and ``reason``."""

    def as_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["failure_reasons"] = [{"reason": r, "count": n} for r, n in self.failure_reasons]
        return data


def stage_order(pipelines: Iterable[list[tuple[int, str]]]) -> list[str]:
    """Stages in pipeline order across pipelines, from each pipeline's ``(job id, stage)``.

    Within a pipeline GitLab creates jobs stage by stage, so a stage's first job id gives its
    rank there; stages are ordered by their mean rank (then name), so one pipeline without a
    stage does not reorder the others.
    """
    ranks: dict[str, list[float]] = defaultdict(list)
    for jobs in pipelines:
        first: dict[str, int] = {}
        for job_id, stage in jobs:
            first[stage] = min(first.get(stage, job_id), job_id)
        ordered = sorted(first, key=lambda s: first[s])
        for rank, stage in enumerate(ordered):
            ranks[stage].append(rank / max(1, len(ordered) - 1))
    return sorted(ranks, key=lambda s: (sum(ranks[s]) / len(ranks[s]), s))


def audit(
    jobs: Iterable[tuple[str, Job]],
    *,
    projects: Iterable[str] = (),
    skipped: Iterable[dict[str, Any]] = (),
    top: int = 10,
) -> AuditReport:
    """Summarise ``(project, job)`` pairs.

    * counts by status, and failure reasons ranked;
    * the job names that fail most (per project), with the newest failure's URL;
    * flaky jobs: in one pipeline, an attempt of a job failed and a later attempt of the same
      job (a retry) succeeded;
    * duration and queue time, p50 and p95, by stage (finished jobs only).
    """
    audited: set[str] = set(projects)
    by_status: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    failures: dict[tuple[str, str], list[Job]] = defaultdict(list)
    attempts: dict[tuple[str, int, str], list[Job]] = defaultdict(list)
    by_pipeline: dict[tuple[str, int], list[Job]] = defaultdict(list)
    durations: dict[str, list[float]] = defaultdict(list)
    queued: dict[str, list[float]] = defaultdict(list)
    total = 0
    for project, job in jobs:
        total += 1
        audited.add(project)
        status = str(job.status)
        by_status[status] += 1
        stage = job.stage or "(none)"
        if status == "failed":
            reasons[job.failure_reason or "unknown_failure"] += 1
            failures[(project, job.name)].append(job)
        if job.pipeline is not None:
            attempts[(project, job.pipeline.id, job.name)].append(job)
            by_pipeline[(project, job.pipeline.id)].append(job)
        if status in ("success", "failed") and job.duration is not None:
            durations[stage].append(job.duration)
        if job.queued_duration is not None and job.started_at is not None:
            queued[stage].append(job.queued_duration)
    most_failing: list[dict[str, Any]] = [
        {
            "project": project,
            "name": name,
            "failures": len(failed),
            "last_failed_job": max(failed, key=lambda j: j.id).id,
            "last_failure": max(failed, key=lambda j: j.id).web_url,
        }
        for (project, name), failed in failures.items()
    ]
    most_failing.sort(key=lambda row: (-row["failures"], row["project"], row["name"]))
    flaky: list[dict[str, Any]] = []
    for (project, pipeline_id, name), runs in sorted(attempts.items()):
        runs.sort(key=lambda j: j.id)
        first_fail = next((i for i, j in enumerate(runs) if j.status == "failed"), None)
        if first_fail is None:
            continue
        passed = next((j for j in runs[first_fail + 1 :] if j.status == "success"), None)
        if passed is not None:
            flaky.append(
                {
                    "project": project,
                    "pipeline": pipeline_id,
                    "name": name,
                    "failed_attempts": sum(j.status == "failed" for j in runs),
                    "passed_job": passed.id,
                }
            )
    ordered = stage_order(
        [(j.id, j.stage or "(none)") for j in runs] for runs in by_pipeline.values()
    )
    stages = [
        {
            "stage": stage,
            "jobs": len(durations[stage]),
            "duration_p50": percentile(durations[stage], 0.5),
            "duration_p95": percentile(durations[stage], 0.95),
            "queued_p50": percentile(queued[stage], 0.5),
            "queued_p95": percentile(queued[stage], 0.95),
        }
        for stage in ordered + sorted((set(durations) | set(queued)) - set(ordered))
        if stage in durations or stage in queued
    ]
    return AuditReport(
        projects=sorted(audited),
        total=total,
        by_status=dict(sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
        failure_reasons=reasons.most_common(),
        most_failing=most_failing[:top],
        flaky=flaky,
        stages=stages,
        skipped=list(skipped),
    )
