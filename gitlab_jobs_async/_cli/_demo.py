"""``gitlab-jobs demo`` and ``serve``: the fake GitLab with a realistic, deterministic data set.
Strictly private; the only commands that import the fake (``gitlab_jobs_async.testing``).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import shlex

import attrs

from .._client import GitLab
from ..testing import FakeGitLab, FakeJob, generate
from ..testing._generator import log_text
from ..testing._records import JobStatus
from ._audit_cmd import print_audit, run_audit
from ._output import Output
from ._problems import ConfigError
from ._trace import final_line, print_sections, write_log

__all__ = ["Demo", "cmd_demo", "cmd_serve", "seed_demo"]

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


def _use_token(fake: FakeGitLab, demo: Demo, wanted: str) -> Demo:
    """Give the seeded user the token ``wanted`` instead of a new random one."""
    if not wanted.isascii() or not wanted.isprintable() or " " in wanted:
        raise ConfigError("--token: use printable ASCII without spaces")
    record = fake.tokens.pop(demo.token)
    fake.tokens[wanted] = attrs.evolve(record, value=wanted)
    return attrs.evolve(demo, token=wanted)


async def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    async with FakeGitLab() as fake:
        demo = seed_demo(fake)
        out.line(
            f"A fake GitLab is running at {fake.url} with {len(fake.jobs)} jobs in "
            f"{len(demo.projects)} projects. Auditing them:"
        )
        out.line()
        async with GitLab(fake.url, private_token=demo.token) as gl:
            report, _ = await run_audit(
                gl, demo.projects, out, scope=None, since=None, relay=args.relay
            )
            print_audit(report, out)
            out.line()
            out.line(
                f"Following the running job {demo.running.id} "
                f"({demo.running.name}) of {demo.running_project}:"
            )
            chunks = gl.project_jobs.follow(
                demo.running_project, demo.running.id, poll=0.05, max_poll=0.2
            )
            found = await write_log(chunks, out, raw=False, sections=True)
            done = await gl.project_jobs.get(demo.running_project, demo.running.id)
        print_sections(found, out)
        out.line(final_line(done))
    return 0


async def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    """``gitlab-jobs serve``: the demo data on a fake GitLab until Ctrl-C, optionally under
    GitLab.com's rate limits (``--rate-limits gitlab.com``)."""
    fake = FakeGitLab(port=args.port, rate_limits=args.rate_limits)
    try:
        await fake.start()
    except OSError as exc:
        await fake.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"--port {args.port}: that port is in use on 127.0.0.1") from None
        raise ConfigError(f"--port {args.port}: cannot listen there ({exc.strerror})") from None
    try:
        demo = seed_demo(fake)
        if args.serve_token:
            demo = _use_token(fake, demo, args.serve_token)
        out.line(f"fake GitLab: {fake.url}")
        out.line(f"token:       {demo.token}")
        out.line(f"projects:    {', '.join(demo.projects)}")
        if args.rate_limits != "off":
            shown = ", ".join(f"{r.name} {r.limit}/{r.period}s" for r in fake.knobs.rate_limits)
            out.line(f"rate limits: {shown}")
        out.line(
            f"export GITLAB_URL={shlex.quote(fake.url)} GITLAB_TOKEN={shlex.quote(demo.token)}"
        )
        out.line("Ctrl-C stops it.")
        out.stream.flush()
        await asyncio.Event().wait()
    finally:
        await fake.close()
    return 0  # pragma: no cover - only Ctrl-C ends it
