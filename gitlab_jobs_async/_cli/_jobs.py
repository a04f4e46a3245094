"""``list`` and ``show``: jobs as tables, JSON, JSON Lines or CSV. Strictly private."""

from __future__ import annotations

import argparse
import webbrowser
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import UTC, datetime

from .._models import Bridge, Job
from ._fields import CSV_FIELDS, TABLE_FIELDS, column, job_json, value
from ._lookup import find_job, job_target
from ._output import Column, Output, human
from ._problems import ConfigError
from ._project import which_project
from ._settings import client
from ._text import parse_since

__all__ = ["cmd_list", "cmd_show", "print_jobs", "since_of"]


def since_of(args: argparse.Namespace, out: Output) -> datetime | None:
    """``--since`` as an aware datetime, or ``None``."""
    return None if args.since is None else parse_since(args.since, out.now)


async def print_jobs(
    jobs: AsyncGenerator[Job, None] | Sequence[Job | Bridge],
    out: Output,
    fields: list[str] | None,
    title: str,
    *,
    empty: str = "no jobs",
) -> int:
    """Print jobs in the chosen format: JSON and JSON Lines stream as they arrive. Returns
    how many were printed."""
    if out.fmt in ("json", "jsonl"):
        count = 0
        with out.json_items() as write:
            if isinstance(jobs, Sequence):
                for job in jobs:
                    write(job_json(job, fields))
                    count += 1
            else:
                async with aclosing(jobs):
                    async for job in jobs:
                        write(job_json(job, fields))
                        count += 1
        return count
    if isinstance(jobs, Sequence):
        found = list(jobs)
    else:
        async with aclosing(jobs):
            found = [job async for job in jobs]
    names = fields or (CSV_FIELDS if out.fmt == "csv" else TABLE_FIELDS)
    columns = [column(n) for n in names]
    if out.rich and not fields and out.fmt == "table":  # each id a link to its job's page
        names = [*names, "web_url"]
        columns = [Column("id", "id", link="url"), *columns[1:], column("web_url")]
    out.table(
        title.format(count=len(found), s="" if len(found) == 1 else "s"),
        columns,
        [[value(j, n) for n in names] for j in found],
        empty=empty,
    )
    return len(found)


async def cmd_list(args: argparse.Namespace, out: Output) -> int:
    if args.pipeline is not None and args.since is not None:
        raise ConfigError(
            "--since does not apply to --pipeline (a pipeline's jobs are listed "
            "whole); use one or the other"
        )
    if len(args.target) > 1:
        raise ConfigError("list takes one PROJECT")
    project = which_project(args.target[0] if args.target else None, args.repo, args.environ)
    since = since_of(args, out)
    async with client(args, args.environ) as gl:
        if args.pipeline is not None:
            jobs = gl.pipeline_jobs.list(
                project, args.pipeline, scope=args.scope, max_items=args.limit
            )
            title = f"{{count}} job{{s}} of pipeline {args.pipeline} of {project}"
        else:
            jobs = gl.project_jobs.list(
                project,
                scope=args.scope,
                max_items=args.limit,
                created_after=since,
            )
            title = f"{{count}} job{{s}} of {project}"
        await print_jobs(jobs, out, args.fields, title)
    return 0


_SHOWN = [
    "id",
    "name",
    "status",
    "stage",
    "ref",
    "tag",
    "allow_failure",
    "failure_reason",
    "created_at",
    "started_at",
    "finished_at",
    "erased_at",
    "duration",
    "queued_duration",
    "coverage",
    "pipeline.id",
    "pipeline.status",
    "user.username",
    "commit.short_id",
    "commit.title",
    "runner.description",
    "artifacts_expire_at",
    "archived",
    "tag_list",
    "web_url",
]


async def cmd_show(args: argparse.Namespace, out: Output) -> int:
    project, text = job_target(args, args.environ)
    async with client(args, args.environ) as gl:
        job_id = await find_job(
            gl, project, text, pipeline=args.pipeline, branch=args.branch, environ=args.environ
        )
        job = await gl.project_jobs.get(project, job_id)
    if args.web and job.web_url:
        webbrowser.open(job.web_url)
    if out.fmt == "json":
        out.json(job_json(job, args.fields))
        return 0
    rows = []
    for name in args.fields or _SHOWN:
        shown = value(job, name)
        if shown in (None, (), ""):
            continue
        kind = column(name).kind
        text = human(shown, "text" if kind == "id" else kind, out.now)
        if isinstance(shown, datetime):
            text = f"{shown.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({text})"
        rows.append([name, text])
    out.table(f"job {job.id} ({job.name})", [Column("field"), Column("value")], rows)
    return 0
