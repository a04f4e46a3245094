"""Text rules of the command line, as pure functions: what is safe to print, how long and how
long ago things were, what ``--since`` means. Strictly private.

Job names, refs, failure reasons and user names are chosen by whoever edits a project's
``.gitlab-ci.yml`` or pushes to it, so none of them may reach a terminal as an escape
sequence or a spreadsheet as a formula:

* :func:`printable` shows every control character (C0, DEL, C1) and every bidirectional or
  line-separator format character as a visible escape such as ``\\x1b`` or ``\\u202e``;
* :func:`csv_cell` also neutralises a cell a spreadsheet would execute (one that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) by prefixing ``'``, as
  OWASP's CSV-injection guidance advises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "SinceError",
    "csv_cell",
    "duration",
    "json_safe",
    "parse_since",
    "printable",
    "when",
]

# Characters a terminal may act on, or that reorder or break what follows them.
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
# json.dumps escapes C0 itself; the rest can only appear inside JSON strings.
_HIDDEN_IN_JSON = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with its control and format characters shown as escapes (``\\x1b``)."""
    return _HIDDEN.sub(_escape, text)


def json_safe(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters a
    terminal would act on written as ``\\uXXXX`` escapes, which JSON allows anywhere in a
    string (structural JSON is ASCII, so only strings are touched)."""
    return _HIDDEN_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def csv_cell(value: Any) -> Any:
    """A CSV cell: text made printable and never a formula; numbers as they are;
    datetimes in ISO 8601; ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    neutral = "'" + text if text.startswith(_FORMULA_START) else text
    return printable(neutral)


def duration(seconds: float | None) -> str:
    """A human duration: ``45s``, ``44m 12s``, ``3h 05m``, ``30d 16h``; ``""`` for ``None``."""
    if seconds is None:
        return ""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def when(moment: datetime | None, now: datetime) -> str:
    """How long ago, in a table: ``just now``, ``12m ago``, ``5h ago``, ``3d ago``; a date
    (``2026-09-01``) beyond 30 days; ``in 5m`` for a moment ahead."""
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return f"in {duration(-seconds).split()[0]}"
    if seconds < 60:
        return "just now"
    if seconds < 30 * 86400:
        return f"{duration(seconds).split()[0]} ago"
    return moment.astimezone(UTC).date().isoformat()


class SinceError(ValueError):
    """A ``--since`` value that is not a duration or a date."""


_SINCE = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` before ``now``, or an ISO date or datetime (UTC unless
    it says otherwise).

    Raises:
        SinceError: for anything else, or a moment before the year 1 or after ``now``'s
            century (``99999999999d``).
    """
    shown = printable(text)
    match = _SINCE.fullmatch(text.strip())
    if match:
        try:
            return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
        except (OverflowError, ValueError):  # past the year 1, or past int()'s digit limit
            raise SinceError(f"--since {shown}: that reaches back before the year 1") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SinceError(
            f"--since {shown!r}: use 7d, 12h, 30m, 2w or a date like 2026-11-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
