"""What went wrong, in a sentence a user can act on, and the exit code that goes with it.
Strictly private.

Exit codes (``gitlab-jobs --help`` lists them):

====  =================================================================================
0     done
1     a GitLab error not listed below, an answer GitLab would not send, a local failure
2     the command line or the settings are wrong; nothing was sent
3     401 or 403: the token is missing, refused or not allowed to do this
4     404: the project, pipeline or job does not exist or is not visible
5     network failure or timeout, or an action whose outcome is unknown
6     rate limited by GitLab (429)
7     partial: some of the work was not done (stderr says which)
8     the job or pipeline did not succeed (``--exit-status``, ``pipeline --watch``)
130   interrupted (Ctrl-C)
====  =================================================================================
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .._errors import (
    APIError,
    Forbidden,
    GitLabError,
    LogRewritten,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
    ResponseError,
    ServerError,
    TransportError,
    Unauthorized,
)
from ._text import SinceError, printable

__all__ = [
    "EXIT_CODES",
    "ConfigError",
    "NotFoundHere",
    "Partial",
    "Unsuccessful",
    "explain",
    "network_reason",
]

EXIT_CODES = {
    0: "done",
    1: "a GitLab error not listed here, or a local failure",
    2: "bad usage or settings (nothing was sent)",
    3: "401/403: the token is missing, refused or not allowed",
    4: "404: not found, or not visible to this token",
    5: "network failure or timeout, or an outcome unknown",
    6: "rate limited by GitLab (429)",
    7: "partial: part of the work was not done",
    8: "the job or pipeline did not succeed (--exit-status, --watch)",
    130: "interrupted",
}


class ConfigError(Exception):
    """A missing or malformed setting or argument; the message says what to do. Exit 2."""


class NotFoundHere(Exception):
    """What the arguments name does not exist (a job name, a branch without pipelines). Exit 4."""


class Partial(Exception):
    """The command did part of its work; the message says what was left. Exit 7."""


class Unsuccessful(Exception):
    """The job or pipeline waited for did not succeed. Exit 8."""


_REASONS = [
    (
        re.compile(
            r"name or service not known|nodename nor servname|name resolution|"
            r"getaddrinfo|DNSError|no address associated",
            re.I,
        ),
        "name not known (DNS)",
    ),
    (re.compile(r"connection refused|connect call failed|errno 111", re.I), "connection refused"),
    (re.compile(r"certificate|SSL|TLS", re.I), "TLS failed (is the certificate trusted?)"),
    (re.compile(r"network is unreachable|no route to host", re.I), "network unreachable"),
    (
        re.compile(r"disconnected|reset by peer|broke off", re.I),
        "the connection was closed before GitLab answered",
    ),
]


def network_reason(exc: TransportError) -> str:
    """A few plain words for why a request got no answer (``connection refused``)."""
    if isinstance(exc, RequestTimeout):
        return "no answer in time"
    text = " ".join(
        str(part)
        for part in (
            getattr(exc, "reason", ""),
            exc,
            exc.__cause__,
            getattr(exc.__cause__, "os_error", None),
        )
        if part
    )
    found = next((words for pattern, words in _REASONS if pattern.search(text)), None)
    return found or "no usable answer"


def _host(url: str) -> str:
    match = re.match(r"\w+://([^/]+)", url)
    return match.group(1) if match else url


def _words(exc: APIError) -> str:
    """GitLab's message without the status it often starts with (``404 Project Not Found``)."""
    message = exc.message.strip()
    for prefix in (f"{exc.status} ", f"{exc.status}: "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message or "(no message)"


def explain(
    exc: BaseException,
    *,
    token_kind: str | None = None,
    token_source: str | None = None,
    redirect_to: str | None = None,
    now: datetime | None = None,
) -> tuple[str, int]:
    """The message and exit code for ``exc``.

    Args:
        exc: what was raised.
        token_kind: ``private_token``, ``oauth_token``, ``job_token`` or ``None`` (anonymous).
        token_source: where the token came from (``--token``, ``GITLAB_TOKEN``, ...).
        redirect_to: for a redirect GitLab answered to a JSON request, the origin its
            ``Location`` named, when known.
        now: the time a 429's wait is counted from.
    """
    if isinstance(exc, ConfigError | SinceError):
        return str(exc), 2
    if isinstance(exc, NotFoundHere):
        return str(exc), 4
    if isinstance(exc, Partial):
        return str(exc), 7
    if isinstance(exc, Unsuccessful):
        return str(exc), 8
    if isinstance(exc, APIError):
        return _api(exc, token_kind, token_source, redirect_to, now or datetime.now(UTC))
    if isinstance(exc, OutcomeUnknown):
        return str(exc), 5
    if isinstance(exc, TransportError):
        return f"cannot reach {_host(exc.url)}: {network_reason(exc)} ({exc.method} {exc.url})", 5
    if isinstance(exc, ResponseError):
        return f"GitLab's answer is not what GitLab sends: {exc}", 1
    if isinstance(exc, LogRewritten):
        return f"the log changed behind us (the job was erased or retried?): {exc}", 1
    if isinstance(exc, GitLabError):
        return str(exc), 1
    if isinstance(exc, ValueError | TypeError):
        return str(exc), 2
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), 1
    return (
        f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the details, "
        "and please report it)",
        1,
    )


def _api(
    exc: APIError,
    token_kind: str | None,
    token_source: str | None,
    redirect_to: str | None,
    now: datetime,
) -> tuple[str, int]:
    where = f"({exc.method} {exc.url})"
    said = f"{exc.status} {_words(exc)}"
    if exc.request_id:
        where += f" [request id {exc.request_id}]"
    if isinstance(exc, Unauthorized):
        if token_kind == "job_token":
            hint = (
                "a CI job token (CI_JOB_TOKEN) cannot read a job or its log through the API: "
                "GitLab accepts it only for job lists, artifacts and its own job. Set "
                "GITLAB_TOKEN to a token with the read_api scope (a project access token)"
            )
        elif token_kind is None:
            hint = "no token was sent: pass --token or set GITLAB_TOKEN"
        else:
            hint = f"the token from {token_source or 'the settings'} is unknown, expired or revoked"
        return f"{said}: {hint} {where}", 3
    if isinstance(exc, Forbidden):
        hint = "your role, or the token's scope (read_api reads; api acts), does not allow this"
        return f"{said}: {hint} {where}", 3
    if isinstance(exc, NotFound):
        hint = "it does not exist, or this token cannot see it"
        return f"{said}: {hint} {where}", 4
    if isinstance(exc, RateLimited):
        if exc.retry_after is not None:
            at = now + timedelta(seconds=exc.retry_after)
            hint = f"retry in {exc.retry_after:.0f}s (at {at:%H:%M:%S} UTC)"
        else:
            hint = "GitLab did not say when to retry; wait a minute"
        return f"{said}: rate limited by GitLab, {hint} {where}", 6
    if 300 <= exc.status < 400:
        target = f", pointing to {printable(redirect_to)}" if redirect_to else ""
        hint = (
            f"GitLab answered a redirect{target}: the GitLab URL is probably not the one "
            "it wants (http:// where it serves https://, or an old host name); set --url or "
            "GITLAB_URL to where it points"
        )
        return f"{exc.status}: {hint} {where}", 1
    if isinstance(exc, ServerError):
        return f"{said}: GitLab failed to answer; try again later {where}", 1
    return f"{said} {where}", 1
