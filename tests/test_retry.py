"""The attempt loop's pure decisions as tables: when to retry (policy, method safety, outcome,
attempt, time waited) and which redirect to follow, with or without credentials."""

from __future__ import annotations

import pytest
from yarl import URL

from gitlab_jobs_async import ResponseError, RetryPolicy
from gitlab_jobs_async._redirects import Hop, next_hop
from gitlab_jobs_async._retry import Decision, Outcome, backoff, decide

POLICY = RetryPolicy(attempts=3, backoff=1.0, max_backoff=4.0, max_retry_after=60.0, timeout=100.0)

NO_ANSWER = Outcome()  # sent, then no answer (reset, timeout, broken body)
NEVER_SENT = Outcome(sent=False)  # the connection could not even be opened

RETRY_1S = Decision(retry=True, delay=1.0)  # the first back-off with jitter 1
GIVE_UP = Decision(retry=False)
UNKNOWN = Decision(retry=False, outcome_unknown=True)

# case: (repeatable, outcome, attempt, waited, expected decision)
CASES: dict[str, tuple[bool, Outcome, int, float, Decision]] = {
    "GET 503 retried": (True, Outcome(status=503), 1, 0.0, RETRY_1S),
    "GET 500 retried": (True, Outcome(status=500), 1, 0.0, RETRY_1S),
    "GET 502 retried": (True, Outcome(status=502), 1, 0.0, RETRY_1S),
    "GET 504 retried": (True, Outcome(status=504), 1, 0.0, RETRY_1S),
    "GET 501 not retried": (True, Outcome(status=501), 1, 0.0, GIVE_UP),
    "GET 404 not retried": (True, Outcome(status=404), 1, 0.0, GIVE_UP),
    "GET 403 not retried": (True, Outcome(status=403), 1, 0.0, GIVE_UP),
    "GET 302 not retried": (True, Outcome(status=302), 1, 0.0, GIVE_UP),
    "POST 503 not retried": (False, Outcome(status=503), 1, 0.0, GIVE_UP),
    "POST 400 not retried": (False, Outcome(status=400), 1, 0.0, GIVE_UP),
    "GET no answer retried": (True, NO_ANSWER, 1, 0.0, RETRY_1S),
    "POST no answer is outcome unknown": (False, NO_ANSWER, 1, 0.0, UNKNOWN),
    "POST never sent retried": (False, NEVER_SENT, 1, 0.0, RETRY_1S),
    "GET never sent retried": (True, NEVER_SENT, 1, 0.0, RETRY_1S),
    "429 with Retry-After waits that long and pauses all": (
        True,
        Outcome(status=429, retry_after=7.0),
        1,
        0.0,
        Decision(retry=True, delay=7.0, pause_all=True),
    ),
    "POST 429 retried: GitLab did not act": (
        False,
        Outcome(status=429, retry_after=2.0),
        1,
        0.0,
        Decision(retry=True, delay=2.0, pause_all=True),
    ),
    "429 without Retry-After backs off and pauses all": (
        True,
        Outcome(status=429),
        1,
        0.0,
        Decision(retry=True, delay=1.0, pause_all=True),
    ),
    "429 Retry-After 0 retried at once": (
        True,
        Outcome(status=429, retry_after=0.0),
        1,
        0.0,
        Decision(retry=True, delay=0.0, pause_all=True),
    ),
    "429 Retry-After at the cap waited": (
        True,
        Outcome(status=429, retry_after=60.0),
        1,
        0.0,
        Decision(retry=True, delay=60.0, pause_all=True),
    ),
    "429 Retry-After past the cap raised at once, nobody paused": (
        True,
        Outcome(status=429, retry_after=61.0),
        1,
        0.0,
        GIVE_UP,
    ),
    "second back-off doubles": (True, Outcome(status=503), 2, 1.0, Decision(True, delay=2.0)),
    "last attempt gives up": (True, Outcome(status=503), 3, 0.0, GIVE_UP),
    "last attempt of a POST without answer is outcome unknown": (False, NO_ANSWER, 3, 0.0, UNKNOWN),
    "last attempt of a never-sent POST is a plain failure": (False, NEVER_SENT, 3, 0.0, GIVE_UP),
    "waiting budget exhausted gives up": (True, Outcome(status=503), 1, 99.5, GIVE_UP),
    "waiting budget exactly reached still retries": (True, Outcome(status=503), 1, 99.0, RETRY_1S),
    "429 past the waiting budget gives up without pausing anyone": (
        True,
        Outcome(status=429, retry_after=5.0),
        2,
        96.0,
        GIVE_UP,
    ),
    "POST without answer past the budget is still outcome unknown": (
        False,
        NO_ANSWER,
        1,
        500.0,
        UNKNOWN,
    ),
}


@pytest.mark.parametrize(
    ("repeatable", "outcome", "attempt", "waited", "expected"), CASES.values(), ids=CASES.keys()
)
def test_decide(repeatable, outcome, attempt, waited, expected):
    """Each case of the table gets its decision (jitter 1: back-offs at their full length)."""
    decision = decide(
        POLICY, repeatable=repeatable, outcome=outcome, attempt=attempt, waited=waited, jitter=1.0
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("attempt", "jitter", "seconds"),
    [
        (1, 0.0, 0.5),
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 0.5, 3.0),
        (4, 1.0, 4.0),  # capped at max_backoff
        (10_000, 1.0, 4.0),  # a huge attempt number neither overflows nor escapes the cap
    ],
)
def test_backoff(attempt, jitter, seconds):
    """Back-off doubles from ``backoff``, is capped at ``max_backoff``, and jitter halves it at most."""
    assert backoff(POLICY, attempt, jitter) == seconds


def test_attempts_of_one_never_retries():
    """attempts=1 disables retrying, even for a 429 that asks for no wait."""
    policy = RetryPolicy(attempts=1)
    outcome = Outcome(status=429, retry_after=0.0)
    decision = decide(policy, repeatable=True, outcome=outcome, attempt=1, waited=0, jitter=0)
    assert decision == GIVE_UP


ORIGIN = URL("https://gitlab.example")
HERE = URL("https://gitlab.example/api/v4/projects/old%2Fpath/jobs/1")
STORAGE = "https://storage.example/bucket/artifacts.zip?X-Amz-Signature=s"

# case: (method, status, Location, credentials so far, cross_origin allowed, expected hop)
HOPS: dict[str, tuple[str, int, str | None, bool, bool, Hop | None]] = {
    "same-origin 301 keeps credentials": (
        "GET",
        301,
        "/api/v4/projects/5/jobs/1",
        True,
        False,
        Hop(URL("https://gitlab.example/api/v4/projects/5/jobs/1"), credentials=True),
    ),
    "absolute same-origin 308": (
        "GET",
        308,
        "https://gitlab.example/api/v4/x",
        True,
        False,
        Hop(URL("https://gitlab.example/api/v4/x"), credentials=True),
    ),
    "HEAD follows too": (
        "HEAD",
        302,
        "/api/v4/x",
        True,
        False,
        Hop(URL("https://gitlab.example/api/v4/x"), credentials=True),
    ),
    "POST never follows": ("POST", 302, "/api/v4/x", True, True, None),
    "not a redirect": ("GET", 200, "/api/v4/x", True, True, None),
    "304 is not a redirect": ("GET", 304, "/api/v4/x", True, True, None),
    "no Location": ("GET", 302, None, True, True, None),
    "empty Location": ("GET", 302, "", True, True, None),
    "other origin, JSON: the redirect is the answer": ("GET", 302, STORAGE, True, False, None),
    "other origin, stream: followed without credentials": (
        "GET",
        302,
        STORAGE,
        True,
        True,
        Hop(URL(STORAGE, encoded=True), credentials=False),
    ),
    "another port is another origin": (
        "GET",
        302,
        "https://gitlab.example:8443/x",
        True,
        False,
        None,
    ),
    "http is another origin than https": ("GET", 302, "http://gitlab.example/x", True, False, None),
    "back on the origin after leaving it: still no credentials": (
        "GET",
        302,
        "https://gitlab.example/api/v4/x",
        False,
        True,
        Hop(URL("https://gitlab.example/api/v4/x"), credentials=False),
    ),
}


@pytest.mark.parametrize(
    ("method", "status", "location", "credentials", "cross_origin", "expected"),
    HOPS.values(),
    ids=HOPS.keys(),
)
def test_next_hop(method, status, location, credentials, cross_origin, expected):
    """Each redirect case is followed, or not, and carries credentials only on the origin."""
    hop = next_hop(
        method=method,
        status=status,
        location=location,
        url=HERE,
        origin=ORIGIN,
        credentials=credentials,
        cross_origin=cross_origin,
    )
    assert hop == expected


@pytest.mark.parametrize(
    "location",
    [
        "http://[::1",
        "file:///etc/passwd",
        "https://gitlab.example:99999/x",
        "https://gitlab.example:0/x",
        "javascript:alert(1)",
        "ftp://gitlab.example/x",
        "http://",
    ],
)
@pytest.mark.parametrize("cross_origin", [False, True], ids=["json", "stream"])
def test_next_hop_refuses_malformed_location(location, cross_origin):
    """A Location that is not an http(s) URL with a host and valid port is a ResponseError."""
    with pytest.raises(ResponseError, match="malformed or non-HTTP Location") as info:
        next_hop(
            method="GET",
            status=302,
            location=location,
            url=HERE,
            origin=ORIGIN,
            credentials=True,
            cross_origin=cross_origin,
        )
    assert info.value.status == 302 and info.value.url == str(HERE)
