"""Run the tests on every supported Python found on this machine: ``nox`` (or ``nox -s tests``).

``nox -s tests-3.12`` runs one version; arguments after ``--`` go to pytest
(``nox -- tests/test_cli.py -x``); ``nox -s check`` runs ruff and mypy once. Interpreters are
taken from ``PATH`` and, where pyenv is used, from ``~/.pyenv/versions``; a version that is
not found is skipped (with ``--error-on-missing-interpreters``, as CI should, it fails).
"""

from __future__ import annotations

import glob
import os

import nox

PYTHONS = ["3.11", "3.12", "3.13"]

# pyenv keeps each interpreter in ~/.pyenv/versions/X.Y.Z/bin: make them findable by nox.
for _bin in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[123].*/bin"))):
    os.environ["PATH"] = f"{_bin}{os.pathsep}{os.environ.get('PATH', '')}"

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite, as CI runs it."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHONS[0])
def check(session: nox.Session) -> None:
    """ruff and mypy, once (their results do not depend on the Python running them)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
