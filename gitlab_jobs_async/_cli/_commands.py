"""Which function runs each ``gitlab-jobs`` command. Strictly private.

Each command's module is imported only when that command runs: ``demo`` and ``serve`` bring
in the fake GitLab, which no other command (nor ``--version`` or ``--help``) should pay for.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Awaitable, Callable

from ._output import Output

__all__ = ["COMMANDS", "command"]

Command = Callable[[argparse.Namespace, Output], Awaitable[int]]

COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("_audit_cmd", "cmd_audit"),
    "list": ("_jobs", "cmd_list"),
    "show": ("_jobs", "cmd_show"),
    "trace": ("_trace", "cmd_trace"),
    "pipeline": ("_pipeline", "cmd_pipeline"),
    "logs": ("_pipeline", "cmd_logs"),
    "retry-failed": ("_actions", "cmd_retry_failed"),
    "cancel": ("_actions", "cmd_action"),
    "retry": ("_actions", "cmd_action"),
    "erase": ("_actions", "cmd_action"),
    "play": ("_actions", "cmd_action"),
    "artifacts": ("_download", "cmd_artifacts"),
    "watch": ("_watch", "cmd_watch"),
    "demo": ("_demo", "cmd_demo"),
    "serve": ("_demo", "cmd_serve"),
}
"""Command name → (module of this package, function)."""


def command(name: str) -> Command:
    """The function of command ``name``, its module imported now."""
    module, function = COMMANDS[name]
    found: Command = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return found
