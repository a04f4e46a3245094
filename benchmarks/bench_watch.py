"""What watching costs: requests per minute to watch 20 quiet projects, and the latency to notice.

Run from the repository root (after ``pip install -e '.[dev,bench]'``)::

    python -m benchmarks.bench_watch            # about 30 seconds

Part 1 counts requests from the fake GitLab's own records (``fake.requests``): 20 projects of
realistic data (``generate``: 40 pipelines of 8-20 jobs each, so about 600 jobs a project,
with a manual deploy job waiting in nearly every pipeline, i.e. ~40 unfinished jobs far down
the list) and 20 projects whose unfinished jobs are all on page 1. Nothing changes; the
watcher's sleep is replaced so polls run back to back: the count per poll does not depend on
the interval, so requests per minute are that count times 60 / ``poll``. Each recheck way is
forced in turn to show what ``auto`` saves.

Part 2 measures the latency to notice a change with real (short) polls: 20 quiet projects
watched every ``--poll`` seconds, a job of a random project failing at a random moment, 20
times; reported: seconds from the change to its event.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import AsyncGenerator
from typing import Any

from gitlab_jobs_async import GitLab, RetryPolicy
from gitlab_jobs_async.testing import FakeGitLab, generate
from gitlab_jobs_async.webhooks import JobEvent

PROJECTS = 20
POLLS = 10
NO_RETRY = RetryPolicy(attempts=1)


class Stop(Exception):
    pass


def seed_simple(fake: FakeGitLab, count: int) -> tuple[str, list[str]]:
    """``count`` projects of 150 finished jobs and 3 unfinished ones on top (page 1)."""
    user = fake.add_user("bench")
    paths = []
    for n in range(count):
        project = fake.add_project(f"simple/p{n}")
        fake.add_member(project, user, "maintainer")
        pipeline = fake.add_pipeline(project, user=user)
        for k in range(150):
            fake.add_job(pipeline, name=f"job {k}")
        for status in ("running", "pending", "manual"):
            fake.add_job(pipeline, name=status, status=status)  # type: ignore[arg-type]
        paths.append(project.path_with_namespace)
    return fake.add_personal_token(user), paths


_NEXT = {"created": "pending", "pending": "running", "running": "success"}


def make_busy(fake: FakeGitLab, paths: list[str]) -> None:
    """Between two polls, in every project: a new pipeline of 12 jobs, and every unfinished
    job of the older pipelines one step further (created, pending, running, success)."""
    for path in paths:
        project = fake.find_project(path)
        assert project is not None
        for job in [j for j in project.builds if j.status in _NEXT]:
            fake.set_status(job, _NEXT[job.status])  # type: ignore[arg-type]
        pipeline = fake.add_pipeline(project)
        for k in range(12):
            fake.add_job(pipeline, name=f"new {k}", status="created")


async def per_poll(kind: str, recheck: str, per_page: int) -> dict[str, Any]:
    """Requests and bytes per poll of 20 projects (quiet, or busy), after the baseline."""
    async with FakeGitLab() as fake:
        if kind == "generated":
            made = generate(fake, projects=[f"gen/p{n}" for n in range(PROJECTS)],
                            pipelines=40, seed=7)  # fmt: skip
            token, paths = made.token, made.paths
        else:
            token, paths = seed_simple(fake, PROJECTS)
        polls = 0
        mark = 0

        async def sleep(seconds: float) -> None:
            nonlocal polls, mark
            polls += 1
            if polls == 1:
                mark = len(fake.requests)  # the baseline is done
            elif polls > POLLS:
                raise Stop
            if kind == "busy":
                make_busy(fake, paths)

        events = 0
        async with GitLab(fake.url, private_token=token, retry=NO_RETRY) as gl:
            watch = gl.project_jobs.watch_many(paths, sleep=sleep, recheck=recheck,  # type: ignore[arg-type]
                                               per_page=per_page)  # fmt: skip
            try:
                async for _ in watch:
                    events += 1
            except Stop:
                pass
        if kind != "busy":
            assert events == 0, "nothing changes: no event expected"
        baseline = fake.requests[:mark]
        later = fake.requests[mark:]
        return {
            "baseline": len(baseline),
            "requests": len(later) / POLLS,
            "lists": sum(1 for r in later if r.path.endswith("/jobs")) / POLLS,
            "kib": sum(r.response_bytes for r in later) / POLLS / 1024,
            "events": events / POLLS,
        }


async def latency(poll: float, changes: int) -> list[float]:
    """Seconds from a job failing to its event, with real polls every ``poll`` seconds."""
    async with FakeGitLab() as fake:
        token, paths = seed_simple(fake, PROJECTS)
        rng = random.Random(3)
        changed: dict[int, float] = {}
        found: list[float] = []
        async with GitLab(fake.url, private_token=token, retry=NO_RETRY) as gl:
            watch: AsyncGenerator[JobEvent, None] = gl.project_jobs.watch_many(
                paths, poll=poll, status="failed"
            )

            async def changer() -> None:
                await asyncio.sleep(poll * 1.5)  # after the baseline
                for _ in range(changes):
                    await asyncio.sleep(rng.uniform(0, poll * 1.3))
                    project = fake.find_project(rng.choice(paths))
                    assert project is not None
                    job = next(j for j in reversed(project.builds) if j.status == "running")
                    changed[job.id] = time.monotonic()
                    fake.set_status(job, "failed")
                    fake.add_job(job.pipeline, name="running", status="running")

            task = asyncio.create_task(changer())
            async for event in watch:
                found.append(time.monotonic() - changed[event.job_id])
                if len(found) == changes:
                    break
            await watch.aclose()
            await task
        return found


async def main(poll: float, changes: int) -> None:
    print(f"## Requests per poll, {PROJECTS} projects, mean of {POLLS} polls\n")
    print("| projects | recheck | per_page | requests/poll | of which lists | KiB/poll | "
          "events/poll | baseline requests |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    auto: dict[str, float] = {}
    for kind in ("simple", "generated", "busy"):
        for recheck in ("auto", "get", "pages", "scope"):
            for per_page in (100, 20) if recheck == "auto" else (100,):
                row = await per_poll(kind, recheck, per_page)
                if recheck == "auto" and per_page == 100:
                    auto[kind] = row["requests"]
                print(f"| {kind} | {recheck} | {per_page} | {row['requests']:.1f} | "
                      f"{row['lists']:.1f} | {row['kib']:.0f} | {row['events']:.0f} | "
                      f"{row['baseline']} |")  # fmt: skip
    print("\n## Requests per minute for a latency to notice (auto, per_page 100)\n")
    print("| poll s (worst-case latency) | mean latency s | simple: req/min | "
          "generated: req/min |")  # fmt: skip
    print("|---|---|---|---|")
    for seconds in (5, 10, 30, 60):
        print(f"| {seconds} | {seconds / 2:g} | {auto['simple'] * 60 / seconds:.0f} | "
              f"{auto['generated'] * 60 / seconds:.0f} |")  # fmt: skip
    found = await latency(poll, changes)
    print(f"\n## Measured latency, real polls every {poll:g} s, {len(found)} changes\n")
    print(f"mean {statistics.mean(found):.2f} s, median {statistics.median(found):.2f} s, "
          f"max {max(found):.2f} s (expected: mean ~ {poll / 2:g} s, max ~ {poll:g} s "
          "plus one poll's requests)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=1.0, help="part 2's poll interval")
    parser.add_argument("--changes", type=int, default=20)
    options = parser.parse_args()
    asyncio.run(main(options.poll, options.changes))
