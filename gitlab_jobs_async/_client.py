"""``GitLab``: the client. It owns (or borrows) one aiohttp session and holds the services."""

from __future__ import annotations

import enum
import ipaddress
import logging
import os
from collections.abc import Mapping
from ssl import SSLContext
from types import TracebackType
from typing import Self

import aiohttp
import attrs

from . import _checks as checks
from ._config import DEFAULT_TIMEOUT, Credentials, RetryPolicy
from ._ratelimit import RateLimit
from ._services import Bridges, Groups, PipelineJobs, ProjectJobs, TokenJob
from ._transport import Transport
from ._version import __version__

__all__ = ["GITLAB_COM_REQUESTS_PER_MINUTE", "GitLab"]

TOKEN_KINDS = ("private_token", "oauth_token", "job_token")

USER_AGENT = f"gitlab-jobs-async/{__version__}"
_READ_BUFFER = 2**20
GITLAB_COM_REQUESTS_PER_MINUTE = 2000
"""GitLab.com's published limit for authenticated API traffic, per user."""

log = logging.getLogger("gitlab_jobs_async")


class _State(enum.Enum):
    UNOPENED = 1  # created, `async with` not entered yet
    OPENED = 2  # inside `async with`: requests may be sent
    CLOSED = 3  # closed: cannot be opened again


class GitLab:
    """An async client for GitLab's CI Jobs API.

    Use it as an async context manager; one client per application, shared by all tasks::

        async with GitLab("https://gitlab.example.com", private_token="glpat-...") as gl:
            job = await gl.project_jobs.get("group/app", 8)

    Args:
        url: GitLab's address, e.g. ``https://gitlab.example.com`` (``/api/v4`` is added
            unless already there; a relative URL root such as ``/gitlab`` is kept).
        private_token: a personal, project or group access token (``PRIVATE-TOKEN``).
        oauth_token: an OAuth access token (``Authorization: Bearer``).
        job_token: a CI job token, ``CI_JOB_TOKEN`` (``JOB-TOKEN``).
            At most one of the three; none for public reads.
        session: an ``aiohttp.ClientSession`` to borrow; the client never closes it.
            By default the client creates and closes its own.
        timeout: request timeouts (default :data:`DEFAULT_TIMEOUT`: all finite).
        retry: when to retry (default :class:`RetryPolicy`: only what is safe).
        per_page: default page size of lists, 1–100 (default 100, GitLab's maximum).
        max_concurrency: the client-wide budget of requests on the wire at once, shared by
            every list and call (default 8); also each list's default page concurrency.
        requests_per_minute: an optional pace for the whole client, e.g.
            :data:`GITLAB_COM_REQUESTS_PER_MINUTE` (2,000, GitLab.com's authenticated API
            limit) or 600 for a job-list-heavy audit (GitLab's default limit on that list);
            at least 1, or ``None`` (default) for no pace.
        max_body_size: a JSON answer larger than this many bytes raises
            :class:`ResponseError` (default 64 MiB).
        ssl: ``False`` to skip TLS verification, or an ``ssl.SSLContext`` with your own CA
            bundle (default: verify with the system's CAs).
        user_agent: the ``User-Agent`` header (default ``gitlab-jobs-async/<version>``).

    Raises:
        TypeError: for an argument of the wrong type (``timeout=None``, ``ssl="yes"``).
        ValueError: for a malformed URL, more than one token, a token or ``user_agent``
            with CR, LF or NUL, or a ``requests_per_minute`` that is not a finite number of
            at least 1.
    """

    def __init__(
        self,
        url: str,
        *,
        private_token: str | None = None,
        oauth_token: str | None = None,
        job_token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        per_page: int = 100,
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        max_body_size: int = 64 * 2**20,
        ssl: SSLContext | bool = True,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._base_url = checks.api_url(url)
        self._credentials = Credentials.pick(
            private_token=private_token, oauth_token=oauth_token, job_token=job_token
        )
        self._transport = Transport(
            base_url=self._base_url,
            headers={
                "User-Agent": checks.header_value("user_agent", user_agent),
                "Accept": "application/json",
            },
            credentials=self._credentials.headers() if self._credentials else {},
            timeout=checks.timeout(timeout),
            retry=RetryPolicy() if retry is None else checks.instance("retry", retry, RetryPolicy),
            max_concurrency=checks.positive_int("max_concurrency", max_concurrency),
            requests_per_minute=checks.requests_per_minute(requests_per_minute),
            max_body_size=checks.positive_int("max_body_size", max_body_size),
            ssl=checks.ssl_option(ssl),
        )
        if self._base_url.scheme == "http" and not _loopback(self._base_url.host or ""):
            log.warning("%s is plain http: tokens and data travel unencrypted", self._base_url)
        self._borrowed = (
            None if session is None else checks.instance("session", session, aiohttp.ClientSession)
        )
        self._state = _State.UNOPENED
        size = checks.per_page(per_page)
        self.project_jobs = ProjectJobs(self._transport, per_page=size)
        """A project's jobs, logs and job actions."""
        self.pipeline_jobs = PipelineJobs(self._transport, per_page=size)
        """A pipeline's jobs."""
        self.bridges = Bridges(self._transport, per_page=size)
        """A pipeline's trigger jobs."""
        self.token_job = TokenJob(self._transport, per_page=size)
        """The CI job token's own job (needs ``job_token``)."""
        self.groups = Groups(self._transport, per_page=size)
        """A group's projects."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: object) -> GitLab:
        """Build a client from the environment.

        ``GITLAB_URL`` with ``GITLAB_TOKEN`` (a private token; optional) when ``GITLAB_URL`` is
        set. Otherwise, inside a CI job, ``CI_API_V4_URL`` or ``CI_SERVER_URL`` with
        ``GITLAB_TOKEN`` if set, else ``CI_JOB_TOKEN``. A job token is only ever sent to the
        CI server's own URL. Other keyword arguments go to :class:`GitLab`; a token given
        there (``private_token=``, ``oauth_token=``, ``job_token=``) replaces the
        environment's token and goes to the environment's URL.

        Raises:
            ValueError: when no URL is set, naming the variables to set.
        """
        env = os.environ if environ is None else environ
        found = read_environment(env)
        if found is None:
            raise ValueError(
                "no GitLab URL in the environment: set GITLAB_URL (and GITLAB_TOKEN), "
                "or run inside a CI job (CI_SERVER_URL and CI_JOB_TOKEN)"
            )
        # An explicit token argument wins over the environment's token.
        explicit = {kind: kwargs.pop(kind) for kind in TOKEN_KINDS if kind in kwargs}
        tokens = {kind: token for kind, token in explicit.items() if token is not None}
        return cls(found.url, **(tokens or found.tokens()), **kwargs)  # type: ignore[arg-type]

    @property
    def rate_limit(self) -> RateLimit | None:
        """GitLab's rate-limit view from the last response that carried ``RateLimit-*``."""
        return self._transport.pacer.rate_limit

    @property
    def url(self) -> str:
        """The API base URL requests go to, ending in ``/api/v4/``."""
        return str(self._base_url)

    def __repr__(self) -> str:
        auth = self._credentials.kind if self._credentials else "anonymous"
        return f"<GitLab {self._base_url} auth={auth} {self._state.name.lower()}>"

    async def __aenter__(self) -> Self:
        if self._state is _State.OPENED:
            raise RuntimeError("this GitLab client is already open")
        if self._state is _State.CLOSED:
            raise RuntimeError(
                "cannot reopen a GitLab client once it has been closed; create a new one"
            )
        if self._borrowed is not None:
            if self._borrowed.closed:
                raise RuntimeError("the aiohttp session given to GitLab(session=...) is closed")
            session = self._borrowed
        else:
            # A larger read buffer means fewer pause/resume cycles on big logs and artifacts.
            session = aiohttp.ClientSession(read_bufsize=_READ_BUFFER)
        self._transport.attach(session)
        self._state = _State.OPENED
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client and its own session (never a borrowed one). Idempotent."""
        if self._state is _State.OPENED and self._borrowed is None:
            session = self._transport.session
            self._transport.attach(None)
            await session.close()
        self._transport.attach(None)
        self._state = _State.CLOSED


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@attrs.frozen
class Environment:
    """Where the environment points a client, and with which token. Strictly private."""

    url: str
    url_variable: str
    kind: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    token_variable: str | None = None

    def tokens(self) -> dict[str, str]:
        """The token as a keyword argument of :class:`GitLab` (none for anonymous)."""
        return {self.kind: self.token} if self.kind and self.token else {}


def read_environment(env: Mapping[str, str]) -> Environment | None:
    """The URL and token :meth:`GitLab.from_env` uses, each with the variable it came from.

    ``GITLAB_URL`` pairs with ``GITLAB_TOKEN``; a CI job's ``CI_API_V4_URL`` or
    ``CI_SERVER_URL`` with ``GITLAB_TOKEN`` if set, else ``CI_JOB_TOKEN``. ``None`` when no
    URL is set.
    """
    token = env.get("GITLAB_TOKEN") or None
    if env.get("GITLAB_URL"):
        if token is None:
            return Environment(env["GITLAB_URL"], "GITLAB_URL")
        return Environment(env["GITLAB_URL"], "GITLAB_URL", "private_token", token, "GITLAB_TOKEN")
    variable = next((v for v in ("CI_API_V4_URL", "CI_SERVER_URL") if env.get(v)), None)
    if variable is None:
        return None
    if token is not None:
        return Environment(env[variable], variable, "private_token", token, "GITLAB_TOKEN")
    job_token = env.get("CI_JOB_TOKEN") or None
    if job_token is None:
        return Environment(env[variable], variable)
    return Environment(env[variable], variable, "job_token", job_token, "CI_JOB_TOKEN")
