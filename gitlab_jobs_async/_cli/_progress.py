"""An audit's live progress on stderr, and the SDK's warnings relayed to the user.
Strictly private.

:class:`AuditProgress` is the state (pure: fed with events, asked for lines); the display
draws its lines on stderr, only when stderr is a terminal, in a bounded height, and leaves
nothing behind. The SDK logs a WARNING on the ``gitlab_jobs_async`` logger for each retry
and each pause for rate limits; :class:`WarningRelay` shows them in the display while one
is drawn, as plain ``gitlab-jobs: warning:`` lines on stderr otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import attrs

from ._output import Output
from ._text import duration, printable

__all__ = ["AuditProgress", "ProjectState", "WarningRelay", "live_progress", "relay_warnings"]


@attrs.define
class ProjectState:
    """One project's walk."""

    name: str
    jobs: int = 0
    oldest: datetime | None = None
    state: str = "waiting"  # waiting, reading, done, skipped


@attrs.define
class AuditProgress:
    """What the audit has read so far, and how to show it in at most ``rows`` lines."""

    projects: dict[str, ProjectState]
    started: float
    since: datetime | None = None
    note: str | None = None
    noted_at: float = 0.0

    @classmethod
    def of(cls, names: list[str], started: float, since: datetime | None) -> AuditProgress:
        return cls({n: ProjectState(n) for n in names}, started, since)

    def job(self, project: str, created_at: datetime | None) -> None:
        state = self.projects[project]
        state.jobs += 1
        state.state = "reading"
        if created_at is not None and (state.oldest is None or created_at < state.oldest):
            state.oldest = created_at

    def finish(self, project: str, state: str = "done") -> None:
        self.projects[project].state = state

    def warn(self, text: str, at: float) -> None:
        self.note, self.noted_at = text, at

    def lines(self, now: float, *, rows: int = 8, today: datetime | None = None) -> list[str]:
        """The display: a summary line, the projects being read first (at most ``rows``),
        how many more, and the latest warning (for 30 s)."""
        states = list(self.projects.values())
        total = sum(s.jobs for s in states)
        done = sum(s.state == "done" for s in states)
        skipped = sum(s.state == "skipped" for s in states)
        elapsed = max(now - self.started, 1e-9)
        rate = f", {total / elapsed:,.0f} jobs/s" if elapsed >= 1 else ""
        head = (
            f"{total:,} job{'s' if total != 1 else ''} from {done} of {len(states)} "
            f"project{'s' if len(states) != 1 else ''} done"
            + (f", {skipped} skipped" if skipped else "")
            + rate
            + f" ({duration(elapsed)})"
        )
        order = {"reading": 0, "waiting": 1, "skipped": 2, "done": 3}
        shown = sorted(states, key=lambda s: (order[s.state], -s.jobs, s.name))
        out = [head]
        for state in shown[:rows]:
            mark = {"done": "✓", "skipped": "✗", "reading": "…", "waiting": " "}[state.state]
            reach = ""
            if self.since is not None and state.oldest is not None and state.state == "reading":
                reach = f", back to {state.oldest.astimezone(UTC):%Y-%m-%d %H:%M}"
            out.append(
                f"  {mark} {printable(state.name)}: {state.jobs:,} "
                f"job{'s' if state.jobs != 1 else ''}{reach}"
            )
        if len(shown) > rows:
            rest = shown[rows:]
            more_done = sum(s.state == "done" for s in rest)
            out.append(f"  … and {len(rest)} more ({more_done} done)")
        if self.note is not None and now - self.noted_at < 30:
            out.append(f"  ⏸ {printable(self.note)} ({now - self.noted_at:.0f}s ago)")
        return out


class WarningRelay(logging.Handler):
    """Sends the SDK's warnings to ``sink`` (a display, or stderr)."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink(record.getMessage())
        except Exception:  # a display that went away must not break a request
            self.handleError(record)


@contextmanager
def relay_warnings(out: Output) -> Iterator[WarningRelay]:
    """Relay the SDK's warnings to stderr while the block runs."""
    relay = WarningRelay(lambda text: out.note(f"warning: {text}"))
    logger = logging.getLogger("gitlab_jobs_async")
    logger.addHandler(relay)
    try:
        yield relay
    finally:
        logger.removeHandler(relay)


@contextmanager
def live_progress(
    out: Output, progress: AuditProgress, relay: WarningRelay | None
) -> Iterator[Callable[..., None]]:
    """Draw ``progress`` on stderr while the block runs (when stderr is a terminal).

    Yields a function to call after each change; it redraws at most 10 times a second
    (``draw(True)`` at once).
    """
    if out.err_console is None:
        yield lambda force=False: None
        return
    from rich.live import Live
    from rich.text import Text

    height = max(3, min(12, (out.err_console.height or 24) - 4))
    live = Live(console=out.err_console, auto_refresh=False, transient=True)
    last = 0.0

    def draw(force: bool = False) -> None:
        nonlocal last
        now = time.monotonic()
        if force or now - last >= 0.1:
            last = now
            text = "\n".join(progress.lines(now, rows=height - 3))
            live.update(Text(text), refresh=True)

    def shown(text: str) -> None:
        progress.warn(text, time.monotonic())
        draw(True)

    previous = relay.sink if relay is not None else None
    if relay is not None:
        relay.sink = shown
    live.start()
    try:
        draw(True)
        yield draw
    finally:
        draw(True)  # the final counts, then the display goes
        live.stop()
        if relay is not None and previous is not None:
            relay.sink = previous
