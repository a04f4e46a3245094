"""``pipeline`` (its jobs by stage, ``--watch`` until it ends) and ``logs`` (of its failed
jobs). Strictly private.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import webbrowser
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any

from .._client import GitLab
from .._logtext import LineDecoder
from .._models import Bridge, Job
from ._audit import stage_order as pipelines_stage_order
from ._jobs import print_jobs
from ._lookup import find_pipeline, pipeline_target
from ._output import Column, Output
from ._problems import ConfigError
from ._settings import client
from ._trace import FINISHED, render_line, write_log

__all__ = ["cmd_logs", "cmd_pipeline", "pipeline_rows", "stage_order", "watch_over"]

# A pipeline waiting on a manual job ("blocked") goes nowhere by itself: watching stops.
_SETTLED = FINISHED | {"manual"}


def stage_order(jobs: Sequence[Job | Bridge]) -> list[str]:
    """The stages of one pipeline's jobs, in pipeline order (see :func:`._audit.stage_order`)."""
    return pipelines_stage_order([[(j.id, j.stage or "") for j in jobs]])


def _ordered(jobs: Sequence[Job | Bridge]) -> list[Job | Bridge]:
    rank = {s: i for i, s in enumerate(stage_order(jobs))}
    return sorted(jobs, key=lambda j: (rank[j.stage or ""], j.name, j.id))


def pipeline_rows(jobs: Sequence[Job | Bridge]) -> list[list[Any]]:
    """Table rows by stage, the stage named on its first row only."""
    rows: list[list[Any]] = []
    previous: str | None = None
    for job in _ordered(jobs):
        stage = job.stage or ""
        name = job.name
        if isinstance(job, Bridge) and job.downstream_pipeline is not None:
            name += f" → pipeline {job.downstream_pipeline.id}"
        rows.append(
            [
                stage if stage != previous else "",
                job.id,
                name,
                str(job.status),
                job.duration,
                job.failure_reason,
            ]
        )
        previous = stage
    return rows


COLUMNS = [
    Column("stage"),
    Column("id", "id"),
    Column("name"),
    Column("status", "status"),
    Column("duration", "duration"),
    Column("failure"),
]


def pipeline_status(jobs: Sequence[Job | Bridge]) -> str:
    """The pipeline's status, as its jobs carry it (the newest read)."""
    newest = max((j for j in jobs if j.pipeline is not None), key=lambda j: j.id, default=None)
    return str(newest.pipeline.status) if newest and newest.pipeline else "unknown"


def watch_over(status: str) -> bool:
    """Whether watching a pipeline in ``status`` can stop."""
    return status in _SETTLED


async def _read(gl: GitLab, project: int | str, pipeline: int) -> list[Job | Bridge]:
    jobs: list[Job | Bridge] = [j async for j in gl.pipeline_jobs.list(project, pipeline)]
    jobs += [b async for b in gl.bridges.list(project, pipeline)]
    return jobs


def _title(project: int | str, pipeline: int, jobs: Sequence[Job | Bridge]) -> str:
    ref = next((j.ref for j in jobs if j.ref), None)
    on = f" on {ref}" if ref else ""
    return f"pipeline {pipeline} of {project}{on}: {pipeline_status(jobs)}"


async def cmd_pipeline(args: argparse.Namespace, out: Output) -> int:
    project, given = pipeline_target(args, args.environ)
    if args.interval is not None and not args.watch:
        raise ConfigError("--interval sets how often --watch reads; add --watch or drop it")
    interval = 5.0 if args.interval is None else args.interval
    async with client(args, args.environ) as gl:
        pipeline = await find_pipeline(
            gl, project, pipeline=given, branch=args.branch, environ=args.environ
        )
        jobs = await _read(gl, project, pipeline)
        if args.web:
            url = next(
                (j.pipeline.web_url for j in jobs if j.pipeline and j.pipeline.web_url), None
            )
            if url:
                webbrowser.open(url)
        if args.watch:
            jobs = await _watch(gl, project, pipeline, jobs, out, interval)
    if out.fmt != "table" or args.fields:
        await print_jobs(_ordered(jobs), out, args.fields, _title(project, pipeline, jobs))
    elif not (args.watch and out.rich):  # a live view already shows the last state
        out.table(
            _title(project, pipeline, jobs),
            COLUMNS,
            pipeline_rows(jobs),
            empty="no jobs in this pipeline",
        )
    status = pipeline_status(jobs)
    if args.watch or args.exit_status:
        if args.watch or out.fmt != "table":
            out.note(f"pipeline {pipeline} {status}")
        return 0 if status == "success" else 8
    return 0


async def _watch(
    gl: GitLab,
    project: int | str,
    pipeline: int,
    jobs: list[Job | Bridge],
    out: Output,
    interval: float,
) -> list[Job | Bridge]:
    """Read the pipeline every ``interval`` seconds until it settles: redrawn in place on a
    terminal, one line per job that changed otherwise."""
    live: Any = None
    if out.rich and out.fmt == "table":
        from rich.live import Live

        live = Live(console=out._console, auto_refresh=False)
        live.start()
    seen = {j.id: str(j.status) for j in jobs}
    try:
        while True:
            if live is not None:
                live.update(_renderable(out, project, pipeline, jobs), refresh=True)
            if watch_over(pipeline_status(jobs)):
                return jobs
            await asyncio.sleep(interval)
            jobs = await _read(gl, project, pipeline)
            if live is None and out.fmt == "table":
                for job in _ordered(jobs):
                    if seen.get(job.id) != str(job.status):
                        out.line(f"{job.stage or ''} {job.name} (job {job.id}): {job.status}")
                    seen[job.id] = str(job.status)
    finally:
        if live is not None:
            live.stop()


def _renderable(out: Output, project: int | str, pipeline: int, jobs: list[Job | Bridge]) -> Any:
    return out.rich_view(_title(project, pipeline, jobs), COLUMNS, pipeline_rows(jobs))


async def cmd_logs(args: argparse.Namespace, out: Output) -> int:
    project, given = pipeline_target(args, args.environ)
    async with client(args, args.environ) as gl:
        pipeline = await find_pipeline(
            gl, project, pipeline=given, branch=args.branch, environ=args.environ
        )
        scope = None if args.all else "failed"
        jobs = [j async for j in gl.pipeline_jobs.list(project, pipeline, scope=scope)]
        if not jobs:
            out.line(f"pipeline {pipeline} has no {'jobs' if args.all else 'failed jobs'}")
            return 0
        for job in _ordered(jobs):
            why = f": {job.failure_reason}" if job.failure_reason else ""
            out.heading(f"── job {job.id} {job.name} ({job.status}{why}) ──")
            chunks = gl.project_jobs.trace(project, job.id)
            if args.tail is None:
                await write_log(chunks, out, raw=False, sections=False)
            else:
                await _tail(chunks, out, args.tail)
    return 0


async def _tail(chunks: AsyncGenerator[bytes, None], out: Output, count: int) -> None:
    """Only the last ``count`` lines of a log, as :func:`write_log` would show them."""
    decoder = LineDecoder()
    last: collections.deque[str] = collections.deque(maxlen=count)
    colour = out.tty and out.colour
    async with aclosing(chunks):
        async for chunk in chunks:
            for line in decoder.feed(chunk):
                shown = render_line(line, colour=colour)
                if shown is not None:
                    last.append(shown)
    for line in decoder.flush():
        shown = render_line(line, colour=colour)
        if shown is not None:
            last.append(shown)
    out.stream.write("".join(line + "\n" for line in last))
    out.stream.flush()
