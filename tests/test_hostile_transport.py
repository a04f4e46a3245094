"""The transport against a broken or hostile server: typed errors, bounded waits, no secret leaves."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from yarl import URL

from gitlab_jobs_async import GitLab

from ._support import FAST, PROJECT, World

SECRET = "s3cr3t-of-the-session"

Lend = Callable[[World], tuple[aiohttp.ClientSession, str, dict[str, Any]]]


def _jar(world: World) -> aiohttp.CookieJar:
    jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies for 127.0.0.1, as for a host name
    jar.update_cookies(SimpleCookie(f"_gitlab_session={SECRET}"), URL(world.fake.url))
    return jar


# kind: world -> (the session lent, the secret it sends, the client's own token arguments)
LENT: dict[str, Lend] = {
    "PRIVATE-TOKEN header": lambda w: (
        aiohttp.ClientSession(headers={"PRIVATE-TOKEN": w.token}),
        w.token,
        {},
    ),
    "Authorization header": lambda w: (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {w.token}"}),
        w.token,
        {},
    ),
    "JOB-TOKEN header": lambda w: (
        aiohttp.ClientSession(headers={"JOB-TOKEN": SECRET}),
        SECRET,
        {"private_token": w.token},
    ),
    "custom header": lambda w: (
        aiohttp.ClientSession(headers={"X-Api-Key": SECRET}),
        SECRET,
        {"private_token": w.token},
    ),
    "BasicAuth": lambda w: (
        aiohttp.ClientSession(auth=aiohttp.BasicAuth("robot", SECRET)),
        aiohttp.BasicAuth("robot", SECRET).encode(),  # as it goes on the wire
        {"private_token": w.token},
    ),
    "cookie": lambda w: (
        aiohttp.ClientSession(cookie_jar=_jar(w)),
        SECRET,
        {"private_token": w.token},
    ),
}


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning")
@pytest.mark.parametrize("kind", LENT)
async def test_borrowed_session_credentials_stay_on_the_origin(world, kind):
    """An artifact download sent to object storage carries none of a borrowed session's secrets."""
    world.fake.object_storage = True
    job = world.fake.add_job(
        world.pipeline, name="archive", status="success", files={"a.txt": b"A"}
    )
    session, secret, auth = LENT[kind](world)
    async with session, GitLab(world.fake.url, session=session, retry=FAST, **auth) as gl:
        archive = b"".join([c async for c in gl.project_jobs.artifacts(PROJECT, job.id)])
    assert zipfile.ZipFile(io.BytesIO(archive)).read("a.txt") == b"A"
    assert secret in " ".join(world.fake.requests[-1].headers.values())  # GitLab got it
    (request,) = world.fake.storage_requests
    sent = " ".join(f"{name}: {value}" for name, value in request.headers.items())
    assert secret not in sent and "Authorization" not in request.headers
    assert "Cookie" not in request.headers
