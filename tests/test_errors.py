"""GitLab's 401/403/404 rules and error bodies reach the caller as typed, readable errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from gitlab_jobs_async import APIError, Forbidden, GitLab, NotFound, Unauthorized

from ._support import PROJECT, World


async def call(world: World, **auth: Any) -> APIError:
    async with GitLab(world.fake.url, **auth) as gl:
        with pytest.raises(APIError) as info:
            await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    return info.value


async def test_no_credentials(world):
    """No token on an authenticated endpoint: 401 with GitLab's message."""
    err = await call(world)
    assert isinstance(err, Unauthorized) and err.message == "401 Unauthorized"


async def test_unknown_token(world):
    """An unknown token: 401 plain message."""
    err = await call(world, private_token="glpat-unknown")
    assert isinstance(err, Unauthorized) and err.message == "401 Unauthorized"


@pytest.mark.parametrize(
    ("state", "text"), [("expired", "Token is expired"), ("revoked", "Token was revoked")]
)
async def test_expired_or_revoked_token(world, state, text):
    """Expired and revoked tokens: 401 in the OAuth error shape, readable."""
    alice = world.jobs["build"].user
    token = world.fake.add_personal_token(alice, state=state)
    err = await call(world, private_token=token)
    assert isinstance(err, Unauthorized)
    assert err.message.startswith("invalid_token: ") and text in err.message


async def test_insufficient_scope(world):
    """A read_api token may read but not act: 403 insufficient_scope."""
    alice = world.jobs["build"].user
    token = world.fake.add_personal_token(alice, scopes=("read_api",))
    async with GitLab(world.fake.url, private_token=token) as gl:
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
        with pytest.raises(Forbidden) as info:
            await gl.project_jobs.cancel(PROJECT, world.jobs["lint"].id)
    assert info.value.message.startswith("insufficient_scope")


async def test_invisible_project(world):
    """A project the user cannot see is a 404 'Project Not Found', never a 403."""
    stranger = world.fake.add_user("mallory")
    err = await call(world, private_token=world.fake.add_personal_token(stranger))
    assert isinstance(err, NotFound) and err.message == "404 Project Not Found"


async def test_role_too_low(world):
    """A reporter may read jobs but not cancel them: 403 Forbidden."""
    async with GitLab(world.fake.url, private_token=world.reporter_token) as gl:
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
        with pytest.raises(Forbidden) as info:
            await gl.project_jobs.cancel(PROJECT, world.jobs["lint"].id)
    assert info.value.message == "403 Forbidden"


async def test_missing_job(world):
    """A job id that does not exist in the project: 404 'Not found'."""
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        with pytest.raises(NotFound) as info:
            await gl.project_jobs.get(PROJECT, 999_999)
    err = info.value
    assert err.message == "404 Not found" and err.status == 404 and err.method == "GET"
    assert err.url.endswith("/api/v4/projects/group%2Fsub%2Fapp/jobs/999999")
    assert err.request_id  # GitLab's X-Request-Id, for support tickets


async def test_job_token_on_endpoint_without_job_token_support(world):
    """A job token on an endpoint that does not accept job tokens is 401."""
    token = world.fake.job_token(world.jobs["lint"])
    err = await call(world, job_token=token)
    assert isinstance(err, Unauthorized)


async def test_no_secret_in_errors_reprs_or_logs(world, caplog):
    """Tokens never appear in reprs, exception texts or log records."""
    caplog.set_level(logging.DEBUG, logger="gitlab_jobs_async")
    secret = world.token
    async with GitLab(world.fake.url, private_token=secret) as gl:
        assert secret not in repr(gl) and secret not in repr(gl.project_jobs)
        with pytest.raises(NotFound) as info:
            await gl.project_jobs.get(PROJECT, 999_999)
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    err = info.value
    texts = [str(err), repr(err), *map(str, vars(err).values())]
    assert caplog.records, "the client logs its requests at DEBUG"
    texts += [record.getMessage() for record in caplog.records]
    assert all(secret not in text for text in texts)
