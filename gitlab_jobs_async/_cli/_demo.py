"""A realistic, deterministic data set for ``gitlab-jobs demo`` and ``serve``. Strictly private."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys

import attrs

from ..testing import FakeGitLab, FakeJob
from ._output import Output

__all__ = ["Demo", "cmd_serve", "seed_demo"]

STAGES = (("build", ("compile", "docker-image")), ("test", ("rspec", "jest", "lint", "e2e")),
          ("deploy", ("deploy-staging",)))  # fmt: skip
REASONS = ("script_failure", "script_failure", "script_failure", "stuck_or_timeout_failure",
           "runner_system_failure", "job_execution_timeout")  # fmt: skip


@attrs.frozen
class Demo:
    """What :func:`seed_demo` made."""

    token: str
    projects: list[str]
    running: FakeJob
    running_project: str


def _log(name: str, ok: bool) -> bytes:
    lines = [
        "\x1b[0KRunning with gitlab-runner 17.5.0 (8ec04662)",
        "section_start:1764000000:prepare_executor\r\x1b[0K\x1b[36;1mPreparing\x1b[0;m",
        "Using Docker executor with image ruby:3.3",
        "section_end:1764000004:prepare_executor\r\x1b[0K",
        f"section_start:1764000004:step_script\r\x1b[0K\x1b[36;1mRunning {name}\x1b[0;m",
        f"$ ./ci/{name}.sh",
        "\x1b[32;1mJob succeeded\x1b[0;m" if ok else "\x1b[31;1mERROR: exit code 1\x1b[0;m",
        "section_end:1764000064:step_script\r\x1b[0K",
    ]
    return ("\n".join(lines) + "\n").encode()


def seed_demo(fake: FakeGitLab, *, pipelines: int = 40) -> Demo:
    """Three projects, ``pipelines`` pipelines each, with failures, retries (some flaky),
    manual jobs, and one running job whose log grows each time its status is read."""
    rng = random.Random(2026)
    user = fake.add_user("demo", name="Demo User")
    token = fake.add_personal_token(user)
    paths = ["acme/web/frontend", "acme/web/backend", "acme/platform/infra"]
    running: FakeJob | None = None
    for index, path in enumerate(paths):
        project = fake.add_project(path)
        fake.add_member(project, user, "maintainer")
        flakiness = 0.05 + 0.07 * index
        for number in range(pipelines):
            pipeline = fake.add_pipeline(
                project, ref="main", user=user, status="success", source=rng.choice(("push", "web"))
            )
            last = number == pipelines - 1
            for stage, names in STAGES:
                for name in names:
                    if stage == "deploy":
                        fake.add_job(
                            pipeline,
                            name=name,
                            stage=stage,
                            status="manual",
                            when="manual",
                            user=user,
                        )
                        continue
                    if last and index == 0 and name == "e2e":
                        head = b"\n".join(_log(name, True).split(b"\n")[:6]) + b"\n"
                        running = fake.add_job(
                            pipeline, name=name, stage=stage, status="running", user=user, log=head
                        )
                        continue
                    failed = rng.random() < flakiness
                    fake.add_job(
                        pipeline,
                        name=name,
                        stage=stage,
                        status="failed" if failed else "success",
                        failure_reason=rng.choice(REASONS) if failed else None,
                        user=user,
                        log=_log(name, not failed),
                        artifacts=("junit",) if stage == "test" else (),
                    )
                    if failed and rng.random() < 0.6:  # retried: flaky when it then passes
                        passed = rng.random() < 0.8
                        fake.add_job(
                            pipeline,
                            name=name,
                            stage=stage,
                            status="success" if passed else "failed",
                            user=user,
                            log=_log(name, passed),
                        )
    assert running is not None
    steps = [(f"e2e spec {n}/10 passed\n".encode(), None) for n in range(1, 11)]
    end = b"\x1b[32;1mJob succeeded\x1b[0;m\nsection_end:1764000064:step_script\r\x1b[0K\n"
    fake.script_log(running, [*steps, (end, "success")])
    return Demo(token=token, projects=paths, running=running, running_project=paths[0])


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
