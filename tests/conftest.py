"""Shared fixtures: a fresh fake GitLab per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gitlab_jobs_async.testing import FakeGitLab


@pytest.fixture
async def fake() -> AsyncIterator[FakeGitLab]:
    """A running fake GitLab on 127.0.0.1, closed after the test."""
    async with FakeGitLab() as server:
        yield server
