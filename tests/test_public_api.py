"""The public surface: exactly what __all__ lists, importable module by module."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import gitlab_jobs_async
import gitlab_jobs_async.testing

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_complete():
    """__all__ lists every public name of the package, sorted, and nothing that is missing."""
    # isidentifier: pytest rewrites the modules of a distribution that ships a pytest11
    # plugin, which adds `@py_builtins` and `@pytest_ar` to their namespaces.
    public = {n for n in dir(gitlab_jobs_async) if not n.startswith("_") and n.isidentifier()}
    public -= {"testing", "webhooks"}  # subpackages, imported by the tests
    assert set(gitlab_jobs_async.__all__) - {"__version__"} == public
    assert gitlab_jobs_async.__all__ == sorted(gitlab_jobs_async.__all__)
    for name in gitlab_jobs_async.__all__:
        assert hasattr(gitlab_jobs_async, name)


def test_testing_all_resolves():
    """Every name in gitlab_jobs_async.testing.__all__ exists."""
    for name in gitlab_jobs_async.testing.__all__:
        assert hasattr(gitlab_jobs_async.testing, name)


def test_every_module_imports_on_its_own():
    """Each module imports alone, so there is no circular import hiding behind __init__ order."""
    names = [
        info.name
        for info in pkgutil.walk_packages(gitlab_jobs_async.__path__, "gitlab_jobs_async.")
    ]
    assert "gitlab_jobs_async._client" in names
    for name in names:
        importlib.import_module(name)


def test_version_matches_pyproject_metadata():
    """__version__ is what the installed distribution reports."""
    from importlib.metadata import version

    assert gitlab_jobs_async.__version__ == version("gitlab-jobs-async")


def test_ci_runs_readme_test_command():
    """.ci/run runs exactly the test command README.md gives a newcomer."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^python3 -m venv .*pytest.*$", readme, flags=re.MULTILINE)
    assert len(commands) == 1
    assert commands[0] in (ROOT / ".ci" / "run").read_text().splitlines()
