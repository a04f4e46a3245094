"""What each ``gitlab-jobs`` command does, over the public SDK. Strictly private."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

from .._client import GitLab
from .._converter import converter
from .._logtext import LineDecoder, LogSection, SectionParser, strip_ansi, visible
from .._models import Bridge, Job
from ..testing import FakeGitLab
from ._audit import AuditReport, audit
from ._demo import cmd_serve, seed_demo
from ._output import Output
from ._settings import ConfigError, client
from ._watch import cmd_watch

__all__ = ["COMMANDS", "ConfigError"]


def parse_since(text: str | None) -> datetime | None:
    """``7d``, ``12h``, ``30m``, ``2w``, or an ISO date/datetime (UTC unless it says)."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: use 7d, 12h, 30m, 2w or a date like 2026-11-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _project(text: str) -> int | str:
    return int(text) if (text.isascii() and text.isdigit()) else text


def _row(job: Job | Bridge) -> list[Any]:
    duration = f"{job.duration:.0f}s" if job.duration is not None else ""
    created = job.created_at.strftime("%Y-%m-%d %H:%M") if job.created_at else ""
    return [
        job.id,
        str(job.status),
        job.stage,
        job.name,
        job.ref,
        duration,
        created,
        job.failure_reason or "",
    ]


PER_PAGE = 100  # the SDK's default page size, used by the audit

JOB_COLUMNS = ["id", "status", "stage", "name", "ref", "duration", "created", "failure"]


async def cmd_list(args: argparse.Namespace, out: Output) -> int:
    async with client(args) as gl:
        project = _project(args.project)
        if args.pipeline:
            jobs = gl.pipeline_jobs.list(
                project, args.pipeline, scope=args.scope or None, max_items=args.limit
            )
        else:
            jobs = gl.project_jobs.list(
                project,
                scope=args.scope or None,
                max_items=args.limit,
                created_after=parse_since(args.since),
            )
        found = [job async for job in jobs]
    if out.fmt == "json":
        out.json(converter.unstructure(found))
    else:
        out.table(f"{len(found)} jobs of {args.project}", JOB_COLUMNS, [_row(j) for j in found])
    return 0


async def cmd_show(args: argparse.Namespace, out: Output) -> int:
    async with client(args) as gl:
        job = await gl.project_jobs.get(_project(args.project), args.job)
    data = converter.unstructure(job)
    if out.fmt == "json":
        out.json(data)
    else:
        flat = [(k, v) for k, v in data.items() if not isinstance(v, dict | list)]
        flat += [
            ("pipeline", job.pipeline.id if job.pipeline else None),
            ("user", job.user.username if job.user else None),
        ]
        out.table(f"job {job.id}", ["field", "value"], flat)
    return 0


async def _write_log(
    chunks: AsyncGenerator[bytes, None], out: Output, *, raw: bool, sections: bool
) -> list[LogSection]:
    """Copy a log to stdout: bytes as they are on a terminal or with --raw; when piped, what a
    terminal would show, without colour codes or section-marker lines."""
    keep = raw or out.tty
    decoder = LineDecoder()
    parser = SectionParser()
    found: list[LogSection] = []
    sink = out.stream.buffer if hasattr(out.stream, "buffer") else None

    def take(lines: list[str]) -> None:
        for line in lines:
            if sections:
                found.extend(parser.feed_line(line))
            if not (keep and sink is not None):
                shown = strip_ansi(visible(line))
                if shown or "section_end:" not in line:
                    out.stream.write(shown + "\n")

    async with aclosing(chunks):
        async for chunk in chunks:
            if keep and sink is not None:
                sink.write(chunk)
                sink.flush()
            take(decoder.feed(chunk))
            out.stream.flush()
    take(decoder.flush())
    return sorted([*found, *parser.finish()], key=lambda s: (s.start_line, s.depth))


def _print_sections(found: list[LogSection], out: Output) -> None:
    rows = [
        [
            "  " * s.depth + s.name,
            f"{s.duration.total_seconds():.0f}s" if s.duration is not None else "open",
            s.start_line + 1,
            s.header,
        ]
        for s in found
    ]
    out.table("sections", ["section", "duration", "line", "header"], rows)


async def cmd_trace(args: argparse.Namespace, out: Output) -> int:
    async with client(args) as gl:
        project = _project(args.project)
        chunks = (
            gl.project_jobs.follow(project, args.job, poll=args.poll)
            if args.follow
            else gl.project_jobs.trace(project, args.job)
        )
        found = await _write_log(chunks, out, raw=args.raw, sections=args.sections)
    if args.sections:
        _print_sections(found, out)
    return 0


async def cmd_action(args: argparse.Namespace, out: Output) -> int:
    async with client(args) as gl:
        jobs, project = gl.project_jobs, _project(args.project)
        result: Job | Bridge
        if args.command == "cancel":
            result = await jobs.cancel(project, args.job, force=args.force)
        elif args.command == "retry":
            result = await jobs.retry(project, args.job)
        elif args.command == "erase":
            result = await jobs.erase(project, args.job)
        else:
            variables = dict(_variable(v) for v in args.var or [])
            result = await jobs.play(project, args.job, variables=variables or None)
    if out.fmt == "json":
        out.json(converter.unstructure(result))
    elif args.command == "retry":
        out.line(f"retried job {args.job} as job {result.id} ({result.status}): {result.web_url}")
    else:
        out.line(f"{args.command}: job {result.id} is {result.status}: {result.web_url}")
    return 0


def _variable(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--var {text!r}: use KEY=VALUE")
    return key, value


async def run_audit(
    gl: GitLab, projects: list[str], out: Output, *, scope: list[str] | None, since: datetime | None
) -> AuditReport:
    """List every project's jobs at once (one client budget), with live progress on a tty."""
    pairs: list[tuple[str, Job]] = []
    keys = [_project(p) for p in projects]
    stream = gl.project_jobs.list_many(keys, scope=scope, created_after=since)
    progress: Any = None
    seen: Counter[int | str] = Counter()
    if out.rich and out.fmt == "table":
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.completed} jobs"),
            TextColumn("{task.fields[pages]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=out._console,
        )
        overall = progress.add_task("all projects", total=None, rate="", pages="")
        tasks = {
            key: progress.add_task(f"  {key}", total=None, rate="", pages="0 pages") for key in keys
        }
        progress.start()
    try:
        async with aclosing(stream):
            async for key, job in stream:
                pairs.append((str(key), job))
                if progress is not None:
                    seen[key] += 1
                    # Pages are full but the last, so pages read = ceil(jobs / per_page).
                    pages = -(-seen[key] // PER_PAGE)
                    progress.update(tasks[key], advance=1, pages=f"{pages} pages")
                    elapsed = progress.tasks[overall].elapsed or 0.0
                    rate = f"{len(pairs) / elapsed:.0f} jobs/s" if elapsed > 0.1 else ""
                    progress.update(overall, advance=1, rate=rate)
    finally:
        if progress is not None:
            progress.stop()
    return audit(pairs)


def print_audit(report: AuditReport, out: Output) -> None:
    if out.fmt == "json":
        out.json(report.as_dict())
        return
    out.table(
        f"{report.total} jobs in {len(report.projects)} projects",
        ["status", "jobs"],
        list(report.by_status.items()),
    )
    out.line()
    out.table("failure reasons", ["reason", "jobs"], report.failure_reasons)
    out.line()
    out.table(
        "jobs that fail most",
        ["project", "job", "failures", "last failure"],
        [[r["project"], r["name"], r["failures"], r["last_failure"]] for r in report.most_failing],
    )
    out.line()
    out.table(
        "flaky (failed, then passed on retry in the same pipeline)",
        ["project", "pipeline", "job", "failed attempts", "passing job"],
        [
            [r["project"], r["pipeline"], r["name"], r["failed_attempts"], r["passed_job"]]
            for r in report.flaky
        ],
    )
    out.line()

    def secs(v: float | None) -> str:
        return "" if v is None else f"{v:.0f}s"

    out.table(
        "time by stage",
        ["stage", "jobs", "duration p50", "p95", "queued p50", "p95"],
        [
            [
                r["stage"],
                r["jobs"],
                secs(r["duration_p50"]),
                secs(r["duration_p95"]),
                secs(r["queued_p50"]),
                secs(r["queued_p95"]),
            ]
            for r in report.stages
        ],
    )


async def cmd_audit(args: argparse.Namespace, out: Output) -> int:
    since = parse_since(args.since)
    async with client(args) as gl:
        projects = list(args.projects)
        for group in args.group:
            projects += [p async for p in gl.groups.projects(_project(group)) if p not in projects]
        if not projects:
            raise ConfigError("audit needs PROJECT arguments or --group")
        report = await run_audit(gl, projects, out, scope=args.scope or None, since=since)
    print_audit(report, out)
    return 0


async def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    async with FakeGitLab() as fake:
        demo = seed_demo(fake)
        out.line(
            f"A fake GitLab is running at {fake.url} with {len(fake.jobs)} jobs in "
            f"{len(demo.projects)} projects. Auditing them:"
        )
        out.line()
        async with GitLab(fake.url, private_token=demo.token) as gl:
            report = await run_audit(gl, demo.projects, out, scope=None, since=None)
            print_audit(report, out)
            out.line()
            out.line(
                f"Following the running job {demo.running.id} "
                f"({demo.running.name}) of {demo.running_project}:"
            )
            chunks = gl.project_jobs.follow(
                demo.running_project, demo.running.id, poll=0.05, max_poll=0.2
            )
            found = await _write_log(chunks, out, raw=False, sections=True)
        _print_sections(found, out)
        done = fake.jobs[demo.running.id]
        out.line(f"job {done.id} finished: {done.status}")
    return 0


COMMANDS = {
    "list": cmd_list,
    "show": cmd_show,
    "trace": cmd_trace,
    "cancel": cmd_action,
    "retry": cmd_action,
    "erase": cmd_action,
    "play": cmd_action,
    "audit": cmd_audit,
    "demo": cmd_demo,
    "serve": cmd_serve,
    "watch": cmd_watch,
}
