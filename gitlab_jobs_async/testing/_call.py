"""What every API request goes through before its handler's own logic, written once.

Rate limits first (Rack::Attack in front of GitLab, :func:`throttle`), then each handler's
prologue (:func:`prologue`) in GitLab's order of checks: authentication (401), Grape's
parameter validation (400), application rate limits (429), the project (404, or a moved
project's 301/405), read access to its jobs (403), the job (404) and the role (403).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, Protocol, TypedDict, TypeVar, Unpack, overload

import attrs
from aiohttp import web
from yarl import URL

from ._access import Caller, identify, offered_credential
from ._errors import FakeError, Throttled, error, json_response
from ._knobs import Knobs
from ._params import Checks, read_params
from ._ratelimits import (
    RETRY_LATER,
    TOO_MANY,
    Counters,
    EndpointLimit,
    Throttle,
    throttle_headers,
)
from ._records import FakeJob, FakeProject, Role
from ._state import Store

__all__ = ["Call", "Site", "prologue", "throttle"]

T = TypeVar("T")


class Site(Protocol):
    """What handlers need of the fake: its store, knobs, counters and URLs."""

    @property
    def store(self) -> Store: ...
    @property
    def knobs(self) -> Knobs: ...
    @property
    def counters(self) -> Counters: ...
    @property
    def external_url(self) -> str: ...
    @property
    def storage_url(self) -> str: ...


@attrs.frozen
class Call(Generic[T]):
    """A request that passed its handler's prologue."""

    caller: Caller
    params: Mapping[str, Any]
    project: FakeProject
    job: FakeJob | None
    args: T
    """What the handler's ``declare`` read from the params."""
    declared: Mapping[str, Any]
    """Declared params as Grape coerced them, defaults included (echoed in links)."""

    @property
    def the_job(self) -> FakeJob:
        """The job, for handlers that asked for one."""
        assert self.job is not None
        return self.job


class Options(TypedDict, total=False):
    """What a handler's prologue checks, besides authentication.

    ``job``: find ``job_id`` among the project's builds, or builds and bridges (``any``).
    ``job_token``: the route accepts CI job tokens. ``anonymous``: the route allows
    anonymous reads (``authenticate_non_get!``). ``read``: require ``read_build`` on the
    project (403 otherwise; default true). ``role``: the least role needed (403 below
    it), checked after finding the job, or before it with ``role_first``.
    """

    job: Literal["build", "any"] | None
    job_token: bool
    anonymous: bool
    read: bool
    role: Role | None
    role_first: bool


@overload
async def prologue(
    site: Site, request: web.Request, declare: Callable[[Checks], T], **options: Unpack[Options]
) -> Call[T]: ...
@overload
async def prologue(
    site: Site, request: web.Request, declare: None = None, **options: Unpack[Options]
) -> Call[None]: ...
async def prologue(
    site: Site,
    request: web.Request,
    declare: Callable[[Checks], Any] | None = None,
    **options: Unpack[Options],
) -> Call[Any]:
    """Authenticate, validate, limit, and find the project (and job) of ``request``.

    ``declare`` reads the handler's own params from the :class:`Checks` (before any
    lookup, as Grape validates them); its result is :attr:`Call.args`.
    """
    job = options.get("job")
    role = options.get("role")
    role_first = options.get("role_first", False)
    params = await read_params(request)
    caller = identify(
        request,
        params,
        site.store.tokens,
        job_token_allowed=options.get("job_token", False),
        required=not options.get("anonymous", False),
    )
    checks = Checks(params)
    job_id = checks.integer("job_id", request.match_info["job_id"]) if job else None
    args = declare(checks) if declare is not None else None
    checks.done()
    _endpoint_limits(site, request, caller)
    project = find_project(site, request, caller)
    if options.get("read", True) and not caller.can_read_builds(project):
        raise error(403, "403 Forbidden")
    if role is not None and role_first:
        caller.require_role(project, role)
    found = None
    if job is not None:
        found = site.store.jobs.get(job_id) if job_id is not None else None
        if found is None or found.project is not project or (job == "build" and found.is_bridge):
            raise error(404, "404 Not found")  # ActiveRecord::RecordNotFound's wording
    if role is not None and not role_first:
        caller.require_role(project, role)
    return Call(caller, params, project, found, args, checks.declared)


def find_project(site: Site, request: web.Request, caller: Caller) -> FakeProject:
    """The visible project ``:id`` names; a renamed project's old path answers GET with a
    301 to ``/projects/<id>/...`` and other methods with 405, as GitLab does."""
    key = request.match_info["id"]
    project = site.store.find_project(key)
    if project is not None and caller.can_see(project):
        return project
    moved = site.store.moved_project(key) if project is None else None
    if moved is not None and caller.can_see(moved):
        if request.method not in ("GET", "HEAD"):
            raise error(405, "Non GET methods are not allowed for moved projects")
        path, mark, query = request.raw_path.partition("?")
        head, _, tail = path.partition("/projects/")
        rest = tail.partition("/")[2]
        target = f"{head}/projects/{moved.id}" + (f"/{rest}" if rest else "") + mark + query
        origin = URL(site.external_url).origin()
        raise FakeError(301, None, {"Location": f"{origin}{target}"})
    raise error(404, "404 Project Not Found")


def _endpoint_limits(site: Site, request: web.Request, caller: Caller) -> None:
    """``check_rate_limit!``: per user, after params, before the project (§6.2)."""
    for limit in site.knobs.rate_limits:
        if not isinstance(limit, EndpointLimit) or not limit.applies(
            request.method, request.raw_path.split("?", 1)[0]
        ):
            continue
        who = f"user:{caller.user.id}" if caller.user else f"ip:{request.remote}"
        hit = site.counters.hit(limit, who, site.knobs.clock())
        if hit.throttled:
            headers = {"Retry-After": str(limit.period)} if limit.retry_after else {}
            body = {"message": {"error": TOO_MANY}}
            raise Throttled(limit.name, json_response(body, 429, headers))


def throttle(
    site: Site, request: web.Request, path: str
) -> tuple[dict[str, str], Throttled | None]:
    """Rack::Attack's throttles for ``request``: the ``RateLimit-*`` headers to add to its
    answer, and the 429 to send instead when one throttle is over its limit."""
    store = site.store
    offered = offered_credential(request, request.query)
    token = store.tokens.get(offered[1]) if offered else None
    user = (token.job.user if token.job else token.user) if token else None
    if token is not None and token.job is not None and token.job.user is None:
        user = None
    headers: dict[str, str] = {}
    for limit in site.knobs.rate_limits:
        if not isinstance(limit, Throttle) or not limit.applies(request.method, path):
            continue
        authenticated = user is not None
        if authenticated != (limit.who == "authenticated"):
            continue
        who = f"user:{user.id}" if user is not None else f"ip:{request.remote}"
        hit = site.counters.hit(limit, who, site.knobs.clock())
        if hit.throttled:
            sent = throttle_headers(limit.name, hit, throttled=True)
            if limit.headers == "never":
                sent = {"Retry-After": sent["Retry-After"]}
            response = web.Response(
                status=429, body=RETRY_LATER.encode(), content_type="text/plain", headers=sent
            )
            return headers, Throttled(limit.name, response)
        if limit.headers == "every_answer" and not headers:
            headers = throttle_headers(limit.name, hit, throttled=False)
    return headers, None
