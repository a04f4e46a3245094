"""Printing results for people (rich tables on a terminal, plain text when piped) and for
machines (JSON, CSV). Strictly private."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["Output"]


class Output:
    """Where and how to print. ``fmt`` is table, json or csv."""

    def __init__(self, fmt: str = "table", stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self._console: Any = None
        if self.tty:
            try:
                from rich.console import Console
            except ImportError:  # the `cli` extra is not installed: plain output
                pass
            else:
                self._console = Console(file=self.stream, highlight=False)

    @property
    def rich(self) -> bool:
        return self._console is not None

    def line(self, text: str = "") -> None:
        if self._console is not None:
            self._console.print(text, markup=False)
        else:
            print(text, file=self.stream)

    def json(self, data: Any) -> None:
        print(json.dumps(data, indent=2, default=str), file=self.stream)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table: rich on a terminal, aligned plain text when piped, CSV with --format csv."""
        cells = [["" if v is None else str(v) for v in row] for row in rows]
        if self.fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(cells)
            self.stream.write(buffer.getvalue())
            return
        if self._console is not None:
            from rich.table import Table

            if title:
                self._console.print(title, style="bold", markup=False)
            table = Table()
            for column in columns:
                table.add_column(column)
            for row in cells:
                table.add_row(*row)
            self._console.print(table)
            return
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        if title:
            print(title, file=self.stream)
        print(
            "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
            file=self.stream,
        )
        for row in cells:
            print(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(),
                file=self.stream,
            )
