"""Who is asking and what they may do, by GitLab's rules (§1, §8, §10 item 14)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from aiohttp import web

from ._errors import error
from ._records import ROLES, FakeJob, FakeProject, FakeUser, Role, Token

__all__ = ["Caller", "identify", "offered_credential"]

_EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
_REVOKED = "Token was revoked. You have to re-authorize from the user."
_SCOPE = "The request requires higher privileges than provided by the access token."


@attrs.frozen
class Caller:
    """The authenticated user (or nobody) and, for a CI job token, its job."""

    user: FakeUser | None
    job: FakeJob | None = None

    def role(self, project: FakeProject) -> int:
        """The access level in ``project`` (admins count as owners)."""
        if self.user is None:
            return 0
        if self.user.admin:
            return ROLES["owner"]
        return project.members.get(self.user.id, 0)

    def can_see(self, project: FakeProject) -> bool:
        """``read_project``: public to all, internal to users, private to members."""
        if self.job is not None and self.job.project is not project:
            return False  # job-token scope: its own project only
        if project.visibility == "public":
            return True
        if project.visibility == "internal":
            return self.user is not None
        return self.role(project) >= ROLES["guest"]

    def can_read_builds(self, project: FakeProject) -> bool:
        """``read_build``: reporters, or whoever can see the project when its pipelines are
        public (GitLab's "public pipelines": anyone on public projects, signed-in users on
        internal ones, guests on private ones)."""
        if self.role(project) >= ROLES["reporter"]:
            return True
        return project.public_builds and self.can_see(project)

    def require_role(self, project: FakeProject, role: Role) -> None:
        """403 ``{"message":"403 Forbidden"}`` below ``role``."""
        if self.role(project) < ROLES[role]:
            raise error(403, "403 Forbidden")


def offered_credential(
    request: web.BaseRequest, params: Mapping[str, Any]
) -> tuple[str, str] | None:
    """The credential the request carries, as (kind hint, value)."""
    headers = request.headers
    if headers.get("PRIVATE-TOKEN"):
        return "private", headers["PRIVATE-TOKEN"]
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return "bearer", auth[7:].strip()
    if headers.get("JOB-TOKEN"):
        return "job", headers["JOB-TOKEN"]
    for name, hint in (("private_token", "private"), ("job_token", "job")):
        value = params.get(name)
        if isinstance(value, str) and value:
            return hint, value
    return None


def identify(
    request: web.BaseRequest,
    params: Mapping[str, Any],
    tokens: Mapping[str, Token],
    *,
    job_token_allowed: bool,
    required: bool,
) -> Caller:
    """Authenticate like ``API::APIGuard``: 401 shapes, token states and scopes.

    ``required``: the route calls ``authenticate!`` (anonymous → 401). A job token on a
    route that does not accept job tokens authenticates as nobody.
    """
    offered = offered_credential(request, params)
    if offered is None:
        if required:
            raise error(401, "401 Unauthorized")
        return Caller(None)
    hint, value = offered
    token = tokens.get(value)
    unknown = (
        token is None
        or (hint == "private" and token.kind != "personal")
        or (hint == "job" and token.kind != "job")
    )
    if token is None or unknown:
        raise error(401, "401 Unauthorized")
    if token.kind == "job":
        if not job_token_allowed:
            if required:
                raise error(401, "401 Unauthorized")
            return Caller(None)
        if token.job is None or token.job.status != "running":
            raise error(401, "401 Unauthorized")  # a finished job's token is unknown
        return Caller(token.job.user, token.job)  # the job's user, even after a replay
    if token.state in ("expired", "revoked"):
        description = _EXPIRED if token.state == "expired" else _REVOKED
        raise error(
            401,
            error_="invalid_token",
            extra={"error_description": description},
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="", error="invalid_token", error_description="{description}"'
                )
            },
        )
    reading = request.method in ("GET", "HEAD")
    if "api" not in token.scopes and not (reading and "read_api" in token.scopes):
        # rack-oauth2's Forbidden carries no WWW-Authenticate header (GitLab notes this).
        raise error(
            403,
            error_="insufficient_scope",
            extra={"error_description": _SCOPE, "scope": "api read_api" if reading else "api"},
        )
    return Caller(token.user)
