"""``trace``: a job's log on a terminal or a pipe, followed, timed by section. Strictly private.

A log is the output of a job's script, so what it holds is not ours to send to a terminal
as it is. Each line is shown as a terminal would show it (redraws resolved, section markers
hidden, lines that held only a marker dropped); colour codes (SGR) are kept on a terminal
unless ``NO_COLOR``; every other escape sequence is removed and other control characters
are made visible. ``--raw`` writes the log's bytes untouched.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing

from .._logtext import LineDecoder, LogSection, SectionParser, strip_ansi, visible
from .._models import Bridge, Job
from ._lookup import find_job, job_target
from ._output import Column, Output
from ._problems import ConfigError
from ._settings import client
from ._text import duration, printable

__all__ = [
    "FINISHED",
    "cmd_trace",
    "final_line",
    "print_sections",
    "render_line",
    "waiting_note",
    "write_log",
]

# Once the models have `job.is_finished` (an open JobStatus), these sets can go.
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_MARKERS = ("section_start:", "section_end:")


def render_line(line: str, *, colour: bool) -> str | None:
    """What to print for one log line, or ``None`` for a line that held only markers."""
    shown = visible(line)
    pieces = _SGR.split(shown)
    codes = _SGR.findall(shown)
    text = [printable(strip_ansi(p)) for p in pieces]
    if not "".join(text).strip() and any(m in line for m in _MARKERS):
        return None
    if not colour or not codes:
        return "".join(text)
    mixed = [part for pair in zip(text, [*codes, ""], strict=True) for part in pair]
    return "".join(mixed) + "\x1b[0m"


async def write_log(
    chunks: AsyncGenerator[bytes, None], out: Output, *, raw: bool, sections: bool
) -> list[LogSection]:
    """Copy a log to stdout (the module docstring's rules) and return its sections."""
    decoder = LineDecoder()
    parser = SectionParser()
    found: list[LogSection] = []
    sink = out.stream.buffer if raw and hasattr(out.stream, "buffer") else None
    colour = out.tty and out.colour

    def take(lines: list[str]) -> None:
        for line in lines:
            if sections:
                found.extend(parser.feed_line(line))
            if sink is None:
                shown = render_line(line, colour=colour)
                if shown is not None:
                    out.stream.write(shown + "\n")

    async with aclosing(chunks):
        async for chunk in chunks:
            if sink is not None:
                sink.write(chunk)
                sink.flush()
            take(decoder.feed(chunk))
            out.stream.flush()
    take(decoder.flush())
    out.stream.flush()
    return sorted([*found, *parser.finish()], key=lambda s: (s.start_line, s.depth))


def print_sections(found: list[LogSection], out: Output) -> None:
    rows = [
        [
            "  " * s.depth + s.name,
            s.duration.total_seconds() if s.duration is not None else None,
            s.start_line + 1,
            s.header,
        ]
        for s in found
    ]
    columns = [
        Column("section"),
        Column("duration", "duration"),
        Column("line", "count"),
        Column("header"),
    ]
    out.table("sections", columns, rows, empty="no sections in this log")


def waiting_note(job: Job | Bridge, project: int | str) -> str | None:
    """What a job that has not started waits for, and how to get it going."""
    play = f"gitlab-jobs play -R {project} {job.id}"
    notes = {
        "manual": f"it is manual: it starts when someone plays it ({play})",
        "scheduled": f"it is scheduled: it starts at its time, or now with {play}",
        "pending": "it is pending: waiting for a runner to pick it up "
        "(is a runner with its tags online?)",
        "created": "it is created: waiting for the jobs it needs (earlier stages) to finish",
        "waiting_for_resource": "it waits for its resource group to be free",
        "waiting_for_callback": "it waits for an external callback",
        "preparing": "a runner is preparing its environment",
        "canceling": "it is being canceled",
    }
    note = notes.get(str(job.status))
    return None if note is None else f"job {job.id} ({job.name}): {note}; waiting…"


def final_line(job: Job | Bridge) -> str:
    """The status line after a log: how the job ended, how long it took, where it is."""
    status = str(job.status)
    took = f" in {duration(job.duration)}" if job.duration is not None else ""
    why = f" ({job.failure_reason})" if job.failure_reason else ""
    allowed = " (allowed to fail)" if status == "failed" and job.allow_failure else ""
    where = f": {job.web_url}" if job.web_url else ""
    return f"job {job.id} ({job.name}) {status}{why}{allowed}{took}{where}"


async def cmd_trace(args: argparse.Namespace, out: Output) -> int:
    project, text = job_target(args, args.environ)
    if args.poll is not None and not args.follow:
        raise ConfigError("--poll sets how often -f reads the log; add -f or drop it")
    poll = 3.0 if args.poll is None else args.poll
    async with client(args, args.environ) as gl:
        job_id = await find_job(
            gl, project, text, pipeline=args.pipeline, branch=args.branch, environ=args.environ
        )
        watch = args.follow or args.exit_status
        if args.follow:
            note = waiting_note(await gl.project_jobs.get(project, job_id), project)
            if note:
                out.note(note)
            chunks = gl.project_jobs.follow(project, job_id, poll=poll, max_poll=max(30.0, poll))
        else:
            chunks = gl.project_jobs.trace(project, job_id)
        found = await write_log(chunks, out, raw=args.raw, sections=args.sections)
        final = await gl.project_jobs.get(project, job_id) if watch else None
    if args.sections:
        print_sections(found, out)
    if final is None:
        return 0
    out.note(final_line(final))
    if args.exit_status and str(final.status) != "success":
        return 8
    return 0
