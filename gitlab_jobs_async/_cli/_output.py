"""Printing for people (rich tables on a terminal, aligned text when piped) and for machines
(JSON, JSON Lines, CSV). Strictly private.

Every cell goes through :mod:`._text`: data from GitLab is never interpreted as rich markup
or emoji codes, and never reaches the terminal or a spreadsheet as an escape or a formula.
Colour follows https://no-color.org: ``NO_COLOR`` set to anything but an empty string
turns it off, as does ``TERM=dumb``; it is only ever drawn on a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import attrs

from ._text import csv_cell, duration, json_safe, printable, when

__all__ = ["STATUS_STYLES", "Column", "Output", "colour_wanted", "human"]

Kind = Literal["text", "id", "status", "url", "duration", "time", "count"]

STATUS_STYLES = {
    "success": "green",
    "failed": "red",
    "running": "blue",
    "pending": "yellow",
    "created": "yellow",
    "preparing": "yellow",
    "waiting_for_resource": "yellow",
    "waiting_for_callback": "yellow",
    "scheduled": "yellow",
    "manual": "magenta",
    "canceling": "dim",
    "canceled": "dim",
    "skipped": "dim",
}


@attrs.frozen
class Column:
    """A column: its header, and how its values are shown to people."""

    header: str
    kind: Kind = "text"
    link: str | None = None
    """The header of a ``url`` column: on a terminal this cell links there (OSC 8), and
    that column is left out, so the id stays readable where a long URL would fold."""


def colour_wanted(environ: Mapping[str, str]) -> bool:
    """Colour is allowed unless ``NO_COLOR`` is set (not empty) or the terminal is ``dumb``."""
    return not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def human(value: Any, kind: Kind, now: datetime) -> str:
    if value is None:
        return ""
    if kind == "duration":
        return duration(float(value))
    if kind == "time" and isinstance(value, datetime):
        return when(value, now)
    if kind == "count" and isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple | list):
        return printable(", ".join(str(v) for v in value))
    if isinstance(value, float):
        return f"{value:g}"
    return printable(str(value))


class Output:
    """Where and how to print. ``fmt`` is table, json, jsonl or csv.

    Args:
        fmt: the output format.
        stream: where results go (default ``sys.stdout``).
        err: where messages and progress go (default ``sys.stderr``).
        environ: the environment read for ``NO_COLOR`` and ``TERM`` (default ``os.environ``).
        now: the moment tables count "ago" from (default: now).
    """

    def __init__(
        self,
        fmt: str = "table",
        stream: TextIO | None = None,
        *,
        err: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.fmt = fmt
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        env = os.environ if environ is None else environ
        self.tty = _isatty(self.stream)
        self.err_tty = _isatty(self.err)
        self.colour = colour_wanted(env)
        self.now = now or datetime.now(UTC)
        self._console: Any = _console(self.stream, self.colour) if self.tty else None
        self.err_console: Any = _console(self.err, self.colour) if self.err_tty else None

    @property
    def rich(self) -> bool:
        """Whether results are drawn with rich (a terminal, and the ``cli`` extra)."""
        return self._console is not None

    # -- people ---------------------------------------------------------------------------

    def line(self, text: str = "", *, style: str | None = None) -> None:
        """One line of our own wording (data in it is made printable)."""
        shown = printable(text)
        if self._console is not None:
            self._console.print(shown, style=style if self.colour else None, soft_wrap=True)
        else:
            print(shown, file=self.stream)

    def note(self, text: str) -> None:
        """A message on stderr, ``gitlab-jobs: ...``."""
        print(f"gitlab-jobs: {printable(text)}", file=self.err, flush=True)

    def heading(self, text: str) -> None:
        if self._console is not None:
            self._console.print(printable(text), style="bold" if self.colour else None)
        else:
            print(printable(text), file=self.stream)

    def table(
        self,
        title: str,
        columns: Sequence[Column],
        rows: Sequence[Sequence[Any]],
        *,
        empty: str = "none",
    ) -> None:
        """A table: rich on a terminal, aligned text when piped, CSV with ``--format csv``.

        For people, columns empty in every row are left out, and a table without rows says
        ``empty`` under its title instead. CSV keeps every column, with raw values.
        """
        if self.fmt == "csv":
            self.csv([c.header for c in columns], rows)
            return
        if title:
            self.heading(title)
        if not rows:
            self.line(f"  {empty}")
            return
        if self._console is not None:
            self._console.print(self.rich_table(columns, rows))
            return
        cells, keep = self._cells(columns, rows)
        headers = [columns[i].header for i in keep]
        kept = [[row[i] for i in keep] for row in cells]
        widths = [max([len(h), *(len(r[n]) for r in kept)]) for n, h in enumerate(headers)]
        for row in [headers, *kept]:
            text = "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
            print(text.rstrip(), file=self.stream)

    def _cells(
        self, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
    ) -> tuple[list[list[str]], list[int]]:
        """Each value as people read it, and the columns that are not empty everywhere."""
        cells = [
            [human(v, c.kind, self.now) for v, c in zip(row, columns, strict=True)] for row in rows
        ]
        return cells, [i for i in range(len(columns)) if any(row[i] for row in cells)]

    def rich_view(
        self, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
    ) -> Any:
        """A title and a table as one rich renderable (for live views)."""
        from rich.console import Group
        from rich.text import Text

        heading = Text(printable(title), style="bold" if self.colour else "")
        return Group(heading, self.rich_table(columns, rows))

    def rich_table(self, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> Any:
        """A rich table; every cell a ``Text``, so nothing in it is read as markup."""
        from rich.style import Style
        from rich.table import Table
        from rich.text import Text

        cells, keep = self._cells(columns, rows)
        headers = [c.header for c in columns]
        linked = {headers.index(c.link) for c in columns if c.link in headers}
        keep = [i for i in keep if i not in linked]
        table = Table(header_style="bold" if self.colour else "")
        for index in keep:
            kind = columns[index].kind
            table.add_column(
                Text(columns[index].header),
                overflow="fold" if kind in ("url", "text") else "ellipsis",
                no_wrap=kind in ("id", "status", "duration", "time", "count"),
                justify="right" if kind in ("id", "count", "duration") else "left",
            )
        for row, shown in zip(rows, cells, strict=True):
            texts = []
            for index in keep:
                kind, value, text = columns[index].kind, row[index], shown[index]
                style: Style | str = ""
                if kind == "status" and self.colour:
                    style = STATUS_STYLES.get(text, "")
                link = value if kind == "url" else None
                if columns[index].link in headers:
                    link = row[headers.index(columns[index].link or "")]
                if isinstance(link, str) and link.startswith(("https://", "http://")):
                    # A terminal hyperlink (OSC 8); rich folds a URL's text when too wide.
                    style = Style(
                        link=link, color=style if isinstance(style, str) and style else None
                    )
                texts.append(Text(text, style=style))
            table.add_row(*texts)
        return table

    # -- machines -------------------------------------------------------------------------

    def csv(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """One CSV table: a header row, then raw values made safe for spreadsheets."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        self.stream.write(buffer.getvalue())
        self.stream.flush()

    def json(self, data: Any) -> None:
        """One JSON document, indented."""
        print(_dumps(data, indent=2), file=self.stream, flush=True)

    @contextmanager
    def json_items(self) -> Iterator[Any]:
        """Write items as they come: a JSON array (``json``) or one line each (``jsonl``).

        Yields a function taking one item. The array is closed even when the items stop
        with an error, so what was printed stays valid JSON.
        """
        lines = self.fmt == "jsonl"
        count = 0

        def write(item: Any) -> None:
            nonlocal count
            if lines:
                self.stream.write(_dumps(item) + "\n")
            else:
                self.stream.write(("[\n  " if count == 0 else ",\n  ") + _dumps(item))
            count += 1
            self.stream.flush()

        try:
            yield write
        finally:
            if not lines:
                self.stream.write("[]\n" if count == 0 else "\n]\n")
                self.stream.flush()


def _dumps(data: Any, indent: int | None = None) -> str:
    return json_safe(json.dumps(data, indent=indent, ensure_ascii=False, default=str))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _console(stream: TextIO, colour: bool) -> Any:
    try:
        from rich.console import Console
    except ImportError:  # the `cli` extra is not installed: plain output
        return None
    try:  # the terminal's own width, whichever stream it is (rich looks at stdout)
        width: int | None = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        width = None
    return Console(
        file=stream,
        markup=False,
        emoji=False,
        highlight=False,
        no_color=not colour,
        force_terminal=True,
        width=width or None,
    )
