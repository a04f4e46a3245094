"""Who is asking and what they may do, by GitLab's rules (§1, §8). Strictly private."""

from __future__ import annotations

import attrs
from aiohttp import web

from ._errors import error
from ._records import ROLES, FakeJob, FakeProject, FakeUser, Token

__all__ = ["Caller", "identify"]

_EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
_REVOKED = "Token was revoked. You have to re-authorize from the user."


@attrs.frozen
class Caller:
    """The authenticated user (or nobody) and the job of a job token."""

    user: FakeUser | None
    job: FakeJob | None = None

    def role(self, project: FakeProject) -> int:
        if self.user is None:
            return 0
        if self.user.admin:
            return ROLES["owner"]
        return project.members.get(self.user.id, 0)

    def can_see(self, project: FakeProject) -> bool:
        if self.job is not None and self.job.project is not project:
            return False  # job-token scope: its own project only
        if project.visibility == "public":
            return True
        if project.visibility == "internal":
            return self.user is not None
        return self.role(project) >= ROLES["guest"]

    def can_read_builds(self, project: FakeProject) -> bool:
        if self.role(project) >= ROLES["reporter"]:
            return True
        return project.visibility != "private" and project.public_builds

    def require_role(self, project: FakeProject, role: str) -> None:
        if self.role(project) < ROLES[role]:
            raise error(403, "403 Forbidden")


def _offered(request: web.BaseRequest) -> tuple[str, str] | None:
    """The credential the request carries, as (kind hint, value)."""
    headers, query = request.headers, request.query
    if headers.get("PRIVATE-TOKEN"):
        return "private", headers["PRIVATE-TOKEN"]
    if headers.get("JOB-TOKEN"):
        return "job", headers["JOB-TOKEN"]
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return "bearer", auth[7:].strip()
    if query.get("private_token"):
        return "private", query["private_token"]
    if query.get("job_token"):
        return "job", query["job_token"]
    return None


def identify(
    request: web.BaseRequest,
    tokens: dict[str, Token],
    *,
    job_token_allowed: bool,
    required: bool,
) -> Caller:
    """Authenticate like ``API::APIGuard``: 401 shapes, token states and scopes."""
    offered = _offered(request)
    if offered is None:
        if required:
            raise error(401, "401 Unauthorized")
        return Caller(None)
    hint, value = offered
    token = tokens.get(value)
    if (
        token is None
        or (hint == "private" and token.kind == "job")
        or (hint == "job" and token.kind != "job")
    ):
        raise error(401, "401 Unauthorized")
    if token.kind == "job":
        if token.job is None or token.job.status != "running":
            raise error(401, "401 Unauthorized")
        if not job_token_allowed:
            # A job token where job tokens are not accepted authenticates as nobody.
            if required:
                raise error(401, "401 Unauthorized")
            return Caller(None)
        return Caller(token.user, token.job)
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
        raise error(
            403,
            error_="insufficient_scope",
            extra={
                "error_description": (
                    "The request requires higher privileges than provided by the access token."
                ),
                "scope": "api read_api" if reading else "api",
            },
            headers={"WWW-Authenticate": 'Bearer realm="", error="insufficient_scope"'},
        )
    return Caller(token.user)
