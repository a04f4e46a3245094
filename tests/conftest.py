"""Shared fixtures: a fresh fake GitLab per test, and the small world seeded on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gitlab_jobs_async.testing import FakeGitLab

from ._support import World, seed


@pytest.fixture
async def fake() -> AsyncIterator[FakeGitLab]:
    """A running fake GitLab on 127.0.0.1, closed after the test."""
    async with FakeGitLab() as server:
        yield server


@pytest.fixture
def world(fake: FakeGitLab) -> World:
    """The small seeded world of :func:`tests._support.seed` on a fresh fake."""
    return seed(fake)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how big the fault-injection matrix is, when it ran."""
    module = __import__("sys").modules.get("tests.test_faults")
    if module is not None:
        endpoints, faults = len(module.ENDPOINTS), len(module.FAULTS)
        terminalreporter.write_line(
            f"fault matrix: {endpoints} endpoints x {faults} faults = {endpoints * faults} cases"
        )
