"""Reading GitLab job logs as text: incremental lines, ANSI stripping and sections.

Pure functions and small state machines, no I/O. Logs arrive as byte chunks cut anywhere:

* UTF-8 sequences split across chunks are reassembled; invalid bytes become U+FFFD.
* Lines end at ``\\n`` or ``\\r\\n``; a ``\\r`` at the very end of a chunk is held back until
  the next chunk shows whether a ``\\n`` follows. Lines come out without their terminator.
* A bare ``\\r`` inside a line is a terminal redraw (progress bars). :class:`LineDecoder`
  keeps the raw line by default; :func:`visible` gives what a terminal shows: the text after
  the last bare ``\\r``.
* Sections are marked as the runner writes them (SERVER-BEHAVIOUR.md §7):
  ``section_start:<unix ts>:<name>[<options>]\\r\\x1b[0K<header>`` and
  ``section_end:<unix ts>:<name>\\r\\x1b[0K``. They nest, and one line may hold several
  markers (a section's end followed by the next one's start). An end whose name is not the
  innermost open section closes every section up to the one it names, as GitLab's log view
  does; an end naming no open section is ignored.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import attrs

__all__ = [
    "LineDecoder",
    "LogSection",
    "SectionParser",
    "iter_lines",
    "parse_sections",
    "strip_ansi",
    "visible",
]

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, erase line, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
)
_MARKER = re.compile(
    r"section_(start|end):(\d+):([^\s\[\r\n]+)(?:\[([^\]\r\n]*)\])?\r?(?:\x1b\[0K)?"
)


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, erase-line, OSC), keeping the plain text."""
    return _ANSI.sub("", text)


def visible(line: str) -> str:
    """What a terminal shows of a raw line: the text after its last bare ``\\r``."""
    return line.rsplit("\r", 1)[-1]


class LineDecoder:
    """Turns byte chunks cut anywhere into complete text lines.

    Args:
        strip_ansi: remove ANSI escape sequences from the lines.
        redraws: ``"keep"`` (default) returns raw lines; ``"visible"`` returns what a
            terminal shows of each (see :func:`visible`).
    """

    def __init__(self, *, strip_ansi: bool = False, redraws: str = "keep") -> None:
        if redraws not in ("keep", "visible"):
            raise ValueError(f"redraws must be 'keep' or 'visible', not {redraws!r}")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._strip = strip_ansi
        self._visible = redraws == "visible"

    def feed(self, chunk: bytes) -> list[str]:
        """Add a chunk; return the lines it completed."""
        return self._split(self._pending + self._decoder.decode(chunk), final=False)

    def flush(self) -> list[str]:
        """End of input: return the last, unterminated line if there is one."""
        return self._split(self._pending + self._decoder.decode(b"", final=True), final=True)

    def _split(self, text: str, *, final: bool) -> list[str]:
        if not final and text.endswith("\r"):
            text, held = text[:-1], "\r"  # maybe the first half of \r\n
        else:
            held = ""
        parts = text.split("\n")
        self._pending = "" if final else parts.pop() + held
        if final and parts and parts[-1] == "":
            parts.pop()
        return [self._finish(part) for part in parts]

    def _finish(self, line: str) -> str:
        if line.endswith("\r"):
            line = line[:-1]
        if self._visible:
            line = visible(line)
        return strip_ansi(line) if self._strip else line


async def iter_lines(
    chunks: AsyncIterable[bytes], *, strip_ansi: bool = False, redraws: str = "keep"
) -> AsyncGenerator[str, None]:
    """Lines of a log given as byte chunks (for example ``gl.project_jobs.trace(...)``)."""
    decoder = LineDecoder(strip_ansi=strip_ansi, redraws=redraws)
    if isinstance(chunks, AsyncGenerator):
        async with aclosing(chunks):
            async for chunk in chunks:
                for line in decoder.feed(chunk):
                    yield line
    else:
        async for chunk in chunks:
            for line in decoder.feed(chunk):
                yield line
    for line in decoder.flush():
        yield line


@attrs.frozen(kw_only=True)
class LogSection:
    """One section of a job log: a step such as ``prepare_script`` or ``step_script``."""

    name: str
    started_at: datetime
    ended_at: datetime | None
    """``None`` while the section is still open (a running job, or a log cut short)."""
    options: Mapping[str, str]
    """Options from the start marker, e.g. ``{"collapsed": "true"}``."""
    depth: int
    """0 for a top-level section, 1 inside another, and so on."""
    parent: str | None
    header: str
    """The text after the start marker on its line, without ANSI codes."""
    start_line: int
    """0-based line number of the start marker."""
    end_line: int | None

    @property
    def duration(self) -> timedelta | None:
        """How long the section took, from its markers' timestamps."""
        return None if self.ended_at is None else self.ended_at - self.started_at

    @property
    def collapsed(self) -> bool:
        """Whether GitLab shows the section collapsed."""
        return self.options.get("collapsed", "false").lower() == "true"


@attrs.define
class _Open:
    name: str
    started_at: datetime
    options: dict[str, str]
    parent: str | None
    header: str
    start_line: int
    depth: int

    def close(self, ended_at: datetime | None, end_line: int | None) -> LogSection:
        return LogSection(
            name=self.name,
            started_at=self.started_at,
            ended_at=ended_at,
            options=self.options,
            depth=self.depth,
            parent=self.parent,
            header=self.header,
            start_line=self.start_line,
            end_line=end_line,
        )


class SectionParser:
    """Finds sections in a log fed one raw line at a time (from :class:`LineDecoder`)."""

    def __init__(self) -> None:
        self._stack: list[_Open] = []
        self._line = 0

    @property
    def open_sections(self) -> list[str]:
        """Names of the sections open now, outermost first."""
        return [s.name for s in self._stack]

    def feed_line(self, line: str) -> list[LogSection]:
        """Read one raw line; return the sections it closed, innermost first."""
        closed: list[LogSection] = []
        matches = list(_MARKER.finditer(line))
        for index, match in enumerate(matches):
            kind, stamp, name, options = match.groups()
            moment = datetime.fromtimestamp(int(stamp), tz=UTC)
            if kind == "end":
                closed.extend(self._close(name, moment))
                continue
            upto = matches[index + 1].start() if index + 1 < len(matches) else len(line)
            header = strip_ansi(visible(line[match.end() : upto])).strip()
            self._stack.append(
                _Open(
                    name=name,
                    started_at=moment,
                    options=_options(options),
                    parent=self._stack[-1].name if self._stack else None,
                    header=header,
                    start_line=self._line,
                    depth=len(self._stack),
                )
            )
        self._line += 1
        return closed

    def _close(self, name: str, moment: datetime) -> list[LogSection]:
        if all(s.name != name for s in self._stack):
            return []
        closed = []
        while self._stack:
            section = self._stack.pop()
            closed.append(section.close(moment, self._line))
            if section.name == name:
                break
        return closed

    def finish(self) -> list[LogSection]:
        """End of log: the sections still open, innermost first, with ``ended_at=None``."""
        remaining = [s.close(None, None) for s in reversed(self._stack)]
        self._stack.clear()
        return remaining


def _options(text: str | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for part in (text or "").split(","):
        key, _, value = part.partition("=")
        if key.strip():
            result[key.strip()] = value.strip()
    return result


def parse_sections(data: bytes) -> list[LogSection]:
    """Every section of a whole log, in the order they start."""
    decoder = LineDecoder()
    parser = SectionParser()
    found: list[LogSection] = []
    for line in [*decoder.feed(data), *decoder.flush()]:
        found.extend(parser.feed_line(line))
    found.extend(parser.finish())
    return sorted(found, key=lambda s: (s.start_line, s.depth))
