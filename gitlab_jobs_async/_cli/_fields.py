"""Job fields for ``--fields``/``--json``, and the default columns of job tables and CSV.
Strictly private.

A field is a job attribute, dotted for nested objects (``pipeline.id``, ``user.username``,
``commit.short_id``, ``runner.description``); the valid names come from the models, so a
typo is refused before any request.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from functools import cache
from typing import Any

import attrs

from .._converter import converter
from .._models import Bridge, Job
from ._output import Column, Kind

__all__ = [
    "CSV_FIELDS",
    "TABLE_FIELDS",
    "FieldError",
    "column",
    "job_fields",
    "job_json",
    "parse_fields",
    "value",
]


class FieldError(ValueError):
    """A ``--fields`` name that is not a job field."""


TABLE_FIELDS = [
    "id",
    "pipeline.id",
    "status",
    "stage",
    "name",
    "ref",
    "duration",
    "created_at",
    "failure_reason",
]
"""What a job table shows by default (empty columns are then left out)."""

CSV_FIELDS = [
    "id",
    "pipeline.id",
    "status",
    "stage",
    "name",
    "ref",
    "allow_failure",
    "duration",
    "queued_duration",
    "created_at",
    "started_at",
    "finished_at",
    "failure_reason",
    "user.username",
    "runner.description",
    "web_url",
]
"""What ``--format csv`` writes by default: raw values, ISO 8601 times, seconds."""

_HEADERS = {
    "pipeline.id": "pipeline",
    "created_at": "created",
    "started_at": "started",
    "finished_at": "finished",
    "failure_reason": "failure",
    "queued_duration": "queued",
    "user.username": "user",
    "web_url": "url",
}


def _attrs_classes(tp: Any) -> list[type]:
    args = typing.get_args(tp) if isinstance(tp, types.UnionType) else (tp,)
    return [a for a in args if isinstance(a, type) and attrs.has(a)]


@cache
def job_fields() -> tuple[str, ...]:
    """Every field name a job or a bridge has, nested ones dotted, sorted."""
    names: set[str] = set()

    def walk(cls: type, prefix: str, depth: int) -> None:
        for field in attrs.fields(attrs.resolve_types(cls)):
            name = prefix + field.name.lstrip("_")
            names.add(name)
            if depth < 2:
                for nested in _attrs_classes(field.type):
                    walk(nested, name + ".", depth + 1)

    walk(Job, "", 0)
    walk(Bridge, "", 0)
    return tuple(sorted(names))


def parse_fields(text: str) -> list[str]:
    """``id,name,status`` as a list, each name checked.

    Raises:
        FieldError: naming the unknown fields and listing the valid ones.
    """
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise FieldError("--fields/--json: name at least one field, e.g. id,name,status")
    unknown = [n for n in names if n not in job_fields()]
    if unknown:
        tops = sorted({n.split(".")[0] for n in job_fields()})
        raise FieldError(
            f"unknown field {', '.join(unknown)}; fields are {', '.join(tops)} "
            "(nested ones dotted, e.g. pipeline.id, user.username)"
        )
    return names


def value(job: Job | Bridge, field: str) -> Any:
    """The value of a dotted field (``None`` where a step is missing)."""
    current: Any = job
    for part in field.split("."):
        current = getattr(current, part, None)
        if current is None:
            return None
    return current


def column(field: str) -> Column:
    """The column a field is shown in, with a short header and the kind of its values."""
    last = field.rsplit(".", 1)[-1]
    kind: Kind = "text"
    if last == "id" or field == "id":
        kind = "id"
    elif last == "status":
        kind = "status"
    elif last.endswith("url"):
        kind = "url"
    elif last.endswith("duration"):
        kind = "duration"
    elif last.endswith(("_at", "_date")):
        kind = "time"
    return Column(_HEADERS.get(field, field), kind)


def job_json(job: Job | Bridge, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """A job as JSON: every field, or only ``fields`` (nested ones as nested objects)."""
    data: dict[str, Any] = converter.unstructure(job)
    if not fields:
        return data
    picked: dict[str, Any] = {}
    for field in fields:
        source: Any = data
        target = picked
        parts = field.split(".")
        for part in parts[:-1]:
            source = source.get(part) if isinstance(source, dict) else None
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = source.get(parts[-1]) if isinstance(source, dict) else None
    return picked
