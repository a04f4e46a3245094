"""The client's lifecycle, configuration and transport rules."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from gitlab_jobs_async import (
    APIError,
    GitLab,
    RateLimited,
    RequestTimeout,
    ResponseError,
    RetryPolicy,
    ServerError,
    TransportError,
)

from ._support import FAST


@asynccontextmanager
async def serve(
    handler: Callable[[web.Request], object],
) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A throwaway server on 127.0.0.1 answering every request with ``handler``."""
    seen: list[web.Request] = []

    async def endpoint(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        result = handler(request)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, web.StreamResponse)
        return result

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


JOB = {"id": 1, "status": "success", "name": "a"}


@pytest.mark.parametrize(
    ("url", "api"),
    [
        ("https://gitlab.example.com", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/api/v4", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/api/v4/", "https://gitlab.example.com/api/v4/"),
        ("http://h.example:8080/gitlab", "http://h.example:8080/gitlab/api/v4/"),
    ],
)
def test_url_normalised(url, api):
    """The base URL always ends in /api/v4/, keeping a relative URL root."""
    assert GitLab(url).url == api


@pytest.mark.parametrize(
    "url",
    [
        "gitlab.example.com",
        "ftp://gitlab.example.com",
        "https://u:p@gitlab.example.com",
        "https://gitlab.example.com/?x=1",
        "https://",
    ],
)
def test_bad_urls(url):
    """URLs without http(s) and host, with credentials or a query are refused."""
    with pytest.raises(ValueError, match="url"):
        GitLab(url)


def test_two_tokens_is_an_error():
    """Giving two kinds of token is a ValueError naming both."""
    with pytest.raises(ValueError, match="private_token, job_token"):
        GitLab("https://g.example", private_token="a", job_token="b")


@pytest.mark.parametrize(
    ("kind", "token"), [("private_token", " "), ("job_token", "a\nb"), ("oauth_token", "")]
)
def test_blank_token_is_an_error(kind, token):
    """An empty, blank or multi-line token is refused, naming the argument."""
    with pytest.raises(ValueError, match=kind):
        GitLab("https://g.example", **{kind: token})


@pytest.mark.parametrize(
    ("env", "url", "kind"),
    [
        (
            {"GITLAB_URL": "https://a.example", "GITLAB_TOKEN": "t"},
            "https://a.example/api/v4/",
            "private_token",
        ),
        ({"GITLAB_URL": "https://a.example"}, "https://a.example/api/v4/", "anonymous"),
        (
            {
                "GITLAB_URL": "https://a.example",
                "CI_JOB_TOKEN": "j",
                "CI_SERVER_URL": "https://ci.example",
            },
            "https://a.example/api/v4/",
            "anonymous",
        ),
        (
            {"CI_SERVER_URL": "https://ci.example", "CI_JOB_TOKEN": "j"},
            "https://ci.example/api/v4/",
            "job_token",
        ),
        (
            {"CI_API_V4_URL": "https://ci.example/api/v4", "CI_JOB_TOKEN": "j"},
            "https://ci.example/api/v4/",
            "job_token",
        ),
        (
            {"CI_SERVER_URL": "https://ci.example", "CI_JOB_TOKEN": "j", "GITLAB_TOKEN": "t"},
            "https://ci.example/api/v4/",
            "private_token",
        ),
    ],
)
def test_from_env(env, url, kind):
    """from_env picks URL and token; a job token only ever goes with the CI server's URL."""
    gl = GitLab.from_env(env)
    assert gl.url == url
    assert f"auth={kind}" in repr(gl)


def test_from_env_without_url():
    """A missing URL names the variables to set."""
    with pytest.raises(ValueError, match="GITLAB_URL"):
        GitLab.from_env({})


async def test_lifecycle_errors():
    """Using a client before opening, opening twice, or reopening are clear errors."""
    gl = GitLab("https://g.example")
    with pytest.raises(RuntimeError, match="not open"):
        await gl.project_jobs.get(1, 1)
    async with gl:
        with pytest.raises(RuntimeError, match="already open"):
            await gl.__aenter__()
    with pytest.raises(RuntimeError, match="reopen"):
        async with gl:
            pass
    await gl.aclose()  # idempotent


async def test_borrowed_session_is_not_closed():
    """A session passed in is used and left open."""
    async with serve(lambda r: web.json_response(JOB)) as (url, seen):
        async with aiohttp.ClientSession() as session:
            async with GitLab(url, session=session) as gl:
                await gl.project_jobs.get(1, 1)
            assert not session.closed
            async with GitLab(url, session=session) as gl:
                assert (await gl.project_jobs.get(1, 1)).id == 1
    assert len(seen) == 2


async def test_get_retries_server_errors():
    """A GET that meets 503 is retried and succeeds."""
    answers = iter([web.json_response({"message": "503"}, status=503), web.json_response(JOB)])
    async with serve(lambda r: next(answers)) as (url, seen), GitLab(url, retry=FAST) as gl:
        assert (await gl.project_jobs.get(1, 1)).id == 1
    assert len(seen) == 2


async def test_post_is_never_resent_after_a_server_error():
    """A POST that reached the server and got 502 is not sent again."""
    async with serve(lambda r: web.json_response({"message": "502 Bad Gateway"}, status=502)) as (
        url,
        seen,
    ):
        async with GitLab(url, retry=FAST) as gl:
            with pytest.raises(ServerError):
                await gl.project_jobs.retry(1, 1)
    assert len(seen) == 1


async def test_post_is_retried_after_429():
    """A 429 means GitLab did not act, so even a POST is retried after Retry-After."""
    answers = iter(
        [
            web.Response(status=429, text="Retry later", headers={"Retry-After": "0"}),
            web.json_response(JOB, status=201),
        ]
    )
    async with serve(lambda r: next(answers)) as (url, seen), GitLab(url, retry=FAST) as gl:
        assert (await gl.project_jobs.retry(1, 1)).id == 1
    assert len(seen) == 2


async def test_long_retry_after_is_not_waited():
    """A Retry-After beyond the policy's cap raises RateLimited at once."""
    async with serve(
        lambda r: web.Response(status=429, text="Retry later", headers={"Retry-After": "3600"})
    ) as (url, seen):
        async with GitLab(url, retry=FAST) as gl:
            with pytest.raises(RateLimited) as info:
                await gl.project_jobs.get(1, 1)
    assert info.value.retry_after == 3600 and len(seen) == 1


async def test_retries_are_bounded():
    """A GET failing for good raises after the configured attempts."""
    async with serve(lambda r: web.Response(status=503, text="down")) as (url, seen):
        async with GitLab(url, retry=FAST) as gl:
            with pytest.raises(ServerError) as info:
                await gl.project_jobs.get(1, 1)
    assert len(seen) == 3 and info.value.message == "down"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_transport_error():
    """Nothing listening: TransportError naming the URL, after retries."""
    url = f"http://127.0.0.1:{free_port()}"
    async with GitLab(url, retry=FAST) as gl:
        with pytest.raises(TransportError) as info:
            await gl.project_jobs.get(1, 1)
    assert "/api/v4/projects/1/jobs/1" in str(info.value)
    assert info.value.reason.startswith("request failed: ClientConnectorError")
    assert str(info.value).startswith(info.value.reason)


async def test_timeout_is_request_timeout():
    """A server slower than the read timeout gives RequestTimeout."""
    answered = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await answered.wait()  # until the client has given up
        return web.json_response(JOB)

    async with serve(slow) as (url, _):
        timeout = aiohttp.ClientTimeout(total=5, sock_read=0.2)
        async with GitLab(url, timeout=timeout, retry=RetryPolicy(attempts=1)) as gl:
            with pytest.raises(RequestTimeout) as info:
                await gl.project_jobs.get(1, 1)
        answered.set()
    assert info.value.reason == "GitLab did not answer in time"


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda: web.Response(text="<html>", content_type="text/html"), "not valid JSON"),
        (lambda: web.json_response({"id": "x", "status": "success"}), r"\$\.id"),
        (lambda: web.json_response([JOB]), "Job shape"),
    ],
)
async def test_unexpected_bodies_are_response_errors(answer, match):
    """A 200 with invalid JSON or the wrong shape is ResponseError, not a raw traceback."""
    async with serve(lambda r: answer()) as (url, _), GitLab(url) as gl:
        with pytest.raises(ResponseError, match=match):
            await gl.project_jobs.get(1, 1)


@pytest.mark.parametrize(
    ("body", "match"), [({"id": 1}, "JSON array"), ([{"name": "x"}], "integer id")]
)
async def test_list_of_wrong_shape_is_response_error(body, match):
    """A list endpoint answering an object, or items without ids, is ResponseError."""
    async with serve(lambda r: web.json_response(body)) as (url, _), GitLab(url) as gl:
        with pytest.raises(ResponseError, match=match):
            [j async for j in gl.project_jobs.list(1)]


async def test_list_without_pagination_headers_reads_until_short_page():
    """With every pagination header stripped, pages are read until a short one: nothing lost."""

    def page(request: web.Request) -> web.Response:
        n = int(request.query["page"])
        ids = {1: [9, 8], 2: [7, 6], 3: [5]}.get(n, [])
        return web.json_response([{**JOB, "id": i} for i in ids])

    async with serve(page) as (url, seen), GitLab(url) as gl:
        ids = [j.id async for j in gl.project_jobs.list(1, per_page=2)]
    assert ids == [9, 8, 7, 6, 5]
    assert {"1", "2", "3"} <= {r.query["page"] for r in seen}


async def test_redirect_to_other_host_is_not_followed():
    """A redirect to another origin is not followed, so the token never goes there."""
    async with serve(lambda r: web.json_response(JOB)) as (elsewhere, other_seen):
        async with serve(
            lambda r: web.Response(status=302, headers={"Location": f"{elsewhere}/x"})
        ) as (url, _):
            async with GitLab(url, private_token="glpat-secret", retry=FAST) as gl:
                with pytest.raises(APIError) as info:
                    await gl.project_jobs.get(1, 1)
    assert other_seen == [] and info.value.status == 302
    assert "glpat-secret" not in str(info.value)


async def test_same_origin_redirect_is_followed():
    """GitLab's 301 for a renamed project's old path is followed on the same host."""

    def handler(request: web.Request) -> web.Response:
        if "old%2Fpath" in request.raw_path:
            return web.Response(status=301, headers={"Location": "/api/v4/projects/5/jobs/1"})
        return web.json_response(JOB)

    async with serve(handler) as (url, seen), GitLab(url) as gl:
        assert (await gl.project_jobs.get("old/path", 1)).id == 1
    assert [r.raw_path for r in seen] == [
        "/api/v4/projects/old%2Fpath/jobs/1",
        "/api/v4/projects/5/jobs/1",
    ]
