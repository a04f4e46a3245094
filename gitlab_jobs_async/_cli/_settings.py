"""Where a ``gitlab-jobs`` command connects, and with which token. Strictly private."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from .. import _checks as checks
from .._client import GitLab, read_environment

__all__ = ["ConfigError", "client", "settings"]


class ConfigError(Exception):
    """A missing or malformed setting; the message says what to set."""


def settings(
    url: str | None, token: str | None, environ: Mapping[str, str]
) -> tuple[str, dict[str, str], str | None]:
    """Which GitLab a command talks to and with which token: ``(url, token kwargs, note)``.

    An explicit flag always wins: ``--url`` with ``--token``, or ``--token`` alone with the
    environment's URL (``GITLAB_URL``, else the CI job's). A token from the environment goes
    only to the URL from the same environment: ``--url`` naming another GitLab without
    ``--token`` runs anonymously, and ``note`` says why no token was sent.

    Raises:
        ConfigError: when no URL is given or set.
    """
    found = read_environment(environ)
    if url:
        if token:
            return url, {"private_token": token}, None
        if found is None or not found.tokens():
            return url, {}, None
        if _same_gitlab(url, found.url):
            return url, found.tokens(), None
        # Neither URL is quoted: either may carry what should not reach a log.
        return (
            url,
            {},
            (
                f"--url is not ${found.url_variable}, so ${found.token_variable} is not sent "
                "there; running anonymously (pass --token to authenticate)"
            ),
        )
    if found is None:
        raise ConfigError(
            "no GitLab URL: pass --url (and --token) or set GITLAB_URL (and GITLAB_TOKEN)"
        )
    return found.url, ({"private_token": token} if token else found.tokens()), None


def _same_gitlab(one: str, other: str) -> bool:
    """Both name the same API root (scheme, host, port and path, as the client would use)."""
    try:
        a, b = checks.api_url(one), checks.api_url(other)
    except (TypeError, ValueError):
        return False
    return (a.scheme, a.host, a.port, a.path) == (b.scheme, b.host, b.port, b.path)


def client(args: argparse.Namespace) -> GitLab:
    """The client for ``--url``/``--token`` and the environment, routed by :func:`settings`."""
    url, tokens, note = settings(args.url, args.token, os.environ)
    if note:
        print(f"gitlab-jobs: {note}", file=sys.stderr)
    return GitLab(url, **tokens)  # type: ignore[arg-type]
