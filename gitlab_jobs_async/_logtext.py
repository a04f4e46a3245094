"""Reading GitLab job logs as text: lines from byte chunks, ANSI stripping and sections.

Pure code, no I/O. A log (``GET /projects/:id/jobs/:job_id/trace``) arrives as byte chunks
cut anywhere. These rules turn it into lines and sections.

Lines (:class:`LineDecoder`, :func:`iter_lines`):

* UTF-8 is decoded incrementally: a character split across chunks is reassembled and invalid
  bytes become U+FFFD. Decoding never fails.
* A line ends at ``\\n``. The ``\\r`` characters just before it belong to the line end
  (``\\r\\n``, and ``\\r*\\n`` as in GitLab's log view). A line is only complete when its
  ``\\n`` arrives, so a ``\\r`` at the end of a chunk waits for the next chunk to show whether
  it starts ``\\r\\n`` or a redraw. Lines come out without their line end. ``flush()`` returns
  the last line when the log does not end with ``\\n``.
* Any other ("bare") ``\\r`` is a redraw: the cursor goes back and the line is written again,
  as progress bars do. By default a line is reduced to what GitLab's log view shows: the text
  after its last bare ``\\r``. Section markers are not text and are kept: a marker's own
  ``\\r\\x1b[0K`` is not a redraw, and a later ``\\r`` does not erase the marker, so
  :class:`SectionParser` can read these lines. ``keep_redraws=True`` returns the raw text.
  :func:`visible` gives what a terminal shows, with the markers hidden as well.
* ANSI escape sequences are kept unless ``strip_ansi=True`` (see :func:`strip_ansi`).

Sections (:class:`SectionParser`, :func:`parse_sections`):

* The runner writes ``section_start:<unix ts>:<name>[<options>]\\r\\x1b[0K<header>`` and
  ``section_end:<unix ts>:<name>\\r\\x1b[0K``. The grammar is GitLab's: the name matches
  ``[A-Za-z0-9_.-]+``, and the options are ``key=value`` pairs separated by commas. The
  ``\\r`` is required, so a script that echoes ``section_start:1:x`` opens nothing. The
  ``\\x1b[0K`` may be missing, as in ANSI-stripped lines.
* A marker may appear anywhere in a line, for example after colour codes. A line may hold
  several markers: the runner ends one section and starts the next on the same line. Sections
  nest: a section that starts inside an open one is its child.
* An end marker closes the innermost open section with its name, and every section still open
  inside that one, all at the end marker's time and line. GitLab's log view also accepts
  mismatched ends. An end marker that names no open section is ignored, and so is a marker
  whose timestamp is out of range.
* Line numbers start at 0 and count the lines fed, so they are the indexes of
  :class:`LineDecoder`'s lines. A section's header is the text after its start marker on that
  line, up to the next marker, with redraws resolved, ANSI codes removed and whitespace
  trimmed.

This module does not interpret the per-line timestamp prefixes of newer runners
(``FF_TIMESTAMPS``). They stay in the text, and markers after them are still found.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

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
    r"\x1b\[[0-?]*[ -/]*(?:[@-~]|$)"  # CSI: colours, erase line, cursor moves
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\|$)"  # OSC (titles, links), DCS and other strings
    r"|\x1b[ -/]*[0-~]"  # two-byte escapes, charset selection such as \x1b(B
    r"|\x1b"  # a stray ESC
)
_MARKER = re.compile(
    r"section_(start|end):(\d+):([A-Za-z0-9_.-]+)"
    r"(?:\[(\w+=\w+(?:, ?\w+=\w+)*)\])?\r(?:\x1b\[0K)?"
)


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (CSI such as colours and erase-line, OSC, other ESC codes)."""
    return _ANSI.sub("", text)


def visible(line: str) -> str:
    """Return what a terminal shows of a line: the text after its last ``\\r``.

    This also hides section markers, because the runner writes ``\\r\\x1b[0K`` after each one
    so that terminals do not show it.
    """
    return line.rpartition("\r")[2]


def _resolve_redraws(line: str) -> str:
    """Drop the text that each bare ``\\r`` overwrites, keeping every section marker."""
    if "\r" not in line:  # every marker holds a \r too
        return line
    pieces: list[tuple[bool, str]] = []  # (is a marker, text)
    position = 0
    for marker in [*_MARKER.finditer(line), None]:
        stretch = line[position : marker.start() if marker else len(line)]
        if "\r" in stretch:
            pieces = [piece for piece in pieces if piece[0]]
            stretch = stretch.rpartition("\r")[2]
        pieces.append((False, stretch))
        if marker:
            pieces.append((True, marker.group()))
            position = marker.end()
    return "".join(text for _, text in pieces)


class LineDecoder:
    """Turn byte chunks cut anywhere into text lines (the module docstring gives the rules).

    Args:
        strip_ansi: remove ANSI escape sequences from the lines.
        keep_redraws: return each line's raw text, including bare ``\\r``, instead of what
            GitLab's log view shows.
    """

    def __init__(self, *, strip_ansi: bool = False, keep_redraws: bool = False) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # text of the unfinished line
        self._strip_ansi = strip_ansi
        self._keep_redraws = keep_redraws

    def feed(self, chunk: bytes) -> list[str]:
        """Add the next chunk; return the lines it completes."""
        return self._split(self._decoder.decode(chunk))

    def flush(self) -> list[str]:
        """End of the log: return its last line if the log does not end with ``\\n``.

        The decoder is then empty and can read another log.
        """
        lines = self._split(self._decoder.decode(b"", final=True))
        if self._pending:
            lines.append(self._finish("".join(self._pending)))
            self._pending.clear()
        return lines

    def _split(self, text: str) -> list[str]:
        *complete, rest = text.split("\n")
        if complete:
            complete[0] = "".join([*self._pending, complete[0]])
            self._pending.clear()
        if rest:
            self._pending.append(rest)
        return [self._finish(line) for line in complete]

    def _finish(self, line: str) -> str:
        line = line.rstrip("\r")  # part of the line end
        if not self._keep_redraws:
            line = _resolve_redraws(line)
        return strip_ansi(line) if self._strip_ansi else line


async def iter_lines(
    chunks: AsyncIterable[bytes], *, strip_ansi: bool = False, keep_redraws: bool = False
) -> AsyncGenerator[str, None]:
    """Yield the lines of a log that arrives as byte chunks, for example from ``trace()``.

    The arguments are those of :class:`LineDecoder`. If *chunks* is an async generator, closing
    this generator early also closes *chunks*, which releases its connection.
    """
    decoder = LineDecoder(strip_ansi=strip_ansi, keep_redraws=keep_redraws)
    try:
        async for chunk in chunks:
            for line in decoder.feed(chunk):
                yield line
    finally:
        if isinstance(chunks, AsyncGenerator):
            await chunks.aclose()
    for line in decoder.flush():
        yield line


def _read_only(options: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(options))


@attrs.frozen(kw_only=True)
class LogSection:
    """One section of a job log, such as ``prepare_executor`` or ``step_script``."""

    name: str
    started_at: datetime
    """When the section started (UTC), from the start marker."""
    ended_at: datetime | None = None
    """When the section ended. ``None`` while it is open (a running job, or a log cut short)."""
    options: Mapping[str, str] = attrs.field(
        factory=dict, converter=_read_only, hash=False, repr=lambda m: repr(dict(m))
    )
    """The start marker's options, read-only, for example ``{"collapsed": "true"}``."""
    depth: int = 0
    """0 for a top-level section, 1 for a section inside one, and so on."""
    parent: str | None = None
    """The name of the enclosing section, or ``None`` at the top level."""
    header: str = ""
    """The text after the start marker on its line, as plain text."""
    start_line: int
    """The 0-based number of the line that holds the start marker."""
    end_line: int | None = None
    """The 0-based number of the line that holds the end marker, or ``None`` while open."""

    @property
    def duration(self) -> timedelta | None:
        """How long the section took, from its markers' timestamps; ``None`` while open."""
        return None if self.ended_at is None else self.ended_at - self.started_at

    @property
    def collapsed(self) -> bool:
        """Whether GitLab shows the section folded at first (option ``collapsed=true``)."""
        return self.options.get("collapsed", "").lower() == "true"


class SectionParser:
    """Find the sections of a log that is fed one line at a time.

    Feed it the lines of a :class:`LineDecoder` (with any options) or other lines that still
    hold their markers. The module docstring gives the rules.
    """

    def __init__(self) -> None:
        self._open: list[tuple[int, LogSection]] = []  # (start order, section), outermost first
        self._starts = 0
        self._line = 0

    @property
    def open_sections(self) -> list[LogSection]:
        """The sections that are open now, outermost first, with ``ended_at=None``."""
        return [section for _, section in self._open]

    def feed_line(self, line: str) -> list[LogSection]:
        """Read the next line; return the sections it closed, innermost first."""
        return [section for _, section in self._feed(line)]

    def finish(self) -> list[LogSection]:
        """End of the log: return the sections still open, innermost first, and forget them."""
        return [section for _, section in self._finish()]

    def _feed(self, line: str) -> list[tuple[int, LogSection]]:
        closed: list[tuple[int, LogSection]] = []
        markers = list(_MARKER.finditer(line))
        for index, marker in enumerate(markers):
            kind, stamp, name, options = marker.groups()
            moment = _moment(stamp)
            if moment is None:
                continue
            if kind == "end":
                closed += self._close(name, moment)
                continue
            upto = markers[index + 1].start() if index + 1 < len(markers) else len(line)
            section = LogSection(
                name=name,
                started_at=moment,
                options=_parse_options(options),
                depth=len(self._open),
                parent=self._open[-1][1].name if self._open else None,
                header=strip_ansi(visible(line[marker.end() : upto])).strip(),
                start_line=self._line,
            )
            self._open.append((self._starts, section))
            self._starts += 1
        self._line += 1
        return closed

    def _close(self, name: str, moment: datetime) -> list[tuple[int, LogSection]]:
        names = [section.name for _, section in self._open]
        if name not in names:
            return []
        innermost = len(names) - 1 - names[::-1].index(name)
        closing = self._open[innermost:]
        del self._open[innermost:]
        return [
            (order, attrs.evolve(section, ended_at=moment, end_line=self._line))
            for order, section in reversed(closing)
        ]

    def _finish(self) -> list[tuple[int, LogSection]]:
        still_open = self._open[::-1]
        self._open.clear()
        return still_open


def _moment(stamp: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(stamp), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_options(text: str | None) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in (text or "").split(","))
    return {key: value for key, _, value in pairs if key}


def parse_sections(data: bytes) -> list[LogSection]:
    """Return every section of a whole log in start order; open ones have ``ended_at=None``."""
    decoder = LineDecoder()
    parser = SectionParser()
    found: list[tuple[int, LogSection]] = []
    for line in [*decoder.feed(data), *decoder.flush()]:
        found += parser._feed(line)
    found += parser._finish()
    return [section for _, section in sorted(found, key=lambda item: item[0])]
