"""``gitlab-jobs watch``, run in process against the fake GitLab.

The command is parsed by the real parser and run by its own coroutine, with the watch's
sleep replaced by a script that changes the fake between polls: no time passes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from gitlab_jobs_async._cli._output import Output
from gitlab_jobs_async._cli._parser import build_parser
from gitlab_jobs_async._cli._settings import ConfigError
from gitlab_jobs_async._cli._watch import cmd_watch

from ._support import PROJECT, World

NOON = datetime(2026, 11, 1, 12, 0, 5, tzinfo=UTC)


class Script:
    """The watch's sleep: runs the next step per call; after the last, waits forever is not
    an option, so it fails the test (the command must have stopped by --count)."""

    def __init__(self, *steps: Callable[[], object]) -> None:
        self.steps = list(steps)

    async def __call__(self, seconds: float) -> None:
        assert self.steps, "the watch did not stop after --count transitions"
        self.steps.pop(0)()


class Rounds(Script):
    """The sleep of several watch loops at once: each step runs when all have reached it."""

    def __init__(self, loops: int, *steps: Callable[[], object]) -> None:
        super().__init__(*steps)
        self.barrier = asyncio.Barrier(loops)

    async def __call__(self, seconds: float) -> None:
        if await self.barrier.wait() == 0:
            await super().__call__(seconds)
        await self.barrier.wait()


async def run(world: World, *argv: str, sleep: Script, fmt: str = "table") -> list[str]:
    args = build_parser().parse_args(
        ["watch", *argv, "--url", world.fake.url, "--token", world.token, "--format", fmt]
    )
    out = Output(fmt, stream=io.StringIO())
    args.out, args.environ, args.relay, args.settings = out, {}, None, None  # as main() does
    assert await cmd_watch(args, out, sleep=sleep, clock=lambda: NOON) == 0
    assert isinstance(out.stream, io.StringIO)
    return out.stream.getvalue().splitlines()


def fail_lint_then_add(world: World) -> Script:
    fake = world.fake
    return Script(
        lambda: fake.set_status(world.jobs["lint"], "failed", failure_reason="scheduler_failure"),
        lambda: fake.add_job(world.pipeline, name="late", stage="deploy", status="pending"),
    )


async def test_one_line_per_transition(world: World):
    """Each transition is one line: when, project, job, name, stage, status and reason."""
    lines = await run(world, PROJECT, "--count", "2", sleep=fail_lint_then_add(world))
    late = max(world.fake.jobs)
    assert lines == [
        f"12:00:05  {PROJECT}  job {world.jobs['lint'].id} lint [test]  failed (scheduler_failure)",
        f"12:00:05  {PROJECT}  job {late} late [deploy]  pending",
    ]


async def test_json_lines(world: World):
    """--format json prints one JSON object per line, with the job's fields."""
    lines = await run(world, PROJECT, "--count", "2", sleep=fail_lint_then_add(world), fmt="json")
    records = [json.loads(line) for line in lines]
    assert [(r["job_id"], r["status"], r["failure_reason"]) for r in records] == [
        (world.jobs["lint"].id, "failed", "scheduler_failure"),
        (max(world.fake.jobs), "pending", None),
    ]
    assert records[0]["project"] == PROJECT and records[0]["project_id"] == world.project.id
    assert records[0]["pipeline_id"] == world.pipeline.id
    assert datetime.fromisoformat(records[0]["finished_at"]).tzinfo is not None


async def test_csv_rows(world: World):
    """--format csv prints a header, then a row per transition."""
    lines = await run(world, PROJECT, "--count", "1", sleep=fail_lint_then_add(world), fmt="csv")
    header, row = csv.reader(lines)
    assert dict(zip(header, row, strict=True))["status"] == "failed"


async def test_status_filter_and_many_projects(world: World):
    """--status keeps the named statuses; each line names the project as it was given."""
    fake = world.fake

    def change() -> None:
        fake.add_job(world.downstream, name="child", status="running")
        fake.set_status(world.jobs["pending"], "running")

    script = Rounds(2, change)
    lines = await run(
        world, PROJECT, "group/downstream", "--status", "running", "--count", "2", sleep=script
    )
    assert sorted(line.split("  ")[1:] for line in lines) == [
        ["group/downstream", f"job {max(fake.jobs)} child [test]", "running"],
        [PROJECT, f"job {world.jobs['pending'].id} pending [deploy]", "running"],
    ]


async def test_existing_prints_what_the_first_poll_finds(world: World):
    """--existing unfinished prints the jobs not finished yet, before any change."""
    lines = await run(world, PROJECT, "--existing", "unfinished", "--count", "4", sleep=Script())
    shown = {line.split("  ")[2].split()[1] for line in lines}
    expected = {str(j.id) for j in world.jobs.values() if j.status not in ("success", "failed")}
    assert shown == expected


@pytest.mark.parametrize(
    ("argv", "error", "words"),
    [
        (["--count", "0"], ConfigError, "--count"),
        (["--status", "bogus"], ValueError, "not a job status"),
        (["--poll", "0"], ValueError, "poll"),
    ],
)
async def test_bad_options_fail_before_any_request(world: World, argv, error, words):
    """A bad --count, --status or --poll is refused before anything is sent."""
    with pytest.raises(error, match=words):
        await run(world, PROJECT, *argv, sleep=Script())
    assert world.fake.requests == []
