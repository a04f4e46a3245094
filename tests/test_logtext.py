"""Log text: lines across any chunk boundary, ANSI stripping, redraws and sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gitlab_jobs_async._logtext import (
    LineDecoder,
    SectionParser,
    parse_sections,
    strip_ansi,
    visible,
)

RUNNER_LOG = (
    b"\x1b[0KRunning with gitlab-runner 17.5.0 (8ec04662)\x1b[0;m\n"
    b"section_start:1732460000:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1mPreparing the \"docker\" executor\x1b[0;m\n"
    b"Using Docker executor with image ruby:3.3 ...\n"
    b"section_end:1732460005:prepare_executor\r\x1b[0Ksection_start:1732460005:step_script[collapsed=true]\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage\x1b[0;m\n"
    b"$ bundle install\n"
    b"section_start:1732460006:bundle[collapsed=false,hide_duration=true]\r\x1b[0KInstalling gems\n"
    b"Fetching caf\xc3\xa9 \xf0\x9f\x92\x8e gems 10%\rFetching gems 100%\r\n"
    b"section_end:1732460036:bundle\r\x1b[0K\n"
    b"$ rspec\n"
    b"\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m\n"
    b"section_end:1732460042:step_script\r\x1b[0K\n"
)


def lines_of(data: bytes, cuts: list[int], **kwargs: object) -> list[str]:
    decoder = LineDecoder(**kwargs)  # type: ignore[arg-type]
    out: list[str] = []
    start = 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[start:cut])
        start = cut
    return out + decoder.flush()


@pytest.mark.parametrize("text", ["é", "💎", "✓"])
def test_multibyte_split_at_every_offset(text):
    """A UTF-8 sequence cut at any byte reassembles into the same character."""
    data = f"a{text}b\n".encode()
    for cut in range(len(data) + 1):
        assert lines_of(data, [cut]) == [f"a{text}b"]


def test_crlf_split_across_chunks():
    """\\r\\n split between chunks is one line end, not a redraw plus a line end."""
    data = b"one\r\ntwo\r\n"
    for cut in range(len(data) + 1):
        assert lines_of(data, [cut]) == ["one", "two"]


def test_byte_by_byte_equals_whole():
    """Feeding the runner log one byte at a time gives the same lines as feeding it whole."""
    whole = lines_of(RUNNER_LOG, [])
    assert lines_of(RUNNER_LOG, list(range(1, len(RUNNER_LOG)))) == whole
    assert len(whole) == 11


def test_invalid_bytes_are_replaced():
    """Invalid UTF-8 becomes U+FFFD and decoding goes on."""
    assert lines_of(b"ok \xff\xfe end\nnext", [4]) == ["ok \ufffd\ufffd end", "next"]


def test_last_line_without_newline_comes_at_flush():
    """An unterminated last line is returned by flush, an empty input gives nothing."""
    decoder = LineDecoder()
    assert decoder.feed(b"partial") == []
    assert decoder.flush() == ["partial"]
    assert LineDecoder().flush() == []


def test_redraws():
    """A bare \\r redraws the line: kept raw by default, or reduced to what a terminal shows."""
    data = b"progress 10%\rprogress 50%\rprogress 100%\ndone\n"
    assert lines_of(data, [5]) == ["progress 10%\rprogress 50%\rprogress 100%", "done"]
    assert lines_of(data, [5], redraws="visible") == ["progress 100%", "done"]
    assert visible("a\rb\rc") == "c"


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("\x1b[31;1mERROR\x1b[0;m", "ERROR"),
        ("\x1b[0Kline", "line"),
        ("\x1b]0;title\x07text", "text"),
        ("\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("plain", "plain"),
    ],
)
def test_strip_ansi(raw, plain):
    """Colours, erase-line and OSC sequences are removed."""
    assert strip_ansi(raw) == plain


def test_decoder_strips_ansi_on_request():
    """LineDecoder(strip_ansi=True) gives plain lines."""
    assert lines_of(b"\x1b[32mgreen\x1b[0m\n", [2], strip_ansi=True) == ["green"]


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def test_sections_of_a_runner_log():
    """Nested and collapsed sections get names, depths, parents, times and lines."""
    sections = {s.name: s for s in parse_sections(RUNNER_LOG)}
    assert list(sections) == ["prepare_executor", "step_script", "bundle"]
    prepare, script, bundle = sections.values()
    assert prepare.depth == 0 and prepare.parent is None and prepare.duration == timedelta(seconds=5)
    assert prepare.header == 'Preparing the "docker" executor'
    assert (prepare.start_line, prepare.end_line) == (1, 3)
    assert script.collapsed and script.start_line == 3 and script.end_line == 10
    assert script.header == 'Executing "step_script" stage'
    assert script.started_at == at(1732460005) and script.duration == timedelta(seconds=37)
    assert bundle.depth == 1 and bundle.parent == "step_script" and not bundle.collapsed
    assert bundle.options == {"collapsed": "false", "hide_duration": "true"}
    assert bundle.duration == timedelta(seconds=30) and bundle.header == "Installing gems"


def test_sections_survive_any_chunking():
    """Markers cut across chunks parse the same as whole."""
    whole = parse_sections(RUNNER_LOG)
    for cut in range(0, len(RUNNER_LOG), 7):
        decoder, parser, found = LineDecoder(), SectionParser(), []
        for line in decoder.feed(RUNNER_LOG[:cut]) + decoder.feed(RUNNER_LOG[cut:]) + decoder.flush():
            found += parser.feed_line(line)
        found += parser.finish()
        assert sorted(found, key=lambda s: (s.start_line, s.depth)) == whole


def test_mismatched_end_closes_up_to_its_section():
    """An end naming an outer section closes the inner ones too; an unknown end is ignored."""
    log = (b"section_start:10:outer\r\x1b[0K\nsection_start:11:inner\r\x1b[0K\n"
           b"section_end:12:nowhere\r\x1b[0K\nsection_end:20:outer\r\x1b[0K\n")
    sections = {s.name: s for s in parse_sections(log)}
    assert sections["inner"].ended_at == at(20) and sections["outer"].ended_at == at(20)


def test_unterminated_section():
    """A section still open at the end (a running job) has no end."""
    parser = SectionParser()
    assert parser.feed_line("section_start:10:build\r\x1b[0KBuilding") == []
    assert parser.open_sections == ["build"]
    (section,) = parser.finish()
    assert section.ended_at is None and section.duration is None and section.end_line is None
    assert parser.open_sections == []
