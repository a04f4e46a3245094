"""Every wire rule between GitLab's JSON and the models, in one cattrs converter.

:func:`make_converter` starts from cattrs' preconfigured JSON converter and adds, in order
(cattrs matches simpler hooks first, so they are registered before any class is structured):

* ``datetime``: ISO-8601 with ``Z`` or an offset, always timezone-aware; a naive value is
  taken as UTC (GitLab.com's instance time zone).
* ``str``, ``int``, ``float``, ``bool``: strict, so ``"false"`` never becomes ``True`` and a
  wrong shape is reported instead of coerced; an ``int`` is accepted where a ``float`` is expected.
* ``tuple[X, ...]``: from a JSON array only, so a string is never split into characters.
* ``JobStatus | str``: open enum, a known status becomes the member, an unknown one stays a ``str``.
* attrs classes: unknown keys are ignored (GitLab adds fields often), a missing optional key
  and an explicit ``null`` both become ``None``.

Errors come out as cattrs' ``ClassValidationError``; :func:`structure` turns them into
:class:`~gitlab_jobs_async.ResponseError` with a readable list of what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, get_args, get_origin

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.preconf.json import JsonConverter
from cattrs.preconf.json import make_converter as make_json_converter

from ._models import JobStatus

__all__ = ["converter", "make_converter", "structure_error_text"]

T = TypeVar("T")


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 timestamp string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _strict(kind: type[T], *accepted: type) -> Any:
    def hook(value: Any, _: type) -> T:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, got bool")
        if not isinstance(value, accepted):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return kind(value)  # type: ignore[call-arg]

    return hook


def _structure_status(value: Any, _: type) -> JobStatus | str:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string, got {type(value).__name__}")
    try:
        return JobStatus(value)
    except ValueError:
        return value


def _is_homogenous_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _array_only(t: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = homogenous_tuple_structure_factory(t, conv)

    def hook(value: Any, type_: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")
        return inner(value, type_)

    return hook


def make_converter() -> JsonConverter:
    """Build a converter holding every rule of this module's docstring."""
    conv = make_json_converter()
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(str, _strict(str, str))
    conv.register_structure_hook(int, _strict(int, int))
    conv.register_structure_hook(float, _strict(float, int, float))
    conv.register_structure_hook(bool, _strict(bool, bool))
    conv.register_structure_hook_factory(_is_homogenous_tuple, _array_only)
    # A predicate hook: cattrs' union passthrough would otherwise take ``JobStatus | str``.
    conv.register_structure_hook_func(lambda t: t == JobStatus | str, _structure_status)
    conv.register_structure_hook_func(
        lambda t: t == JobStatus | str | None,
        lambda v, t: None if v is None else _structure_status(v, t),
    )
    return conv


converter = make_converter()
"""The converter the client uses. Build your own with :func:`make_converter` to customise it."""


def structure_error_text(exc: Exception) -> str:
    """A one-line, readable account of a cattrs structuring failure."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return f"{type(exc).__name__}: {exc}"
