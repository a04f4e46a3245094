"""A realistic, deterministic data set for ``gitlab-jobs demo`` and ``serve``. Strictly private."""

from __future__ import annotations

import argparse
import asyncio
import sys

import attrs

from ..testing import FakeGitLab, FakeJob, generate
from ..testing._generator import log_text
from ..testing._records import JobStatus
from ._output import Output

__all__ = ["Demo", "cmd_serve", "seed_demo"]

PATHS = ["acme/web/frontend", "acme/web/backend", "acme/platform/infra"]


@attrs.frozen
class Demo:
    """What :func:`seed_demo` made."""

    token: str
    projects: list[str]
    running: FakeJob
    running_project: str


def seed_demo(fake: FakeGitLab, *, pipelines: int = 40) -> Demo:
    """Three projects of ``pipelines`` pipelines each from the fake's realistic generator
    (failures, retries, manual deploys), and one running job whose log grows each time
    its status is read, until it succeeds."""
    made = generate(fake, projects=PATHS, pipelines=pipelines, failure_rate=0.12, seed=2028)
    running = next(j for j in made.jobs if j.project is made.projects[0] and j.status == "running")
    namesake = next((j for j in running.pipeline.jobs if j.name == "e2e"), None)
    if namesake is not None:  # the followed job is the pipeline's e2e run
        namesake.name = running.name
    running.name = "e2e"
    full = log_text(running.name, True)
    running.log[:] = b"\n".join(full.split(b"\n")[:6]) + b"\n"
    steps: list[tuple[bytes, JobStatus | None]] = [
        (f"e2e spec {n}/10 passed\n".encode(), None) for n in range(1, 11)
    ]
    end = b"\x1b[32;1mJob succeeded\x1b[0;m\nsection_end:1764000064:step_script\r\x1b[0K\n"
    fake.script_log(running, [*steps, (end, "success")])
    return Demo(made.token, made.paths, running, PATHS[0])


async def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    """``gitlab-jobs serve``: the demo data on a fake GitLab until Ctrl-C, optionally under
    GitLab.com's rate limits (``--rate-limits gitlab.com``)."""
    async with FakeGitLab(port=args.port, rate_limits=args.rate_limits) as fake:
        demo = seed_demo(fake)
        out.line(f"fake GitLab: {fake.url}")
        out.line(f"token:       {demo.token}")
        out.line(f"projects:    {', '.join(demo.projects)}")
        if args.rate_limits != "off":
            shown = ", ".join(f"{r.name} {r.limit}/{r.period}s" for r in fake.knobs.rate_limits)
            out.line(f"rate limits: {shown}")
        out.line("Ctrl-C stops it.")
        sys.stdout.flush()
        await asyncio.Event().wait()
    return 0  # pragma: no cover - only Ctrl-C ends it
