"""The command line on a real terminal (a pseudo-terminal): rich tables, colours, links,
progress on stderr, the erase prompt."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import struct
import sys
import termios
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gitlab_jobs_async._cli import main
from tests.test_cli_world import HOSTILE, env, small

__all__ = ["env", "small"]  # fixtures, imported so that pytest finds them here


class Terminal:
    """A pseudo-terminal: ``file`` is its program side; what it shows is :meth:`screen`."""

    def __init__(self, columns: int, rows: int = 40) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        attrs = termios.tcgetattr(self.slave)
        attrs[1] &= ~termios.OPOST  # no \n -> \r\n translation: the bytes as written
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.file = open(self.slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        self.input = open(self.slave, encoding="utf-8", closefd=False)  # noqa: SIM115
        self._seen = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self._seen += data

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def screen(self) -> str:
        """Everything written so far (waits for the reader to catch up)."""
        self.file.flush()
        for _ in range(200):
            size = len(self._seen)
            self._reader.join(0.01)
            if len(self._seen) == size:
                break
        return self._seen.decode("utf-8", "replace")

    def close(self) -> None:
        self.file.close()
        self.input.close()
        os.close(self.slave)
        os.close(self.master)


@contextmanager
def terminal(columns: int = 160) -> Iterator[Terminal]:
    screen = Terminal(columns)
    try:
        yield screen
    finally:
        screen.close()


async def run(monkeypatch, *args: str, env: dict[str, str], **streams: Any) -> int:
    for name, stream in streams.items():
        monkeypatch.setattr(sys, name, stream)
    return await asyncio.to_thread(main, list(args), environ=env)


async def test_tables_on_a_terminal_show_hostile_names_as_text(monkeypatch, small):
    """On a terminal, job names with escapes, markup or brackets are drawn as plain text in
    rich tables; statuses are coloured; job URLs are terminal hyperlinks."""
    for name in HOSTILE.values():
        small.fake.add_job(small.feature, name=name, status="failed")
    with terminal() as tty:
        code = await run(monkeypatch, "audit", "acme/app", env=small.env, stdout=tty.file,
                         stderr=io.StringIO())  # fmt: skip
        shown = tty.screen()
    assert code == 0
    assert "━" in shown or "─" in shown  # rich drew tables
    assert "jobs that fail most" in shown
    assert "lint [/bold]" in shown and "deploy: [aws, monitoring]" in shown
    assert "\x1b]0;owned" not in shown and "\\x1b]0;owned" in shown
    assert "\x1b]8;" in shown  # OSC 8 hyperlinks to the failed jobs
    assert "\x1b[31m" in shown  # failed in red


async def test_no_color_turns_colour_off_on_a_terminal(monkeypatch, small):
    """NO_COLOR: no colour in tables or logs, even on a terminal."""
    lint = small.jobs["lint"]
    with terminal() as tty:
        await run(monkeypatch, "trace", "acme/app", str(lint.id), env=small.env, stdout=tty.file)
        coloured = tty.screen()
    with terminal() as tty:
        env = small.env | {"NO_COLOR": "1"}
        await run(monkeypatch, "trace", "acme/app", str(lint.id), env=env, stdout=tty.file)
        await run(monkeypatch, "list", "acme/app", env=env, stdout=tty.file)
        plain = tty.screen()
    assert "\x1b[31mE501 line too long" in coloured and "section_end" not in coloured
    assert "E501 line too long" in plain and "\x1b[31m" not in plain and "\x1b[32m" not in plain
    assert "\x1b]8;" in plain  # job ids still link to their pages


async def test_progress_goes_to_stderr_when_stdout_is_piped(monkeypatch, small):
    """`audit > report.txt` still shows progress, on stderr, and leaves none in the report."""
    report = io.StringIO()
    with terminal() as tty:
        code = await run(monkeypatch, "audit", "acme/app", env=small.env, stdout=report,
                         stderr=tty.file)  # fmt: skip
        progress = tty.screen()
    assert code == 0
    assert "1 of 1 project done" in progress and "✓ acme/app: 6 jobs" in progress
    assert "\x1b" not in report.getvalue() and "6 jobs in 1 project" in report.getvalue()


@pytest.mark.parametrize(("answer", "code", "erased"), [("y\n", 0, True), ("n\n", 1, False)])
async def test_erase_asks_first_on_a_terminal(monkeypatch, small, answer, code, erased):
    """erase asks on a terminal and erases only on yes."""
    unit = small.jobs["unit"]
    with terminal() as tty:
        tty.type(answer)
        got = await run(monkeypatch, "erase", "acme/app", str(unit.id), env=small.env,
                        stdin=tty.input, stdout=io.StringIO(), stderr=tty.file)  # fmt: skip
        shown = tty.screen()
    assert got == code and (unit.erased_at is not None) == erased
    assert f"Erase the log and artifacts of job {unit.id} (unit)? [y/N]" in shown


async def test_a_rate_limit_pause_is_explained_in_the_progress(monkeypatch, small):
    """A 429 pause is shown in the live progress, not as a frozen line."""
    small.fake.add_fault(lambda r: r.path.endswith("/jobs"), status=429,
                         headers={"Retry-After": "1"}, body={"message": "Retry later"})  # fmt: skip
    with terminal() as tty:
        code = await run(monkeypatch, "audit", "acme/app", env=small.env, stdout=io.StringIO(),
                         stderr=tty.file)  # fmt: skip
        progress = tty.screen()
    assert code == 0
    assert "⏸ pausing all requests for 1.0s: 429 from GitLab" in progress


async def test_pipeline_watch_redraws_in_place(monkeypatch, small):
    """On a terminal, --watch redraws the pipeline's table until it ends, then exits by result."""
    pipeline = small.fake.add_pipeline(small.latest.project, ref="main", status="running")
    job = small.fake.add_job(pipeline, name="e2e", status="running")
    reads = {"n": 0}

    def advance() -> None:
        reads["n"] += 1
        if reads["n"] == 2:
            small.fake.set_status(job, "failed")
            pipeline.status = "failed"

    small.fake.add_fault(lambda r: r.path.endswith(f"/pipelines/{pipeline.id}/jobs"),
                         times=None, after=advance)  # fmt: skip
    err = io.StringIO()
    with terminal() as tty:
        code = await run(monkeypatch, "pipeline", "-R", "acme/app", str(pipeline.id), "--watch",
                         "--interval", "0.01", env=small.env, stdout=tty.file, stderr=err)  # fmt: skip
        shown = tty.screen()
    assert code == 8 and f"pipeline {pipeline.id} failed" in err.getvalue()
    assert shown.count(f"pipeline {pipeline.id} of acme/app on main") >= 2  # redrawn
    assert "running" in shown and "failed" in shown and "\x1b[1A" in shown  # cursor moved up


async def test_artifacts_download_shows_progress_on_a_terminal(monkeypatch, small, tmp_path):
    """artifacts draws a transfer bar on stderr when it is a terminal, and saves the file."""
    build = small.jobs["build"]
    with terminal() as tty:
        code = await run(monkeypatch, "artifacts", "acme/app", str(build.id), env=small.env,
                         stdout=io.StringIO(), stderr=tty.file)  # fmt: skip
        shown = tty.screen()
    assert code == 0 and (tmp_path / "artifacts.zip").is_file()
    assert f"job {build.id}" in shown and "bytes" in shown.lower()


async def test_demo_on_a_terminal(monkeypatch, env):
    """demo runs on a terminal: progress, rich tables and the followed log together."""
    with terminal() as tty:
        code = await run(monkeypatch, "demo", env=env, stdout=tty.file, stderr=tty.file)
        shown = tty.screen()
    assert code == 0 and "e2e spec 10/10 passed" in shown and "━" in shown
