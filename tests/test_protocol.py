"""Table tests of the wire rules: error bodies, status mapping, headers, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict
from yarl import URL

from gitlab_jobs_async import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from gitlab_jobs_async._protocol import (
    error_for,
    error_message,
    next_cursor,
    next_page,
    parse_link,
    parse_retry_after,
    redact_url,
)

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"message":"403 Forbidden - Job is not retryable"}',
            "403 Forbidden - Job is not retryable",
        ),
        (b'{"message":{"name":["is too long","is invalid"]}}', "name is too long, is invalid"),
        (
            b'{"message":{"error":"This endpoint has been requested too many times. Try again later."}}',
            "This endpoint has been requested too many times. Try again later.",
        ),
        (b'{"error":"scope does not have a valid value"}', "scope does not have a valid value"),
        (
            b'{"error":"invalid_token","error_description":"Token is expired."}',
            "invalid_token: Token is expired.",
        ),
        (
            b'{"error":"insufficient_scope","error_description":"Needs api.","scope":"api"}',
            "insufficient_scope: Needs api.",
        ),
        (b"Retry later\n", "Retry later"),
        (b"", "(empty body)"),
        (b"<html><body>Bad Gateway</body></html>", "<html><body>Bad Gateway</body></html>"),
        (b'["a", "b"]', "a, b"),
    ],
)
def test_error_message_shapes(body, message):
    """All of GitLab's error-body shapes and plain text give a readable message."""
    assert error_message(body) == message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (405, MethodNotAllowed),
        (409, Conflict),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (410, APIError),
        (422, APIError),
    ],
)
def test_error_for_maps_status(status, cls):
    """Each status gets its exception class, with status, message, method, url and request id."""
    err = error_for(
        status,
        CIMultiDict({"X-Request-Id": "01JABC"}),
        b'{"message":"nope"}',
        method="GET",
        url="https://gitlab.example.com/api/v4/job",
    )
    assert type(err) is cls
    assert (err.status, err.message, err.method, err.request_id) == (
        status,
        "nope",
        "GET",
        "01JABC",
    )
    assert "https://gitlab.example.com/api/v4/job" in str(err) and "nope" in str(err)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "60"}, 60.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "Tue, 24 Nov 2026 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Tue, 24 Nov 2026 11:00:00 GMT"}, 0.0),
        ({"RateLimit-Reset": str(int(NOW.timestamp()) + 12)}, 12.0),
        ({"Retry-After": "soon", "RateLimit-Reset": str(int(NOW.timestamp()) + 5)}, 5.0),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    """Retry-After in seconds or as an HTTP date, else RateLimit-Reset, else nothing."""
    assert parse_retry_after(CIMultiDict(headers), now=NOW) == expected


def test_rate_limited_carries_retry_after():
    """A 429 becomes RateLimited with retry_after, for both GitLab 429 shapes."""
    text = error_for(
        429,
        CIMultiDict({"Retry-After": "7", "Content-Type": "text/plain"}),
        b"Retry later",
        method="GET",
        url="u",
        now=NOW,
    )
    assert (
        isinstance(text, RateLimited) and text.retry_after == 7.0 and text.message == "Retry later"
    )
    app = error_for(
        429,
        CIMultiDict(),
        b'{"message":{"error":"This endpoint has been requested too many times. Try again later."}}',
        method="GET",
        url="u",
    )
    assert isinstance(app, RateLimited) and app.retry_after is None
    assert app.message.startswith("This endpoint has been requested too many times")


LINK = (
    '<https://gitlab.example.com/api/v4/projects/8/jobs?id=8&page=1&per_page=3>; rel="prev", '
    '<https://gitlab.example.com/api/v4/projects/8/jobs?id=8&page=3&per_page=3>; rel="next", '
    '<https://gitlab.example.com/api/v4/projects/8/jobs?id=8&page=1&per_page=3>; rel="first"'
)


def test_parse_link():
    """Every rel of a Link header is read."""
    links = parse_link(LINK)
    assert sorted(links) == ["first", "next", "prev"]
    assert links["next"].query["page"] == "3"
    assert parse_link(None) == {} and parse_link("") == {}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Next-Page": "2"}, 2),
        ({"X-Next-Page": ""}, None),
        ({"X-Next-Page": "", "Link": LINK}, None),
        ({"Link": LINK}, 3),
        ({}, None),
    ],
)
def test_next_page(headers, expected):
    """X-Next-Page wins (empty means last page); Link's page is the fallback."""
    assert next_page(CIMultiDict(headers)) == expected


def test_next_page_garbage():
    """A non-numeric X-Next-Page is an error, not a silent end."""
    with pytest.raises(ValueError, match="X-Next-Page"):
        next_page(CIMultiDict({"X-Next-Page": "three"}))


def test_next_cursor():
    """The keyset cursor comes from Link rel=next only; no Link means the last page."""
    link = '<https://other.example/api/v4/projects/1/jobs?cursor=eyJpZCI6IjUifQ%3D%3D&pagination=keyset>; rel="next"'
    assert next_cursor(CIMultiDict({"Link": link})) == "eyJpZCI6IjUifQ=="
    assert next_cursor(CIMultiDict()) is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:secret@h.example/api/v4/job", "https://h.example/api/v4/job"),
        (
            "https://h.example/api/v4/job?private_token=glpat-x&a=1",
            "https://h.example/api/v4/job?private_token=REDACTED&a=1",
        ),
        (
            "https://h.example/api/v4/job?JOB_TOKEN=x",
            "https://h.example/api/v4/job?JOB_TOKEN=REDACTED",
        ),
        (
            "https://h.example/api/v4/projects/a%2Fb/jobs",
            "https://h.example/api/v4/projects/a%2Fb/jobs",
        ),
    ],
)
def test_redact_url(url, shown):
    """URLs shown in errors and logs never carry credentials."""
    assert redact_url(URL(url, encoded=True)) == shown
