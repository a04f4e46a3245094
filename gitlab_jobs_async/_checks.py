"""Argument checks: every value a caller passes is checked here, before any request.

Each check is named for what it checks, returns the value (normalised where that helps the
caller) and raises ``TypeError`` for a wrong type or ``ValueError`` for a wrong value, naming
the argument. Values are checked at run time because callers may be untyped. Strictly private.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from ssl import SSLContext
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ._models import JobStatus

__all__ = [
    "MIN_REQUESTS_PER_MINUTE",
    "api_url",
    "artifact_path",
    "aware_datetime",
    "boolean",
    "choice",
    "group",
    "header_value",
    "instance",
    "job_id",
    "per_page",
    "pipeline_id",
    "pipelines",
    "positive_int",
    "positive_seconds",
    "project",
    "projects",
    "ref",
    "requests_per_minute",
    "shown_url",
    "ssl_option",
    "statuses",
    "text",
    "timeout",
    "token",
    "variables",
]

T = TypeVar("T")

_STATUS_VALUES = frozenset(s.value for s in JobStatus)
_HEADER_BREAKERS = frozenset("\r\n\x00")
MIN_REQUESTS_PER_MINUTE = 1.0
"""The slowest pace accepted: one request a minute (a slower one would stall a list for hours)."""


def _type_name(value: object) -> str:
    return type(value).__name__


# -- numbers and flags --------------------------------------------------------------------


def positive_int(name: str, value: object) -> int:
    """``value`` if it is an ``int`` of at least 1 (``bool`` is not an int here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {_type_name(value)}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def job_id(value: object) -> int:
    """A job's id: a positive ``int``."""
    return positive_int("job_id", value)


def pipeline_id(value: object) -> int:
    """A pipeline's id (not its iid): a positive ``int``."""
    return positive_int("pipeline_id", value)


def per_page(value: object) -> int:
    """A page size from 1 to 100 (GitLab clamps larger values silently)."""
    size = positive_int("per_page", value)
    if size > 100:
        raise ValueError(f"per_page must be at most 100 (GitLab's maximum), got {size}")
    return size


def positive_seconds(name: str, value: object) -> float:
    """A finite, positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {_type_name(value)}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite, positive number of seconds, got {value}")
    return float(value)


def boolean(name: str, value: object) -> bool:
    """``value`` if it is a ``bool`` (``0``/``1``/``"yes"`` are refused)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {_type_name(value)}")
    return value


def choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {options}, not {value!r}")
    return value


def aware_datetime(name: str, value: object) -> datetime:
    """A timezone-aware ``datetime``."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {_type_name(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. tzinfo=UTC)")
    return value


def instance(name: str, value: object, cls: type[T]) -> T:
    """``value`` if it is an instance of ``cls``."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, not {_type_name(value)}")
    return value


# -- text and paths -----------------------------------------------------------------------


def text(name: str, value: object) -> str:
    """A non-empty ``str`` without surrounding whitespace."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if not value or value.strip() != value:
        raise ValueError(f"{name} must be non-empty, without surrounding spaces: {value!r}")
    return value


def _segments(name: str, value: str) -> str:
    """Refuse empty, ``.`` and ``..`` segments: a server or proxy that normalises dot
    segments would send ``groups/../projects`` to another endpoint altogether."""
    parts = value.split("/")
    if any(not part for part in parts):
        raise ValueError(f"{name} path has an empty segment: {value!r}")
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"{name} path has a '.' or '..' segment: {value!r}")
    return value


def _namespaced(name: str, value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be an int id or a str path, not {_type_name(value)}")
    if isinstance(value, int):
        return positive_int(name, value)
    if not value or value.strip() != value:
        raise ValueError(f"{name} path must be non-empty, without surrounding spaces: {value!r}")
    if value.isascii() and value.isdigit():
        return positive_int(name, int(value))
    return _segments(name, value)


def project(value: object) -> int | str:
    """A project given by numeric id (``int`` or digits) or full path (``group/sub/app``).

    Digits become an ``int``; a path is returned as given.
    """
    return _namespaced("project", value)


def group(value: object) -> int | str:
    """A group given by numeric id or full path (``group/sub``), as :func:`project`."""
    return _namespaced("group", value)


def ref(value: object) -> str:
    """A branch or tag name (``main``, ``release/1.2``)."""
    return _segments("ref", text("ref", value))


def artifact_path(value: object) -> str:
    """A plain relative path inside an artifacts archive, without leading or trailing ``/``."""
    path = text("artifact_path", value).strip("/")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"artifact_path must be a plain relative path: {value!r}")
    return path


def statuses(scope: object) -> tuple[str, ...]:
    """A job status or a collection of them (``None``: every status), as GitLab's values."""
    if scope is None:
        return ()
    if isinstance(scope, str):
        values: list[object] = [scope]
    elif isinstance(scope, Iterable):
        values = list(scope)
    else:
        raise TypeError(f"scope must be a job status or several, not {_type_name(scope)}")
    found: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"scope values must be job statuses (str), not {_type_name(value)}")
        status = str(value.value) if isinstance(value, JobStatus) else value
        if status not in _STATUS_VALUES:
            raise ValueError(
                f"scope {status!r} is not a job status; valid: {', '.join(sorted(_STATUS_VALUES))}"
            )
        found.append(status)
    return tuple(found)


def _many(name: str, value: object, what: str) -> list[Any]:
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{name} must be an iterable of {what}, not a {_type_name(value)} "
            "(a string iterates its characters): wrap one in a list"
        )
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of {what}, not {_type_name(value)}")
    return list(value)


def projects(value: object) -> list[int | str]:
    """Many projects (a list, tuple, set, generator...; never one ``str``), each checked."""
    items = _many("projects", value, "projects (ids or paths)")
    for item in items:
        project(item)
    return items


def pipelines(value: object) -> list[tuple[int | str, int]]:
    """Many ``(project, pipeline_id)`` pairs, each checked."""
    pairs = []
    for item in _many("pipelines", value, "(project, pipeline_id) pairs"):
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"pipelines must hold (project, pipeline_id) pairs, not {item!r}")
        project(item[0])
        pipeline_id(item[1])
        pairs.append(item)
    return pairs


def variables(value: object) -> dict[str, str]:
    """Job variables for ``play``: a mapping of non-empty ``str`` names to ``str`` values."""
    if not isinstance(value, Mapping):
        raise TypeError(f"variables must map str to str, not be a {_type_name(value)}")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not (isinstance(key, str) and isinstance(item, str)):
            raise TypeError(f"variable {key!r}: keys and values must be str")
        if not key:
            raise ValueError("variable names must not be empty")
        result[key] = item
    return result


# -- the client's construction ------------------------------------------------------------


def shown_url(value: str) -> str:
    """``value`` quoted for an error message, with user info, query and fragment redacted.

    Works on text that is not a URL at all, so the message about a malformed URL can never
    quote a token written into it (``oauth2:glpat-...@host``, ``host?private_token=...``).
    """
    cut = min((i for i in (value.find("?"), value.find("#")) if i >= 0), default=len(value))
    shown = value[:cut]
    start = shown.find("://") + 3 if "://" in shown else 0
    slash = shown.find("/", start)
    end = slash if slash >= 0 else len(shown)
    at = shown.rfind("@", start, end)
    if at >= 0:
        shown = f"{shown[:start]}<redacted>@{shown[at + 1 :]}"
    if cut < len(value):
        shown += "?<redacted>" if value[cut] == "?" else "#<redacted>"
    return repr(shown if len(shown) <= 120 else shown[:117] + "...")


def _parsed(value: str) -> URL | None:
    """``value`` parsed, or ``None``: the caller raises its own error, outside this ``except``,
    so yarl's exception (whose message may quote the URL) is not chained to it."""
    try:
        url = URL(value)
        url.host, url.port  # noqa: B018 - both decode lazily and can raise
    except ValueError:
        return None
    return url


def api_url(value: object) -> URL:
    """GitLab's address as the API base URL ending in ``/api/v4/``.

    An http(s) URL with a host, without user info, query or fragment; ``/api/v4`` is added
    unless already there and a relative URL root (``/gitlab``) is kept. No message quotes
    user info or a query: a URL with a token in it is refused without showing the token.
    """
    if not isinstance(value, str):
        raise TypeError(f"url must be a str, not {_type_name(value)}")
    start = value.find("://") + 3 if "://" in value else 0
    authority = re.split(r"[/?#]", value[start:], maxsplit=1)[0]
    if "@" in authority:
        raise ValueError(
            "url must not carry credentials; pass a token argument instead "
            f"(got {shown_url(value)})"
        )
    if "?" in value or "#" in value:
        raise ValueError(f"url must not have a query or a fragment (got {shown_url(value)})")
    parsed = _parsed(value)
    if parsed is None:
        raise ValueError(f"url is not a valid URL: {shown_url(value)}")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(
            f"url must be an http(s) URL with a host, e.g. https://gitlab.example.com "
            f"(got {shown_url(value)})"
        )
    path = parsed.path.rstrip("/")
    if not path.endswith("/api/v4"):
        path += "/api/v4"
    return parsed.with_path(path + "/")


def header_value(name: str, value: object) -> str:
    """A ``str`` that can travel as one header value: no CR, LF or NUL."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if _HEADER_BREAKERS.intersection(value):
        raise ValueError(f"{name} must not contain CR, LF or NUL characters")
    return value


def token(kind: str, value: object) -> str:
    """A token: a non-blank ``str`` that fits in one header (never quoted in an error)."""
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a str, not {_type_name(value)}")
    if not value.strip() or _HEADER_BREAKERS.intersection(value):
        raise ValueError(f"{kind} must be a non-empty single-line string without NUL")
    return value


def timeout(value: object) -> aiohttp.ClientTimeout:
    """An ``aiohttp.ClientTimeout`` (``None`` is refused: no timeout at all is never meant)."""
    if not isinstance(value, aiohttp.ClientTimeout):
        raise TypeError(
            f"timeout must be an aiohttp.ClientTimeout (e.g. DEFAULT_TIMEOUT), "
            f"not {_type_name(value)}"
        )
    return value


def ssl_option(value: object) -> SSLContext | bool:
    """``True`` (verify), ``False`` (do not verify) or an ``ssl.SSLContext``."""
    if not isinstance(value, bool | SSLContext):
        raise TypeError(f"ssl must be True, False or an ssl.SSLContext, not {value!r}")
    return value


def requests_per_minute(value: object) -> float | None:
    """``None`` (no pace), or a finite pace of at least :data:`MIN_REQUESTS_PER_MINUTE`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"requests_per_minute must be a number or None, not {_type_name(value)}")
    if not (math.isfinite(value) and value >= MIN_REQUESTS_PER_MINUTE):
        raise ValueError(
            f"requests_per_minute must be a finite number of at least "
            f"{MIN_REQUESTS_PER_MINUTE:g}, or None for no pace; got {value}"
        )
    return float(value)
