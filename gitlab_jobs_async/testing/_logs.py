"""Serving a job's log: whole, or by byte range as newer GitLab serves archived logs.

Newer GitLab sends a finished job's archived log through Workhorse, which answers ``Range``
as Go's ``http.ServeContent`` does (RFC 9110): one range gets a ``206`` with
``Content-Range``, a range past the end ``416`` with ``Content-Range: bytes */<size>``, an
unreadable one ``416``; an empty log, several ranges, or an ``If-Range`` that does not
match its ``ETag`` get the whole log with ``200``. A running job's live log is read from
the trace chunks by Rails and always sent whole (``lib/api/ci/jobs.rb``). Pure functions,
tested as tables.
"""

from __future__ import annotations

import hashlib
import re

import attrs

__all__ = ["LogAnswer", "byte_range", "serve_log"]

_SPEC = re.compile(r"^(\d{0,18})-(\d{0,18})$")  # Go parses int64: longer is invalid


class BadRange(ValueError):
    """The ``Range`` header cannot be read (Go: ``invalid range``)."""


class NoOverlap(ValueError):
    """No requested range overlaps the content (Go: ``invalid range: failed to overlap``)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one ``[start, end)`` a ``bytes=`` header asks of ``size`` bytes, or ``None`` for
    several ranges (served whole). Raises :class:`BadRange` or :class:`NoOverlap`."""
    if not header.startswith("bytes="):
        raise BadRange("invalid range")
    found: list[tuple[int, int]] = []
    overlap_missed = False
    for raw in header[6:].split(","):
        spec = raw.strip()
        if not spec:
            continue
        match = _SPEC.match(spec)
        if match is None or not (match.group(1) or match.group(2)):
            raise BadRange("invalid range")
        first, last = match.groups()
        if not first:  # a suffix: the last N bytes
            start = size - min(int(last), size)
            if start == size:
                overlap_missed = True
                continue
            found.append((start, size))
            continue
        start = int(first)
        if last and int(last) < start:
            raise BadRange("invalid range")
        if start >= size:
            overlap_missed = True
            continue
        found.append((start, min(int(last) + 1, size) if last else size))
    if not found:
        if overlap_missed:
            raise NoOverlap("invalid range: failed to overlap")
        raise BadRange("invalid range")
    return found[0] if len(found) == 1 else None


@attrs.frozen
class LogAnswer:
    """What to send: a status, the body's ``[start, end)`` of the log, and headers."""

    status: int
    start: int
    end: int
    headers: dict[str, str]
    text: bytes | None = None
    """A body of its own (the 416's message) instead of a slice of the log."""


def etag(log: bytes) -> str:
    """A strong validator of the log's bytes."""
    return '"' + hashlib.sha256(log).hexdigest()[:32] + '"'


def serve_log(
    log: bytes,
    *,
    ranged: bool,
    range_header: str | None,
    if_range: str | None = None,
    if_none_match: str | None = None,
) -> LogAnswer:
    """How to answer a read of ``log``; ``ranged``: served the archived way (Range, ETag)."""
    size = len(log)
    if not ranged:
        return LogAnswer(200, 0, size, {})
    tag = etag(log)
    headers = {"ETag": tag, "Accept-Ranges": "bytes"}
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return LogAnswer(304, 0, 0, headers)
    if not range_header or (if_range is not None and if_range.strip() != tag):
        return LogAnswer(200, 0, size, headers)
    try:
        wanted = byte_range(range_header, size)
    except NoOverlap as exc:
        if size == 0:  # Go serves an empty file whole rather than refuse every range
            return LogAnswer(200, 0, 0, headers)
        headers["Content-Range"] = f"bytes */{size}"
        return LogAnswer(416, 0, 0, headers, text=f"{exc}\n".encode())
    except BadRange as exc:
        return LogAnswer(416, 0, 0, headers, text=f"{exc}\n".encode())
    if wanted is None:
        return LogAnswer(200, 0, size, headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return LogAnswer(206, start, end, headers)
