"""Which project, pipeline and branch a command means when the user did not say. Strictly private.

The project is ``-R/--repo`` or the command's PROJECT argument; else, inside a CI job,
``CI_PROJECT_ID`` (or ``CI_PROJECT_PATH``); else the project of the current directory's git
remote (``origin``, else the only remote), as glab does. The branch defaults to the CI
job's ``CI_COMMIT_REF_NAME``, else the current git branch; the pipeline to ``CI_PIPELINE_ID``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping

from ._problems import ConfigError

__all__ = ["current_branch", "project_key", "project_of_remote", "remote_project", "which_project"]

_SCP = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!\d+/)(?P<path>[^\\]+?)(?:\.git)?/?$")
_URL = re.compile(r"^(?:ssh|git|https?)://[^/]+/(?P<path>.+?)(?:\.git)?/?$")


def project_of_remote(remote: str) -> str | None:
    """``group/sub/app`` from a git remote URL (SSH, scp-like or HTTP(S)); ``None`` if none."""
    remote = remote.strip()
    match = _URL.match(remote) or _SCP.match(remote)
    if match is None:
        return None
    path = match.group("path").strip("/")
    if path.startswith("scm/"):  # not GitLab's layout
        return None
    return path if "/" in path else None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def remote_project() -> str | None:
    """The project of the current directory's git remote, if it has one."""
    remotes = (_git("remote") or "").split()
    if not remotes:
        return None
    name = "origin" if "origin" in remotes else remotes[0] if len(remotes) == 1 else None
    if name is None:
        return None
    url = _git("remote", "get-url", name)
    return project_of_remote(url) if url else None


def current_branch(environ: Mapping[str, str]) -> str | None:
    """The CI job's branch, else the current git branch (``None`` when detached or not git)."""
    if environ.get("CI_COMMIT_REF_NAME"):
        return environ["CI_COMMIT_REF_NAME"]
    branch = _git("symbolic-ref", "--quiet", "--short", "HEAD")
    return branch or None


def project_key(text: str) -> int | str:
    """A numeric project id as ``int``, a path as it is."""
    return int(text) if text.isascii() and text.isdigit() else text


def which_project(
    given: str | None, repo: str | None, environ: Mapping[str, str], *, infer: bool = True
) -> int | str:
    """The project a command acts on (the module docstring's order).

    Raises:
        ConfigError: two projects were given, or none and none could be inferred.
    """
    if given and repo and given != repo:
        raise ConfigError(f"two projects given: {given} and -R {repo}; give one")
    chosen = given or repo
    if chosen:
        return project_key(chosen)
    if infer:
        if environ.get("CI_PROJECT_ID"):
            return project_key(environ["CI_PROJECT_ID"])
        if environ.get("CI_PROJECT_PATH"):
            return environ["CI_PROJECT_PATH"]
        inferred = remote_project()
        if inferred:
            return inferred
    raise ConfigError(
        "which project? Pass PROJECT (group/app) or -R group/app, or run inside a git "
        "checkout whose remote is on GitLab"
    )
