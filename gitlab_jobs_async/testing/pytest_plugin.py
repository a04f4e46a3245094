"""A pytest plugin with a running fake GitLab and a client connected to it.

Installed with the package (a ``pytest11`` entry point), so its fixtures are there in any
test suite that has ``gitlab-jobs-async`` and ``pytest-asyncio``:

- ``fake_gitlab``: a running :class:`~gitlab_jobs_async.testing.FakeGitLab`, empty,
  closed after the test;
- ``fake_gitlab_data``: a small realistic data set on it
  (:func:`~gitlab_jobs_async.testing.generate`: one project ``acme/app`` of 5 pipelines),
  whose ``token`` is a maintainer's;
- ``fake_gitlab_client``: a :class:`~gitlab_jobs_async.GitLab` connected to the fake with
  that token, retrying without waiting.

::

    async def test_my_bot(fake_gitlab_client, fake_gitlab_data):
        failed = [j async for j in fake_gitlab_client.project_jobs.list("acme/app",
                                                                     scope=["failed"])]
        assert failed

Disable it with ``-p no:gitlab_jobs_async``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from .._client import GitLab
from .._config import RetryPolicy
from ._generator import Generated, generate
from ._server import FakeGitLab

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without pytest-asyncio the fixtures cannot run
    _async_fixture: Callable[..., Any] = pytest.fixture
else:
    _async_fixture = pytest_asyncio.fixture

__all__ = ["fake_gitlab", "fake_gitlab_client", "fake_gitlab_data"]


@_async_fixture
async def fake_gitlab() -> AsyncIterator[FakeGitLab]:
    """A running fake GitLab on 127.0.0.1, closed after the test."""
    async with FakeGitLab() as server:
        yield server


@pytest.fixture
def fake_gitlab_data(fake_gitlab: FakeGitLab) -> Generated:
    """One project ``acme/app`` of 5 realistic pipelines on the fake (seed 0)."""
    return generate(fake_gitlab, projects=("acme/app",), pipelines=5)


@_async_fixture
async def fake_gitlab_client(
    fake_gitlab: FakeGitLab, fake_gitlab_data: Generated
) -> AsyncIterator[GitLab]:
    """A client of the fake, authenticated as the data set's maintainer."""
    retry = RetryPolicy(attempts=3, backoff=0, max_backoff=0)
    async with GitLab(fake_gitlab.url, private_token=fake_gitlab_data.token, retry=retry) as gl:
        yield gl
