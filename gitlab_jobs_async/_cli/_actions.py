"""``cancel``, ``retry``, ``erase``, ``play`` and ``retry-failed``. Strictly private.

A retry or a play may reach GitLab even when its answer is lost; the SDK then raises
``OutcomeUnknown`` and never sends it again, and neither does this command line: it says
which jobs to check.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .._errors import OutcomeUnknown
from .._models import Bridge, Job
from ._fields import job_json
from ._lookup import find_job, find_pipeline, job_target, pipeline_target
from ._output import Column, Output
from ._problems import ConfigError
from ._settings import client

__all__ = ["cmd_action", "cmd_retry_failed", "confirm"]


def _variable(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--var {text!r}: use KEY=VALUE")
    return key, value


async def confirm(question: str, out: Output) -> bool:
    """Ask on the terminal; refuse (exit 2) without one, since nobody can answer.

    Raises:
        ConfigError: stdin is not a terminal.
    """
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise ConfigError(f"{question} Not asked: stdin is not a terminal; pass --yes")
    out.err.write(f"{question} [y/N] ")
    out.err.flush()
    answer = await asyncio.to_thread(stdin.readline)
    return answer.strip().lower() in ("y", "yes")


async def cmd_action(args: argparse.Namespace, out: Output) -> int:
    project, text = job_target(args, args.environ)
    variables = dict(_variable(v) for v in getattr(args, "var", None) or [])
    async with client(args, args.environ) as gl:
        jobs = gl.project_jobs
        job_id = await find_job(
            gl, project, text, pipeline=args.pipeline, branch=args.branch, environ=args.environ
        )
        result: Job | Bridge
        if args.command == "cancel":
            result = await jobs.cancel(project, job_id, force=args.force)
        elif args.command == "retry":
            result = await jobs.retry(project, job_id)
        elif args.command == "erase":
            if not args.yes:
                job = await jobs.get(project, job_id)
                question = f"Erase the log and artifacts of job {job.id} ({job.name})?"
                if not await confirm(question, out):
                    out.note("not erased")
                    return 1
            result = await jobs.erase(project, job_id)
        else:
            result = await jobs.play(project, job_id, variables=variables or None)
    if out.fmt == "json":
        out.json(job_json(result))
    elif args.command == "retry":
        out.line(f"retried job {job_id} as job {result.id} ({result.status}): {result.web_url}")
    else:
        out.line(f"{args.command}: job {result.id} is {result.status}: {result.web_url}")
    return 0


async def cmd_retry_failed(args: argparse.Namespace, out: Output) -> int:
    """Retry each failed job of a pipeline once (its newest attempt only)."""
    project, given = pipeline_target(args, args.environ)
    rows: list[list[object]] = []
    unknown: list[int] = []
    async with client(args, args.environ) as gl:
        pipeline = await find_pipeline(
            gl, project, pipeline=given, branch=args.branch, environ=args.environ
        )
        # Without include_retried, only each job's newest attempt is listed: a job already
        # retried (by anyone) is not retried again.
        failed = [j async for j in gl.pipeline_jobs.list(project, pipeline, scope="failed")]
        for job in sorted(failed, key=lambda j: j.id):
            try:
                new = await gl.project_jobs.retry(project, job.id)
            except OutcomeUnknown:
                unknown.append(job.id)
                rows.append([job.id, job.name, None, "unknown: check before retrying again"])
                continue
            rows.append([job.id, job.name, new.id, str(new.status)])
    columns = [
        Column("failed job", "id"),
        Column("name"),
        Column("new job", "id"),
        Column("status", "status"),
    ]
    out.table(
        f"pipeline {pipeline}: {len(failed)} failed job{'s' if len(failed) != 1 else ''}",
        columns,
        rows,
        empty="no failed jobs: nothing to retry",
    )
    if unknown:
        out.note(
            f"the retry of job{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(str, unknown))} may or may not have reached GitLab; it was not "
            f"sent again: look at pipeline {pipeline} before retrying"
        )
        return 7
    return 0
