"""``gitlab-jobs watch PROJECT...``: job transitions printed as they are found. Strictly private.

One line per transition (a new job, a status change), as ``ProjectJobs.watch()`` finds them
by polling; ``--format json`` prints JSON Lines instead, one object per transition, and
``--format csv`` a header and a row per transition. Each line
is flushed at once, so a pipe (``| grep failed``) sees it live. Runs until Ctrl-C, or until
``--count`` transitions were printed.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from functools import partial
from typing import Any

from .._merge import merge
from .._services._watching import Sleep
from ..webhooks import JobEvent
from ._output import Output
from ._settings import ConfigError, client

__all__ = ["cmd_watch", "event_line", "event_record"]


def event_record(project: str, event: JobEvent) -> dict[str, Any]:
    """What ``--format json`` prints for one transition."""

    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "project": project,
        "project_id": event.project_id,
        "job_id": event.job_id,
        "name": event.name,
        "stage": event.stage,
        "status": str(event.status),
        "failure_reason": event.failure_reason,
        "pipeline_id": event.pipeline_id,
        "ref": event.ref,
        "created_at": stamp(event.created_at),
        "started_at": stamp(event.started_at),
        "finished_at": stamp(event.finished_at),
        "duration": event.duration,
    }


def event_line(project: str, event: JobEvent, now: datetime) -> str:
    """One transition for people: when it was found, where, which job, what it is now."""
    reason = f" ({event.failure_reason})" if event.failure_reason else ""
    return (
        f"{now.strftime('%H:%M:%S')}  {project}  job {event.job_id} {event.name} "
        f"[{event.stage}]  {event.status}{reason}"
    )


async def cmd_watch(
    args: argparse.Namespace,
    out: Output,
    *,
    sleep: Sleep | None = None,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Watch every project at once; print each transition; 0 after ``--count`` of them."""
    now = clock or partial(datetime.now, UTC)
    if args.count is not None and args.count < 1:
        raise ConfigError("--count must be at least 1")
    projects = [int(p) if p.isascii() and p.isdigit() else p for p in args.projects]
    async with client(args, args.environ) as gl:

        def watch(project: int | str) -> AsyncGenerator[JobEvent, None]:
            return gl.project_jobs.watch(
                project,
                poll=args.poll,
                status=args.status or None,
                existing=args.existing,
                sleep=sleep,
            )

        # Checked now (bad --status or --poll), before any request.
        for project in projects:
            await watch(project).aclose()
        printed = 0
        rows = csv.writer(out.stream, lineterminator="\n")
        stream = merge([(str(p), partial(watch, p)) for p in projects])
        async with aclosing(stream):
            async for project, event in stream:
                record = event_record(project, event)
                if out.fmt == "json":
                    out.stream.write(json.dumps(record) + "\n")
                elif out.fmt == "csv":
                    if not printed:
                        rows.writerow(record)
                    rows.writerow(record.values())
                else:
                    out.line(event_line(project, event, now()))
                out.stream.flush()
                printed += 1
                if args.count is not None and printed >= args.count:
                    break
    return 0
