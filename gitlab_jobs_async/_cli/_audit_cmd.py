"""``audit``: read many projects' jobs at once, skip what cannot be read, print the report.
Strictly private.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .._client import GitLab
from .._errors import Forbidden, NotFound
from .._models import Job
from ._audit import AuditReport, audit
from ._fields import CSV_FIELDS, column, value
from ._output import Column, Output
from ._problems import ConfigError
from ._progress import AuditProgress, live_progress
from ._project import project_key, which_project
from ._settings import client
from ._text import parse_since

__all__ = ["cmd_audit", "print_audit", "run_audit"]

SKIPPABLE = (Forbidden, NotFound)
"""A project the token cannot read (403: a Guest, or CI disabled; 404: a typo, or
invisible) is skipped; any other failure (a refused token, the network) stops the audit."""


async def run_audit(
    gl: GitLab,
    projects: list[str],
    out: Output,
    *,
    scope: Any,  # statuses checked by argparse's choices
    since: datetime | None,
    strict: bool = False,
    relay: Any = None,
) -> tuple[AuditReport, list[tuple[str, Job]]]:
    """Read every project's jobs at once (one client budget), with progress on stderr.

    Returns the report and the ``(project, job)`` pairs it was made from.
    """
    pairs: list[tuple[str, Job]] = []
    skipped: list[dict[str, Any]] = []
    progress = AuditProgress.of(projects, time.monotonic(), since)

    async def read(name: str, draw: Callable[..., None]) -> None:
        jobs = gl.project_jobs.list(project_key(name), scope=scope, created_after=since)
        try:
            async for job in jobs:
                pairs.append((name, job))
                progress.job(name, job.created_at)
                draw()
        except SKIPPABLE as exc:
            if strict:
                raise
            progress.finish(name, "skipped")
            skipped.append({"project": name, "status": exc.status, "reason": exc.message})
            out.note(f"warning: skipped {name}: {exc.status} {_reason(exc)}")
        else:
            progress.finish(name)
        draw(True)  # a finished project is shown as done at once

    with live_progress(out, progress, relay) as draw:
        try:
            async with asyncio.TaskGroup() as group:
                for name in projects:
                    group.create_task(read(name, draw))
        except ExceptionGroup as failed:  # the first failure stops the audit: raise it alone
            raise failed.exceptions[0] from None
    report = audit(
        pairs,
        projects=[p for p in projects if p not in {s["project"] for s in skipped}],
        skipped=skipped,
    )
    return report, pairs


def _reason(exc: Forbidden | NotFound) -> str:
    words = exc.message.removeprefix(f"{exc.status} ")
    if isinstance(exc, NotFound):
        return f"{words} (no such project, or not visible to this token)"
    return f"{words} (the token's role cannot read its jobs, or CI is disabled there)"


def _tables(report: AuditReport) -> dict[str, tuple[str, list[Column], list[list[Any]], str]]:
    """Each section of the report: title, columns, rows, and what to say when empty."""
    return {
        "status": (
            "jobs by status",
            [Column("status", "status"), Column("jobs", "count")],
            [list(kv) for kv in report.by_status.items()],
            "no jobs",
        ),
        "reasons": (
            "failure reasons",
            [Column("reason"), Column("jobs", "count")],
            [list(kv) for kv in report.failure_reasons],
            "no failed jobs",
        ),
        "failing": (
            "jobs that fail most",
            [
                Column("project"),
                Column("job"),
                Column("failures", "count"),
                Column("last failed", "id", link="url"),
                Column("url", "url"),
            ],
            [
                [r["project"], r["name"], r["failures"], r["last_failed_job"], r["last_failure"]]
                for r in report.most_failing
            ],
            "no failed jobs",
        ),
        "flaky": (
            "flaky (failed, then passed on retry in the same pipeline)",
            [
                Column("project"),
                Column("pipeline", "id"),
                Column("job"),
                Column("failed attempts", "count"),
                Column("passing job", "id"),
            ],
            [
                [r["project"], r["pipeline"], r["name"], r["failed_attempts"], r["passed_job"]]
                for r in report.flaky
            ],
            "no flaky jobs",
        ),
        "stages": (
            "time by stage (finished jobs; queued: waiting for a runner)",
            [
                Column("stage"),
                Column("jobs", "count"),
                Column("duration p50", "duration"),
                Column("p95", "duration"),
                Column("queued p50", "duration"),
                Column("p95", "duration"),
            ],
            [
                [
                    r["stage"],
                    r["jobs"],
                    r["duration_p50"],
                    r["duration_p95"],
                    r["queued_p50"],
                    r["queued_p95"],
                ]
                for r in report.stages
            ],
            "no finished jobs",
        ),
    }


def print_audit(
    report: AuditReport,
    out: Output,
    *,
    table: str | None = None,
    pairs: list[tuple[str, Job]] | None = None,
    since: datetime | None = None,
) -> None:
    """The report: sections for people, one JSON document, or one CSV table."""
    if out.fmt == "json":
        out.json(report.as_dict())
        return
    sections = _tables(report)
    if out.fmt == "csv":
        if table in (None, "jobs"):
            rows = [[name, *(value(job, f) for f in CSV_FIELDS)] for name, job in pairs or []]
            out.csv(["project", *(column(f).header for f in CSV_FIELDS)], rows)
        else:
            _, columns, rows, _ = sections[table]
            out.csv([c.header.replace(" ", "_") for c in columns], rows)
        return
    count = len(report.projects)
    reach = f" since {since:%Y-%m-%d %H:%M} UTC" if since is not None else ""
    skipped = f" ({len(report.skipped)} skipped)" if report.skipped else ""
    out.heading(
        f"{report.total:,} job{'s' if report.total != 1 else ''} in {count} "
        f"project{'s' if count != 1 else ''}{reach}{skipped}"
    )
    for title, columns, rows, empty in sections.values():
        out.line()
        out.table(title, columns, rows, empty=empty)
    if report.skipped:
        out.line()
        out.table(
            "skipped",
            [Column("project"), Column("status", "id"), Column("reason")],
            [[s["project"], s["status"], s["reason"]] for s in report.skipped],
        )


async def cmd_audit(args: argparse.Namespace, out: Output) -> int:
    if args.table is not None and out.fmt != "csv":
        raise ConfigError("--table picks the table of --format csv; the other formats show all")
    since = None if args.since is None else parse_since(args.since, out.now)
    async with client(args, args.environ) as gl:
        projects = list(dict.fromkeys(args.projects))
        for group in args.group:
            projects += [
                p async for p in gl.groups.projects(project_key(group)) if p not in projects
            ]
        if not projects and not args.group:
            projects = [str(which_project(None, args.repo, args.environ))]
        if not projects:
            raise ConfigError(f"no projects in {', '.join(args.group)}")
        report, pairs = await run_audit(
            gl, projects, out, scope=args.scope, since=since, strict=args.strict, relay=args.relay
        )
    print_audit(report, out, table=args.table, pairs=pairs, since=since)
    if report.skipped:
        names = ", ".join(s["project"] for s in report.skipped)
        out.note(
            f"partial audit: {len(report.skipped)} of {len(projects)} projects skipped "
            f"({names}); --strict stops at the first"
        )
        return 7
    return 0
