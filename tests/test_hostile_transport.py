"""The transport against a broken or hostile server: typed errors, bounded waits, no secret leaves."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from gitlab_jobs_async import (
    Forbidden,
    GitLab,
    NotFound,
    RequestTimeout,
    ResponseError,
    RetryPolicy,
    TransportError,
)

from ._hostile_http import raw_server, web_server
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


TOKEN = "glpat-never-in-an-exception"


def texts(error: BaseException) -> list[str]:
    """repr and str of an exception, its attributes, args and whole cause/context chain."""
    seen: set[int] = set()
    found: list[str] = []

    def visit(value: object, depth: int = 0) -> None:
        if id(value) in seen or depth > 20:
            return
        seen.add(id(value))
        found.append(repr(value))
        if isinstance(value, BaseException):
            found.append(str(value))
            for inner in (value.__cause__, value.__context__, *value.args):
                if inner is not None:
                    visit(inner, depth + 1)
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict) and not isinstance(value, type):
            for inner in attributes.values():
                visit(inner, depth + 1)
        if isinstance(value, tuple | list):
            for inner in value:
                visit(inner, depth + 1)

    visit(error)
    return found


async def _oversized_header(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}")


async def _bad_status_line(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\n{}")


async def _token_echoed_in_status_line(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 2" + TOKEN.encode() + b" OK\r\nContent-Length: 2\r\n\r\n{}")


async def _bad_chunking(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        b"zz\r\nlog\r\n0\r\n\r\n"
    )


BROKEN_ANSWERS = {
    "header over 8 KiB": _oversized_header,
    "bad status line": _bad_status_line,
    "token echoed in the status line": _token_echoed_in_status_line,
    "bad chunking": _bad_chunking,
}


async def _get(gl: GitLab) -> object:
    return await gl.project_jobs.get(1, 1)


async def _trace(gl: GitLab) -> object:
    return b"".join([c async for c in gl.project_jobs.trace(1, 1)])


@pytest.mark.parametrize("call", [_get, _trace], ids=["get", "trace"])
@pytest.mark.parametrize("answer", BROKEN_ANSWERS.values(), ids=BROKEN_ANSWERS.keys())
async def test_no_token_reachable_from_transport_errors(answer, call):
    """A malformed answer is a TransportError from which no attribute or cause holds the token."""
    async with raw_server(answer) as server:
        async with GitLab(server.url, private_token=TOKEN, retry=FAST) as gl:
            with pytest.raises(TransportError) as info:
                await call(gl)
    assert TOKEN.encode() in server.requests[0]  # it was sent, to the configured origin
    leaks = [text for text in texts(info.value) if TOKEN in text]
    assert leaks == []
    assert info.value.reason and info.value.reason in str(info.value)


MALFORMED_LOCATIONS = ["http://[::1", "file:///etc/passwd", "http://127.0.0.1:99999/x"]


@pytest.mark.parametrize("call", [_get, _trace], ids=["get", "trace"])
@pytest.mark.parametrize("location", MALFORMED_LOCATIONS)
async def test_malformed_location_is_a_response_error(location, call):
    """A redirect to a malformed or non-HTTP Location is a ResponseError, followed nowhere."""

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    async with web_server(redirect) as (url, seen):
        async with GitLab(url, private_token=TOKEN, retry=FAST) as gl:
            with pytest.raises(ResponseError, match="Location") as info:
                await call(gl)
    assert len(seen) == 1 and info.value.status == 302
    assert location not in str(info.value)


DIGITS = "9" * 4300
JOB = {"id": 1, "status": "success", "name": "a"}

# case: hostile headers on a 200 -> what gl.rate_limit reads as (limit, remaining, reset set?)
HOSTILE_HEADERS: dict[str, tuple[dict[str, str], tuple[int | None, int | None, bool] | None]] = {
    "RateLimit-Reset in milliseconds": (
        {"RateLimit-Limit": "600", "RateLimit-Reset": "1732460000000"},
        (600, None, False),
    ),
    "milliseconds with nothing remaining pauses nobody": (
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "1732460000000"},
        (None, 0, False),
    ),
    "4300-digit RateLimit-Remaining": ({"RateLimit-Remaining": DIGITS}, None),
    "4300-digit RateLimit-Reset": (
        {"RateLimit-Limit": "5", "RateLimit-Reset": DIGITS},
        (5, None, False),
    ),
    "negative and exotic numbers": (
        {"RateLimit-Limit": "-1", "RateLimit-Remaining": "²", "RateLimit-Reset": "1e9"},
        None,
    ),
    "Unix seconds still read": (
        {"RateLimit-Limit": "600", "RateLimit-Remaining": "7", "RateLimit-Reset": "1732460000"},
        (600, 7, True),
    ),
    "4300-digit X-Total-Pages and Retry-After on a success": (
        {"X-Total-Pages": DIGITS, "Retry-After": DIGITS},
        None,
    ),
}


@pytest.mark.parametrize(("headers", "view"), HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
async def test_header_values_never_break_a_success(headers, view):
    """A 200 with absurd rate-limit or paging headers is still a success, read as far as sane."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(JOB, headers=headers)

    async with web_server(answer) as (url, seen), GitLab(url, retry=FAST) as gl:
        async with asyncio.timeout(5):  # a pause until a reset in year 57971 would hang here
            job = await gl.project_jobs.get(1, 1)
            again = await gl.project_jobs.get(1, 1)
        limit = gl.rate_limit
    assert job.id == again.id == 1 and len(seen) == 2
    got = None if limit is None else (limit.limit, limit.remaining, limit.reset is not None)
    assert got == view


async def _error_breaks_off(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\n{"message": "50')


def _error_stalls(release: asyncio.Event) -> Callable[[bytes, asyncio.StreamWriter], Any]:
    async def answer(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n{"message": "40')
        await writer.drain()
        await release.wait()  # until the client has given up

    return answer


async def test_stream_error_answer_breaking_off_is_retried_then_typed():
    """A streamed request whose 500 answer breaks off is retried like a GET, then TransportError."""
    async with raw_server(_error_breaks_off) as server, GitLab(server.url, retry=FAST) as gl:
        with pytest.raises(TransportError) as info:
            await _trace(gl)
    assert len(server.requests) == 3 and "ClientPayloadError" in info.value.reason


async def test_stream_error_answer_stalling_is_a_request_timeout():
    """A streamed request whose error answer stops sending is a RequestTimeout."""
    release = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=5, sock_read=0.2)
    async with raw_server(_error_stalls(release)) as server:
        async with GitLab(server.url, timeout=timeout, retry=RetryPolicy(attempts=1)) as gl:
            with pytest.raises(RequestTimeout):
                await _trace(gl)
        release.set()
    assert len(server.requests) == 1


async def test_stream_503_is_retried_like_a_get():
    """A 503 on a streamed request is retried, and the log then read whole."""
    answers = iter([web.json_response({"message": "503"}, status=503), web.Response(body=b"log")])

    async def answer(request: web.Request) -> web.Response:
        return next(answers)

    async with web_server(answer) as (url, seen), GitLab(url, retry=FAST) as gl:
        assert await _trace(gl) == b"log"
    assert len(seen) == 2


def _gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * (8 * 2**20))  # about 8 KiB that inflate to 8 MiB


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (500, b"x" * (3 * 2**20), {}),
        (404, _gzip_bomb(), {"Content-Encoding": "gzip"}),
    ],
    ids=["3 MiB 500", "gzip 404 inflating to 8 MiB"],
)
async def test_stream_error_body_is_size_limited(status, body, headers):
    """A streamed request's error body counts against max_body_size, decoded, and is read once."""

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers=headers)  # chunked: no length
        await response.prepare(request)
        await response.write(body)
        await response.write_eof()
        return response

    async with web_server(answer) as (url, seen):
        async with GitLab(url, retry=FAST, max_body_size=2**20) as gl:
            with pytest.raises(ResponseError, match="max_body_size"):
                await _trace(gl)
    assert len(seen) == 1


async def _drip_headers_of_traces(head: bytes, writer: asyncio.StreamWriter) -> None:
    if b"/trace" not in head.split(b"\r\n", 1)[0]:
        body = json.dumps(JOB).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return
    writer.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    for _ in range(400):  # 20 s at most, well past the client's bound
        writer.write(b"a")
        await writer.drain()
        await asyncio.sleep(0.05)


async def test_time_to_headers_of_a_stream_is_bounded():
    """Headers dripped a byte at a time end in RequestTimeout and free the client's budget."""
    timeout = aiohttp.ClientTimeout(total=0.5, sock_read=5)  # each byte resets sock_read
    policy = RetryPolicy(attempts=1)
    async with raw_server(_drip_headers_of_traces, max_seconds=20) as server:
        async with GitLab(server.url, timeout=timeout, retry=policy, max_concurrency=2) as gl:
            async with asyncio.timeout(5):  # unbounded, this would wait for the server's 20 s
                traces = [asyncio.ensure_future(_trace(gl)) for _ in range(2)]
                job = await gl.project_jobs.get(1, 1)  # waits for a budget slot
                results = await asyncio.gather(*traces, return_exceptions=True)
    assert job.id == 1
    assert [type(r) for r in results] == [RequestTimeout, RequestTimeout]


async def test_borrowed_raise_for_status_session_keeps_errors_typed(world):
    """A borrowed session made with raise_for_status=True still gives NotFound and Forbidden."""
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        GitLab(world.fake.url, session=session, private_token=world.token, retry=FAST) as gl,
    ):
        with pytest.raises(NotFound):
            await gl.project_jobs.get(PROJECT, 999_999)
        with pytest.raises(NotFound):
            await _collect(gl.project_jobs.trace(PROJECT, 999_999))
        with pytest.raises(Forbidden):  # a running job is not retryable: GitLab answers 403
            await gl.project_jobs.retry(PROJECT, world.jobs["lint"].id)
    assert world.fake.actions["retry"] == 0


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])
