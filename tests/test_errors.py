"""GitLab's 401/403/404 rules and error bodies reach the caller as typed, readable errors;
hostile JSON bodies (deep, non-finite, not strict) are typed errors with either JSON parser."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from gitlab_jobs_async import (
    APIError,
    Forbidden,
    GitLab,
    NotFound,
    ResponseError,
    ServerError,
    Unauthorized,
    _json,
)

from ._hostile_http import web_server
from ._support import FAST, PROJECT, World


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


@pytest.fixture(params=["orjson", "stdlib"])
def parser(request, monkeypatch):
    """Each test runs with orjson (the speedups extra) and with the standard library's json."""
    if request.param == "stdlib":
        monkeypatch.setattr(_json, "_fast", None)
    else:
        assert _json._fast is not None, "orjson is a dev dependency"
    return request.param


DEEP = b"[" * 5000 + b"]" * 5000
REFUSED_BODIES = {
    "nested 5000 deep": DEEP,
    "nested 129 deep": b"[" * 129 + b"]" * 129,
    "NaN": b'{"id": NaN, "status": "success", "name": "a"}',
    "Infinity": b'{"id": 1, "status": "success", "name": "a", "coverage": Infinity}',
    "-Infinity": b'{"id": 1, "status": "success", "name": "a", "coverage": -Infinity}',
    "1e400": b'{"id": 1, "status": "success", "name": "a", "coverage": 1e400}',
    "lone surrogate": b'{"id": 1, "status": "success", "name": "\\ud800"}',
    "byte order mark": b'\xef\xbb\xbf{"id": 1, "status": "success", "name": "a"}',
    "not UTF-8": b'{"id": 1, "status": "success", "name": "\xff"}',
    "id beyond 64 bits (a float, as orjson reads it)": (
        b'{"id": 18446744073709551616, "status": "success", "name": "a"}'
    ),
}


def answering(status: int, body: bytes) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    return answer


@pytest.mark.parametrize("body", REFUSED_BODIES.values(), ids=REFUSED_BODIES.keys())
async def test_hostile_json_success_is_a_response_error(parser, body):
    """A 200 whose JSON is too deep, non-finite or not strict is a ResponseError with either parser."""
    async with web_server(answering(200, body)) as (url, _), GitLab(url, retry=FAST) as gl:
        with pytest.raises(ResponseError):
            await gl.project_jobs.get(1, 1)


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 1, "status": "success", "name": "a\\"[[[[\\\\", "tag_list": ["]]"]}',
        b'{"id": 1, "status": "success", "name": "\\ud83d\\ude00"}',
        b'{"id": 9223372036854775807, "status": "success", "name": "a"}',
    ],
    ids=["brackets in strings", "surrogate pair", "largest int64"],
)
async def test_strict_json_is_read_alike(parser, body):
    """Well-formed bodies read the same with either parser."""
    async with web_server(answering(200, body)) as (url, _), GitLab(url, retry=FAST) as gl:
        job = await gl.project_jobs.get(1, 1)
    assert job.status == "success"


@pytest.mark.parametrize(("status", "error"), [(404, NotFound), (500, ServerError)])
@pytest.mark.parametrize("depth", [333, 5000])
async def test_deeply_nested_error_body_is_still_the_status_error(parser, status, error, depth):
    """A deeply nested JSON error body gives the status's error, never a RecursionError."""
    body = b"[" * depth + b"]" * depth
    async with web_server(answering(status, body)) as (url, _), GitLab(url, retry=FAST) as gl:
        with pytest.raises(error) as info:
            await gl.project_jobs.get(1, 1)
    assert info.value.status == status and len(info.value.message) <= 300


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(json_values, st.booleans())
def test_both_parsers_read_any_json_alike(value, ascii_only):
    """Any JSON text (escapes, brackets in strings, big numbers) reads the same with both parsers."""
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    fast = _json.loads(text)
    saved, _json._fast = _json._fast, None
    try:
        standard = _json.loads(text)
    finally:
        _json._fast = saved
    assert fast == standard
    assert _json._depth(text) == depth_of(value)


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0
