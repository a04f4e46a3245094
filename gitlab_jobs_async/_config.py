"""Small value objects that configure a client: credentials, retries and timeouts."""

from __future__ import annotations

from typing import ClassVar

import aiohttp
import attrs

from . import _checks as checks

__all__ = ["DEFAULT_TIMEOUT", "Credentials", "RetryPolicy"]

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=300, connect=10, sock_connect=10, sock_read=60)
"""Finite by default: 10 s to connect, 60 s between bytes, 5 minutes for a whole JSON request.

Log and artifact streams keep the connect and read limits; the total limit bounds only the
time until their response headers arrive, since a large body may legitimately take longer
than any fixed total.
"""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to retry a failed request.

    Only what is safe is retried: GET (and the harmless actions cancel, keep artifacts and
    delete artifacts) on a 429, 500, 502, 503, 504 or a transport failure; any method on a
    429 (GitLab did not act) or when the connection could not even be opened (nothing was
    sent). A retry, play or erase that may have reached GitLab is never sent twice: it raises
    :class:`~gitlab_jobs_async.OutcomeUnknown`.

    Args:
        attempts: total tries per request, including the first (1 disables retrying).
        backoff: first back-off in seconds when GitLab gave no ``Retry-After``; doubles each time.
        max_backoff: the cap of one back-off.
        max_retry_after: a ``Retry-After`` longer than this is not waited for: the
            :class:`~gitlab_jobs_async.RateLimited` error is raised at once instead.
        timeout: the most seconds one request spends waiting between its attempts, all
            back-offs and ``Retry-After`` waits together; the attempts' own time does not
            count (the client's ``timeout`` bounds each of them). A retry whose wait would
            go beyond it is not made: the last error is raised instead.
    """

    attempts: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    backoff: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_backoff: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    timeout: float = attrs.field(default=120.0, validator=attrs.validators.ge(0))


@attrs.frozen
class Credentials:
    """One way to authenticate, turned into its request header. Strictly private.

    The token is excluded from ``repr`` so it cannot leak into logs or tracebacks.
    """

    kind: str
    token: str = attrs.field(repr=False)

    _HEADERS: ClassVar[dict[str, str]] = {
        "private_token": "PRIVATE-TOKEN",
        "oauth_token": "Authorization",
        "job_token": "JOB-TOKEN",
    }

    def headers(self) -> dict[str, str]:
        name = self._HEADERS[self.kind]
        value = f"Bearer {self.token}" if self.kind == "oauth_token" else self.token
        return {name: value}

    @classmethod
    def pick(
        cls, *, private_token: str | None, oauth_token: str | None, job_token: str | None
    ) -> Credentials | None:
        """Return the one credential given, ``None`` for none; two or more is a ``ValueError``."""
        given = {
            kind: token
            for kind, token in (
                ("private_token", private_token),
                ("oauth_token", oauth_token),
                ("job_token", job_token),
            )
            if token is not None
        }
        if len(given) > 1:
            raise ValueError(
                "give at most one of private_token, oauth_token, job_token "
                f"(got {', '.join(given)})"
            )
        if not given:
            return None
        ((kind, token),) = given.items()
        return cls(kind, checks.token(kind, token))
