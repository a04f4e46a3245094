"""Where a ``gitlab-jobs`` command connects, and with which token. Strictly private.

The GitLab comes from the first of: ``--url``; ``-g NAME`` (a section of python-gitlab's
configuration file); ``GITLAB_URL``, else ``GITLAB_HOST`` (glab's; ``https://`` is added to
a bare host); inside a CI job, ``CI_API_V4_URL`` or ``CI_SERVER_URL``; the default section
of python-gitlab's configuration file.

Each of those places has its own token, and **a token goes only to the URL it was set up
with**: ``GITLAB_TOKEN``, else ``GITLAB_PRIVATE_TOKEN`` or ``GITLAB_OAUTH_TOKEN``
(python-gitlab's), with ``GITLAB_URL``/``GITLAB_HOST``; in a CI job ``GITLAB_TOKEN`` if set,
else ``CI_JOB_TOKEN``; a section's own token. An explicit ``--token`` always wins and goes
to whichever URL is used. ``--url`` without ``--token`` takes the token of a place set up
with that same GitLab, or runs anonymously and says why.
"""

from __future__ import annotations

import argparse
import ssl
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _checks as checks
from .._client import GitLab
from ._config_file import read_section
from ._problems import ConfigError

__all__ = ["ConfigError", "Settings", "Source", "client", "settings", "sources"]


@attrs.frozen
class Source:
    """A place that names a GitLab, with the token set up for it there."""

    url: str
    origin: str
    kind: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    token_origin: str | None = None
    ssl_verify: bool | str = True
    helper: Any = attrs.field(default=None, repr=False)  # resolves a `helper:` token


@attrs.frozen
class Settings:
    """What a command uses: the URL, the token as a keyword of :class:`GitLab`, and why."""

    url: str
    tokens: dict[str, str] = attrs.field(repr=False)
    note: str | None = None
    token_origin: str | None = None
    ssl_verify: bool | str = True

    @property
    def kind(self) -> str | None:
        return next(iter(self.tokens), None)


def _host_url(host: str) -> str:
    return host if "://" in host else f"https://{host}"


def sources(environ: Mapping[str, str], gitlab_id: str | None = None) -> list[Source]:
    """Every place that names a GitLab, in the order they are tried."""
    found: list[Source] = []
    if gitlab_id is not None:
        found.append(_section(environ, gitlab_id))
    token_vars = [
        ("GITLAB_TOKEN", "private_token"),
        ("GITLAB_PRIVATE_TOKEN", "private_token"),
        ("GITLAB_OAUTH_TOKEN", "oauth_token"),
    ]
    token = next(((v, k) for v, k in token_vars if environ.get(v)), None)
    for variable, url in (
        ("GITLAB_URL", environ.get("GITLAB_URL")),
        ("GITLAB_HOST", environ.get("GITLAB_HOST")),
    ):
        if url:
            if variable == "GITLAB_HOST":
                url = _host_url(url)
            if token:
                found.append(Source(url, variable, token[1], environ[token[0]], token[0]))
            else:
                found.append(Source(url, variable))
            break
    ci = next((v for v in ("CI_API_V4_URL", "CI_SERVER_URL") if environ.get(v)), None)
    if ci is not None:
        if environ.get("GITLAB_TOKEN"):
            found.append(
                Source(environ[ci], ci, "private_token", environ["GITLAB_TOKEN"], "GITLAB_TOKEN")
            )
        elif environ.get("CI_JOB_TOKEN"):
            found.append(
                Source(environ[ci], ci, "job_token", environ["CI_JOB_TOKEN"], "CI_JOB_TOKEN")
            )
        else:
            found.append(Source(environ[ci], ci))
    if gitlab_id is None:
        section = read_section(environ, None)
        if section is not None:
            found.append(_from_section(section))
    return found


def _section(environ: Mapping[str, str], name: str) -> Source:
    section = read_section(environ, name)
    assert section is not None  # read_section raises for a missing named section
    return _from_section(section)


def _from_section(section: Any) -> Source:
    where = f"[{section.name}] of the python-gitlab configuration"
    return Source(
        section.url,
        where,
        section.kind,
        section.token,
        where if section.kind else None,
        section.ssl_verify,
        section.resolved_token,
    )


def settings(
    url: str | None,
    token: str | None,
    environ: Mapping[str, str],
    gitlab_id: str | None = None,
) -> Settings:
    """Which GitLab a command talks to, with which token (the module docstring's rules).

    Raises:
        ConfigError: no URL is given or set, or the one used is malformed.
    """
    places = sources(environ, gitlab_id)
    if url:
        _check_url(url, "--url")
        if token:
            return Settings(url, {"private_token": token}, token_origin="--token")
        same = next((p for p in places if p.kind and _same_gitlab(url, p.url)), None)
        if same is not None:
            return _use(same, url)
        other = next((p for p in places if p.kind), None)
        if other is None:
            return Settings(url, {})
        # Neither URL is quoted: either may carry what should not reach a log.
        note = (
            f"--url is not {_named(other.origin)}, so {_named(other.token_origin)} is not sent "
            "there; running anonymously (pass --token to authenticate)"
        )
        return Settings(url, {}, note=note)
    if not places:
        raise ConfigError(
            "no GitLab URL: pass --url (and --token), set GITLAB_URL (and GITLAB_TOKEN), "
            "or use python-gitlab's configuration file (-g NAME)"
        )
    chosen = places[0]
    _check_url(chosen.url, _named(chosen.origin))
    if token:
        return Settings(
            chosen.url,
            {"private_token": token},
            token_origin="--token",
            ssl_verify=chosen.ssl_verify,
        )
    return _use(chosen, chosen.url)


def _named(origin: str | None) -> str:
    """``$GITLAB_URL`` for a variable, the words for a configuration section."""
    text = origin or "?"
    return f"${text}" if text.replace("_", "").isalnum() and text.isupper() else text


def _use(place: Source, url: str) -> Settings:
    value = place.helper() if place.helper is not None else place.token
    tokens = {place.kind: value} if place.kind and value else {}
    return Settings(url, tokens, token_origin=place.token_origin, ssl_verify=place.ssl_verify)


def _check_url(url: str, origin: str) -> None:
    try:
        checks.api_url(url)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{origin} is malformed ({exc}); it should look like https://gitlab.example.com"
        ) from None


def _same_gitlab(one: str, other: str) -> bool:
    """Both name the same API root (scheme, host, port and path, as the client would use)."""
    try:
        a, b = checks.api_url(one), checks.api_url(other)
    except (TypeError, ValueError):
        return False
    return (a.scheme, a.host, a.port, a.path) == (b.scheme, b.host, b.port, b.path)


def _ssl(verify: bool | str) -> ssl.SSLContext | bool:
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"ssl_verify names a CA bundle that cannot be read: {exc}") from None
    return verify


def client(args: argparse.Namespace, environ: Mapping[str, str], **options: Any) -> GitLab:
    """The client for the command line and the environment, routed by :func:`settings`.

    The chosen :class:`Settings` is kept on ``args.settings`` for error messages.
    """
    chosen = settings(args.url, args.token, environ, getattr(args, "gitlab", None))
    args.settings = chosen
    if chosen.note and getattr(args, "out", None) is not None:
        args.out.note(chosen.note)
    try:
        return GitLab(chosen.url, ssl=_ssl(chosen.ssl_verify), **chosen.tokens, **options)  # type: ignore[arg-type]
    except ValueError as exc:  # e.g. a token holding a line break
        raise ConfigError(str(exc)) from None
