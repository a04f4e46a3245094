"""python-gitlab's configuration file, read with the standard library. Strictly private.

The same files and rules as python-gitlab (``gitlab/config.py``): ``PYTHON_GITLAB_CFG``
names one file; otherwise ``/etc/python-gitlab.cfg`` then ``~/.python-gitlab.cfg``, the
later overriding the earlier. ``[global] default = NAME`` picks the section unless
``-g NAME`` does; a section has ``url`` and at most one of ``private_token``,
``oauth_token`` and ``job_token``; ``ssl_verify`` (in ``[global]`` or the section) is a
boolean or the path of a CA bundle. A token written ``helper: COMMAND`` is the output of
that command, run without a shell, and only when the section is used.
"""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs

from ._problems import ConfigError

__all__ = ["Section", "config_files", "read_section"]

TOKEN_KINDS = ("private_token", "oauth_token", "job_token")
HELPER = "helper:"


@attrs.frozen
class Section:
    """One GitLab of the configuration file."""

    name: str
    url: str
    kind: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    ssl_verify: bool | str = True

    def resolved_token(self) -> str | None:
        """The token, running its ``helper:`` command if it has one.

        Raises:
            ConfigError: the helper failed.
        """
        if self.token is None or not self.token.strip().lower().startswith(HELPER):
            return self.token
        command = [
            os.path.expanduser(os.path.expandvars(part))
            for part in shlex.split(self.token.strip()[len(HELPER) :])
        ]
        try:
            output = subprocess.run(command, capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(
                f"the token helper of [{self.name}] in the python-gitlab configuration "
                f"failed: {type(exc).__name__}"
            ) from None
        return output.stdout.decode("utf-8", "replace").strip() or None


def config_files(environ: Mapping[str, str]) -> list[Path]:
    """The configuration files that exist, in reading order.

    Raises:
        ConfigError: ``PYTHON_GITLAB_CFG`` names a file that cannot be read.
    """
    named = environ.get("PYTHON_GITLAB_CFG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"PYTHON_GITLAB_CFG names {named}, which is not a readable file")
        return [path]
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return [p for p in (Path("/etc/python-gitlab.cfg"), home / ".python-gitlab.cfg") if p.is_file()]


def read_section(environ: Mapping[str, str], name: str | None) -> Section | None:
    """The section ``name`` (``-g NAME``), else the file's default; ``None`` without files
    or, when no name was asked for, without a default.

    Raises:
        ConfigError: ``name`` was asked for and is not there, or a file is malformed.
    """
    files = config_files(environ)
    if not files:
        if name is not None:
            raise ConfigError(
                f"-g {name}: no python-gitlab configuration file (~/.python-gitlab.cfg, "
                "or PYTHON_GITLAB_CFG)"
            )
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(files, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"the python-gitlab configuration is malformed: {type(exc).__name__}"
        ) from None
    chosen = name or parser.get("global", "default", fallback=None)
    if chosen is None:
        return None
    if not parser.has_section(chosen) or not parser.get(chosen, "url", fallback=None):
        shown = ", ".join(s for s in parser.sections() if s != "global") or "none"
        raise ConfigError(
            f"no [{chosen}] section with a url in the python-gitlab configuration "
            f"(sections: {shown})"
        )
    tokens = [(k, parser.get(chosen, k)) for k in TOKEN_KINDS if parser.get(chosen, k, fallback="")]
    if len(tokens) > 1:
        raise ConfigError(f"[{chosen}] of the python-gitlab configuration has several tokens")
    kind, token = tokens[0] if tokens else (None, None)
    return Section(chosen, parser.get(chosen, "url"), kind, token, _ssl_verify(parser, chosen))


def _ssl_verify(parser: configparser.ConfigParser, section: str) -> bool | str:
    value: bool | str = True
    for where in ("global", section):
        if parser.has_option(where, "ssl_verify"):
            try:
                value = parser.getboolean(where, "ssl_verify")
            except ValueError:  # a CA bundle's path
                value = parser.get(where, "ssl_verify")
    return value
