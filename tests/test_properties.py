"""Property tests: the pure parsers return a value or raise their documented error, nothing else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from gitlab_jobs_async import RateLimit
from gitlab_jobs_async._protocol import (
    error_message,
    next_cursor,
    next_page,
    parse_link,
    parse_retry_after,
)

header_text = st.text(max_size=200)


@given(header_text)
def test_parse_link_never_fails(value):
    """Any Link header gives a dict of rels (possibly empty)."""
    links = parse_link(value)
    assert isinstance(links, dict)


@given(header_text, header_text)
def test_retry_after_is_a_non_negative_number_or_none(retry_after, reset):
    """Any Retry-After/RateLimit-Reset gives seconds >= 0, or None."""
    value = parse_retry_after(CIMultiDict({"Retry-After": retry_after, "RateLimit-Reset": reset}))
    assert value is None or value >= 0


@given(header_text, header_text)
def test_next_page_is_a_page_none_or_value_error(x_next, link):
    """X-Next-Page/Link give a page number or None; garbage is a ValueError only."""
    try:
        page = next_page(CIMultiDict({"X-Next-Page": x_next, "Link": link}))
    except ValueError:
        return
    assert page is None or page >= 0


@given(header_text)
def test_next_cursor_never_fails(link):
    """Any Link gives a cursor string or None."""
    cursor = next_cursor(CIMultiDict({"Link": link}))
    assert cursor is None or isinstance(cursor, str)


@given(st.binary(max_size=300))
def test_error_message_always_readable(body):
    """Any error body gives a non-empty, one-line-ish string."""
    message = error_message(body)
    assert message


@given(
    st.dictionaries(
        st.sampled_from(
            ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Name"]
        ),
        header_text,
    )
)
def test_rate_limit_headers(headers):
    """Any RateLimit-* headers give a view or None, never an exception."""
    view = RateLimit.from_headers(CIMultiDict(headers))
    assert view is None or isinstance(view, RateLimit)
