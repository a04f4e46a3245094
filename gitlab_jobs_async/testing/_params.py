"""Request parameters as Grape sees them: Rack nesting, coercion, validation errors, and
Rails' ``to_query`` for echoing them in ``Link`` headers (§1, §5.1)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from aiohttp import web

from ._errors import error
from ._paging import MAX_PER_PAGE, Window
from ._records import STATUSES

__all__ = ["Checks", "read_params", "to_query"]

_PARAMS: web.RequestKey[dict[str, Any]] = web.RequestKey("gitlab_fake_params", dict)
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _assign(target: dict[str, Any], name: str, parts: list[str], value: str) -> None:
    """Rack's ``normalize_params``: ``a[]``, ``a[b]``, ``a[][b]`` and ``a[0][b]`` nest."""
    if not parts:
        target[name] = value
        return
    head, rest = parts[0], parts[1:]
    if head == "":
        items = target.get(name)
        if not isinstance(items, list):
            items = target[name] = []
        if not rest:
            items.append(value)
            return
        last = items[-1] if items and isinstance(items[-1], dict) else None
        if last is None or _has(last, rest):
            last = {}
            items.append(last)
        _assign(last, rest[0], rest[1:], value)
        return
    child = target.get(name)
    if not isinstance(child, dict):
        child = target[name] = {}
    _assign(child, head, rest, value)


def _has(target: dict[str, Any], parts: list[str]) -> bool:
    value: Any = target
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decoded ``key=value`` pairs as Rack's nested params."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None or not match.group(2):
            params[key] = value
        else:
            _assign(params, match.group(1), _PART.findall(match.group(2)), value)
    return params


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query, form and JSON body parameters merged (the body wins), then the path's own
    (``id``, ``pipeline_id``...: Grape's ``params`` holds them, and links echo them);
    parsed once per request."""
    if _PARAMS in request:
        return request[_PARAMS]
    params = nest(request.query.items())
    body = await request.read() if request.body_exists else b""
    kind = request.content_type
    if body and kind == "application/json":
        params.update(_json_body(body))
    elif body and kind == "application/x-www-form-urlencoded":
        params.update(nest(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
    elif kind == "multipart/form-data":
        params.update(nest(_multipart(request.headers.get("Content-Type", ""), body)))
    params.update((k, v) for k, v in request.match_info.items() if k != "tail")
    request[_PARAMS] = params
    return params


def _json_body(body: bytes) -> dict[str, Any]:
    """A JSON body's object; anything unreadable, or nested deeper than Ruby's JSON parser
    allows (``max_nesting`` 100), is a 400."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = _INVALID
    if data is _INVALID or _depth(data) > MAX_NESTING:
        raise error(400, error_="The provided content-type 'application/json' is not valid JSON")
    return data if isinstance(data, dict) else {}


_INVALID = object()
MAX_NESTING = 100


def _depth(data: Any) -> int:
    """How deeply arrays and objects nest in ``data`` (iteratively: no recursion limit)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, level + 1) for item in items)
    return deepest


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The form fields of a ``multipart/form-data`` body; a missing or wrong boundary is a
    400, as Rack's multipart parser refuses it (``bad content body``)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    parts = message.get_payload() if message.is_multipart() else None
    if not isinstance(parts, list) or not parts or message.defects:
        raise error(400, error_="bad content body")
    fields = []
    for part in parts:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.append((name, payload.decode("utf-8", "replace")))
    return fields


class Checks:
    """Grape's coercion and validation of declared params; errors are collected and
    reported together, in declaration order, as one 400 ``{"error": "a, b"}``."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.errors: list[str] = []
        self.declared: dict[str, Any] = {}
        """Declared params as Grape coerced them, defaults included (echoed in links)."""

    def integer(self, name: str, value: Any) -> int | None:
        """An Integer param (path params included); ``None`` when invalid or absent."""
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.match(value):
            return int(value)
        self.errors.append(f"{name} is invalid")
        return None

    def boolean(self, name: str, *, default: bool) -> bool:
        """A Boolean param with a default (true/false, 1/0, yes/no, ...)."""
        value = self.params.get(name)
        result = default
        if isinstance(value, bool):
            result = value
        elif value is not None and value != "":
            text = str(value).lower() if isinstance(value, str | int) else ""
            if text in _TRUE or text in _FALSE:
                result = text in _TRUE
            else:
                self.errors.append(f"{name} is invalid")
        self.declared[name] = result
        return result

    def scope(self) -> list[str] | None:
        """``scope``: a string becomes one value, a hash its values, anything else
        ``['unknown']``; each must be a status (§2.1)."""
        raw = self.params.get("scope")
        if raw is None:
            return None
        if isinstance(raw, str):
            values: list[Any] = [raw]
        elif isinstance(raw, list):
            values = raw
        elif isinstance(raw, dict):
            values = list(raw.values())
        else:
            values = ["unknown"]
        if not all(isinstance(v, str) and v in STATUSES for v in values):
            self.errors.append("scope does not have a valid value")
            return None
        self.declared["scope"] = values
        return values

    def window(self) -> Window:
        """``page`` and ``per_page`` as Grape and Kaminari read them (§5.1): default 20,
        clamped to 100, 0 → 400, negative → 20, page < 1 → 1."""
        page = self.integer("page", self.params.get("page"))
        raw = self.params.get("per_page")
        per_page = self.integer("per_page", raw)
        if per_page == 0:
            self.errors.append("per_page has a value not allowed")
        self.declared["page"] = 1 if page is None else page
        declared = self.declared["per_page"] = 20 if per_page is None else per_page
        wanted = 20 if per_page is None or per_page <= 0 else per_page
        return Window(max(page or 1, 1), min(wanted, MAX_PER_PAGE), wanted, declared)

    def hash(self, name: str) -> dict[str, Any] | None:
        """An optional ``Hash`` param (a JSON object, or Rack's ``name[key]=value``)."""
        raw = self.params.get(name)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.errors.append(f"{name} is invalid")
            return None
        return dict(raw)

    def variables(self, name: str) -> list[dict[str, str]]:
        """An ``Array[JSON]`` of ``{key: String (required), value: String (required)}``;
        ``a[][key]=..&a[][value]=..`` and ``a[0][key]=..`` forms included."""
        raw = self.params.get(name)
        if raw is None:
            return []
        if isinstance(raw, dict) and all(str(k).isdigit() for k in raw):
            raw = [raw[k] for k in sorted(raw, key=int)]
        if not isinstance(raw, list):
            self.errors.append(f"{name} is invalid")
            return []
        found: list[dict[str, str]] = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                self.errors.append(f"{name}[{index}] is invalid")
                continue
            variable: dict[str, str] = {}
            for field in ("key", "value"):
                value = item.get(field)
                if value is None:
                    self.errors.append(f"{name}[{index}][{field}] is missing")
                elif isinstance(value, dict | list):
                    self.errors.append(f"{name}[{index}][{field}] is invalid")
                else:
                    variable[field] = _string(value)
            found.append(variable)
        return found

    def done(self) -> None:
        """Raise the collected errors, if any."""
        if self.errors:
            raise error(400, error_=", ".join(self.errors))


def _string(value: Any) -> str:
    """Grape's String coercion of a JSON scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _piece(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return to_query(value, name)
    if isinstance(value, list):
        return "&".join(_piece(f"{name}[]", item) for item in value)
    text = "" if value is None else _string(value)
    return f"{quote_plus(name)}={quote_plus(text)}"


def to_query(params: Mapping[str, Any], namespace: str | None = None) -> str:
    """Rails' ``Hash#to_query``: nested keys, pieces sorted, ``CGI.escape``d."""
    pieces = []
    for key, value in params.items():
        if isinstance(value, dict | list) and not value:
            continue
        pieces.append(_piece(f"{namespace}[{key}]" if namespace else key, value))
    if "[]" not in (namespace or ""):
        pieces.sort()
    return "&".join(pieces)
