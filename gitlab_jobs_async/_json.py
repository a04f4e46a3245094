"""One JSON behaviour, whichever parser is installed. Strictly private.

orjson (the ``speedups`` extra) parses GitLab's JSON about three times faster than the
standard library, and the two disagree on hostile input: the standard library accepts
``NaN``, ``Infinity``, ``1e400`` and lone surrogates, gives integers of any size, and
raises ``RecursionError`` on deep nesting, where orjson refuses or converts. :func:`loads`
gives the same answer for every input with either parser: strict UTF-8, no ``NaN`` or
infinities, no lone surrogates, integers beyond 64 bits as floats (as orjson does), and at
most :data:`MAX_DEPTH` levels of nesting. Anything else is a ``ValueError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "loads"]

MAX_DEPTH = 128
"""Deeper nesting is refused: GitLab's bodies nest a few levels, and code that walks the
parsed value recursively (error messages, the converter) needs a bound well below Python's
recursion limit."""

try:  # the `speedups` extra
    from orjson import loads as _orjson_loads

    _fast: Callable[[bytes], Any] | None = _orjson_loads
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _fast = None

_ESCAPED_QUOTE_OR_BACKSLASH = re.compile(rb'\\[\\"]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_OTHER_BYTES = bytes(set(range(256)) - set(b'[]{}"'))
_SIGNED = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def loads(data: bytes | str) -> Any:
    """Parse JSON text; ``ValueError`` for anything :mod:`this module <._json>` refuses."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_DEPTH and _depth(raw) > MAX_DEPTH:  # shorter text cannot nest deeper
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if _fast is not None:
        return _fast(raw)  # orjson.JSONDecodeError is a ValueError
    return _standard(raw)


def _depth(raw: bytes) -> int:
    """How deep the brackets of ``raw`` nest outside strings, read at C speed.

    Escaped backslashes and quotes go first, so that only real quotes remain; dropping every
    other byte and then each pair of adjacent quotes (an empty string, or two strings that
    touch) leaves the brackets outside strings and the few strings that hold brackets. Only
    a rough count for text that is not JSON, which the parser refuses anyway.
    """
    text = _ESCAPED_QUOTE_OR_BACKSLASH.sub(b"", raw)
    kept = text.translate(None, _OTHER_BYTES).replace(b'""', b"")
    if b'"' in kept:
        kept = b"".join(kept.split(b'"')[::2])
    return max(accumulate(memoryview(kept.translate(_SIGNED)).cast("b")), default=0)


def _standard(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")  # strict; a BOM is refused below, as orjson does
        value = json.loads(text, parse_constant=_no_constant, parse_float=_float, parse_int=_int)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ValueError("JSON nested too deeply") from None
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        raise ValueError("JSON string with a lone surrogate")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _int(text: str) -> int | float:
    if len(text.lstrip("-")) > 20:  # beyond 64 bits, and int() of thousands of digits is slow
        return _float(text)
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(value)


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= c <= "\udfff" for c in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
