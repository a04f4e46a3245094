"""Log text: lines across any chunk boundary, redraws, ANSI stripping and sections."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from gitlab_jobs_async._logtext import (
    LineDecoder,
    LogSection,
    SectionParser,
    iter_lines,
    parse_sections,
    strip_ansi,
    visible,
)

# Shaped like gitlab-runner's output: ESC[0K before markers, an end and the next start on one
# line, a collapsed section and one with two options nested in step_script, a \r progress line,
# CRLF ends and a last line without \n.
RUNNER_LOG = (
    b"\x1b[0KRunning with gitlab-runner 17.5.0 (8ec04662)\x1b[0;m\n"  # 0
    b"\x1b[0K  on docker-1 xK3jQ, system ID: s_0c1d2e3f\x1b[0;m\n"  # 1
    b'section_start:1732460000:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1mPreparing the "docker" executor\x1b[0;m\x1b[0;m\n'  # 2
    b"\x1b[0KUsing Docker executor with image ruby:3.3 ...\x1b[0;m\n"  # 3
    b"section_end:1732460004:prepare_executor\r\x1b[0K\x1b[0Ksection_start:1732460004:get_sources\r\x1b[0K\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m\n"  # 4
    b"\x1b[32;1mFetching changes with git depth set to 20...\x1b[0;m\n"  # 5
    b"Receiving objects:  10% (1/10)\rReceiving objects: 100% (10/10), done.\r\n"  # 6
    b'section_end:1732460007:get_sources\r\x1b[0K\x1b[0Ksection_start:1732460007:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting "step_script" stage of the job script\x1b[0;m\x1b[0;m\n'  # 7
    b"\x1b[32;1m$ bundle install\x1b[0;m\n"  # 8
    b"section_start:1732460008:bundle_install[collapsed=true]\r\x1b[0K\x1b[0KInstalling gems\n"  # 9
    b"Fetching caf\xc3\xa9 \xf0\x9f\x92\x8e gems\n"  # 10
    b"section_end:1732460038:bundle_install\r\x1b[0K\n"  # 11
    b"\x1b[32;1m$ rspec\x1b[0;m\n"  # 12
    b"section_start:1732460039:rspec[collapsed=false,hide_duration=true]\r\x1b[0KRunning specs\r\n"  # 13
    b"10 examples, 1 failure\n"  # 14
    b"section_end:1732460050:rspec\r\x1b[0K\n"  # 15
    b"section_end:1732460051:step_script\r\x1b[0K\n"  # 16
    b"section_start:1732460051:cleanup_file_variables\r\x1b[0K\x1b[0K\x1b[36;1mCleaning up project directory and file based variables\x1b[0;m\x1b[0;m\n"  # 17
    b"section_end:1732460052:cleanup_file_variables\r\x1b[0K\n"  # 18
    b"\x1b[31;1mERROR: Job failed: exit code 1\n"  # 19
    b"\x1b[0;m"  # 20, no line end
)


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def decode(data: bytes, cuts: Sequence[int] = (), **options: bool) -> list[str]:
    """The lines of data fed as chunks cut at the given offsets, then flushed."""
    decoder = LineDecoder(**options)
    lines: list[str] = []
    start = 0
    for cut in [*cuts, len(data)]:
        lines += decoder.feed(data[start:cut])
        start = cut
    return lines + decoder.flush()


def sections_of(lines: list[str]) -> list[LogSection]:
    """The sections SectionParser finds in lines, in start order."""
    parser = SectionParser()
    found = [section for line in lines for section in parser.feed_line(line)]
    found += parser.finish()
    return sorted(found, key=lambda s: (s.start_line, s.depth))


# --- lines -----------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["é", "💎", "✓"])
def test_multibyte_split_at_every_offset(char):
    """A UTF-8 character cut at any byte, or at every byte, decodes to the same character."""
    data = f"a{char}b\n{char}".encode()
    for cut in range(len(data) + 1):
        assert decode(data, [cut]) == [f"a{char}b", char]
    assert decode(data, range(1, len(data))) == [f"a{char}b", char]


def test_crlf_split_at_every_offset():
    """\\r\\n cut between chunks is one line end, not a redraw followed by a line end."""
    data = b"one\r\ntwo\r\n\r\nthree\r"
    for cut in range(len(data) + 1):
        assert decode(data, [cut]) == ["one", "two", "", "three"]
        assert decode(data, [cut], keep_redraws=True) == ["one", "two", "", "three"]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", []),
        (b"\n", [""]),
        (b"a\nb\n", ["a", "b"]),
        (b"a\nb", ["a", "b"]),
        (b"a\r\nb\r\n", ["a", "b"]),
        (b"a\r\r\nb", ["a", "b"]),
        (b"a\n\n\nb\n", ["a", "", "", "b"]),
        (b"a\r", ["a"]),
        (b"\r", [""]),
    ],
)
def test_line_ends(data, lines):
    """\\n and \\r*\\n end lines, which come out without their line end; flush gives an unterminated last line."""
    assert decode(data) == lines
    assert decode(data, range(1, len(data))) == lines


def test_flush_returns_the_partial_line_and_resets():
    """feed keeps an unterminated line back, flush returns it once and leaves the decoder reusable."""
    decoder = LineDecoder()
    assert decoder.feed(b"partial") == []
    assert decoder.feed(b" line") == []
    assert decoder.flush() == ["partial line"]
    assert decoder.flush() == []
    assert decoder.feed(b"next\n") == ["next"]


@pytest.mark.parametrize(
    ("data", "cuts", "lines"),
    [
        (b"ok \xff\xfe end\nnext", [4], ["ok \ufffd\ufffd end", "next"]),
        (b"caf\xc3", [], ["caf\ufffd"]),  # truncated at the end of the log
        (b"caf\xc3\nx\n", [4], ["caf\ufffd", "x"]),  # a line end inside a sequence
        (b"\xf0\x9f\x92x\n", [2], ["\ufffdx"]),  # three bytes of a four-byte character
        (b"\xed\xa0\x80\n", [1], ["\ufffd\ufffd\ufffd"]),  # an encoded surrogate
    ],
)
def test_invalid_bytes_are_replaced(data, cuts, lines):
    """Invalid UTF-8 becomes U+FFFD and decoding goes on, wherever the chunks are cut."""
    assert decode(data, cuts) == lines


@pytest.mark.parametrize(
    ("data", "shown", "raw"),
    [
        (
            b"progress 10%\rprogress 50%\rprogress 100%\n",
            "progress 100%",
            "progress 10%\rprogress 50%\rprogress 100%",
        ),
        (b"old text\r\x1b[0Knew\n", "\x1b[0Knew", "old text\r\x1b[0Knew"),
        (b"abc\r\n", "abc", "abc"),
        (b"abc\r\r\n", "abc", "abc"),
        (b"abc\r\rxy\n", "xy", "abc\r\rxy"),
    ],
)
def test_bare_cr_is_a_redraw(data, shown, raw):
    """By default a line is the text after its last bare \\r; keep_redraws=True keeps the raw text."""
    for cut in range(len(data) + 1):
        assert decode(data, [cut]) == [shown]
        assert decode(data, [cut], keep_redraws=True) == [raw]


def test_redraws_keep_section_markers():
    """A redraw erases the text before it but never a section marker, so SectionParser still reads the line."""
    line = b"fetch 10%\rsection_start:5:fetch\r\x1b[0Kfetch 50%\rfetch 100%\n"
    (shown,) = decode(line)
    assert shown == "section_start:5:fetch\r\x1b[0Kfetch 100%"
    assert visible(shown) == "\x1b[0Kfetch 100%"
    (section,) = sections_of([shown])
    assert section.name == "fetch" and section.header == "fetch 100%"


def test_visible_is_what_a_terminal_shows():
    """visible() keeps the text after the last \\r, which hides markers as the runner intends."""
    assert visible("a\rb\rc") == "c"
    assert visible("plain") == "plain"
    assert visible("section_end:1:x\r\x1b[0K") == "\x1b[0K"


# --- ANSI ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("\x1b[31;1mERROR\x1b[0;m", "ERROR"),
        ("\x1b[0Kline", "line"),
        ("\x1b[2K\x1b[1Gdone", "done"),
        ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),
        ("\x1b[38;5;208morange\x1b[m", "orange"),
        ("\x1b]0;window title\x07text", "text"),
        ("\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1b(Bcharset\x1b=", "charset"),
        ("cut \x1b[3", "cut "),
        ("stray \x1b", "stray "),
        ("plain [brackets] stay", "plain [brackets] stay"),
    ],
)
def test_strip_ansi(raw, plain):
    """Colour, erase-line, cursor, OSC, charset and stray escape sequences are removed; text stays."""
    assert strip_ansi(raw) == plain


def test_decoder_strips_ansi_on_request():
    """LineDecoder(strip_ansi=True) gives plain lines, even with an escape cut between chunks."""
    data = b"\x1b[32mgreen\x1b[0m\n\x1b]0;t\x07x\n"
    for cut in range(len(data) + 1):
        assert decode(data, [cut], strip_ansi=True) == ["green", "x"]


def test_decoder_lines_of_a_runner_log():
    """The runner log decodes to 21 lines; redraws are resolved, plain-text lines are clean."""
    lines = decode(RUNNER_LOG, strip_ansi=True)
    assert len(lines) == 21
    assert lines[0] == "Running with gitlab-runner 17.5.0 (8ec04662)"
    assert lines[6] == "Receiving objects: 100% (10/10), done."
    assert lines[10] == "Fetching café 💎 gems"
    assert lines[20] == ""
    assert [visible(line) for line in lines[2:5]] == [
        'Preparing the "docker" executor',
        "Using Docker executor with image ruby:3.3 ...",
        "Getting source from Git repository",
    ]


async def test_iter_lines():
    """iter_lines decodes an async stream of chunks, flushing the last line at the end."""

    async def chunks() -> AsyncGenerator[bytes, None]:
        for start in range(0, len(RUNNER_LOG), 5):
            yield RUNNER_LOG[start : start + 5]

    lines = [line async for line in iter_lines(chunks(), strip_ansi=True)]
    assert lines == decode(RUNNER_LOG, strip_ansi=True)
    raw = [line async for line in iter_lines(chunks(), keep_redraws=True)]
    assert raw == decode(RUNNER_LOG, keep_redraws=True)


async def test_iter_lines_closes_its_source():
    """Closing iter_lines early closes the chunk generator it reads (releasing its connection)."""
    closed = False

    async def chunks() -> AsyncGenerator[bytes, None]:
        nonlocal closed
        try:
            while True:
                yield b"line\n"
        finally:
            closed = True

    lines = iter_lines(chunks())
    assert await anext(lines) == "line"
    await lines.aclose()
    assert closed


# --- sections --------------------------------------------------------------------------------


def test_sections_of_a_runner_log():
    """Nested and collapsed sections get their names, depths, parents, durations, lines and headers."""
    table = [
        (s.name, s.depth, s.parent, s.duration, s.start_line, s.end_line, s.collapsed, s.header)
        for s in parse_sections(RUNNER_LOG)
    ]
    assert table == [
        (
            "prepare_executor",
            0,
            None,
            timedelta(seconds=4),
            2,
            4,
            False,
            'Preparing the "docker" executor',
        ),
        (
            "get_sources",
            0,
            None,
            timedelta(seconds=3),
            4,
            7,
            False,
            "Getting source from Git repository",
        ),
        (
            "step_script",
            0,
            None,
            timedelta(seconds=44),
            7,
            16,
            False,
            'Executing "step_script" stage of the job script',
        ),
        ("bundle_install", 1, "step_script", timedelta(seconds=30), 9, 11, True, "Installing gems"),
        ("rspec", 1, "step_script", timedelta(seconds=11), 13, 15, False, "Running specs"),
        (
            "cleanup_file_variables",
            0,
            None,
            timedelta(seconds=1),
            17,
            18,
            False,
            "Cleaning up project directory and file based variables",
        ),
    ]


def test_section_times_and_options():
    """Times are UTC datetimes from the markers; options are a read-only mapping of strings."""
    sections = {s.name: s for s in parse_sections(RUNNER_LOG)}
    rspec = sections["rspec"]
    assert rspec.started_at == at(1732460039) and rspec.ended_at == at(1732460050)
    assert rspec.started_at.tzinfo is UTC
    assert rspec.options == {"collapsed": "false", "hide_duration": "true"}
    assert sections["step_script"].options == {}
    with pytest.raises(TypeError):
        rspec.options["collapsed"] = "true"  # type: ignore[index]
    assert hash(rspec) == hash(attrs.evolve(rspec))


@pytest.mark.parametrize(
    "options",
    [
        {"strip_ansi": False, "keep_redraws": False},
        {"strip_ansi": True, "keep_redraws": False},
        {"strip_ansi": False, "keep_redraws": True},
        {"strip_ansi": True, "keep_redraws": True},
    ],
)
def test_sections_from_any_decoder(options):
    """SectionParser finds the same sections in the lines of a LineDecoder with any options."""
    assert sections_of(decode(RUNNER_LOG, **options)) == parse_sections(RUNNER_LOG)


def test_byte_by_byte_equals_whole():
    """Feeding the log byte by byte, or cut at any of many points, gives the same lines and sections as whole."""
    whole = decode(RUNNER_LOG)
    raw = decode(RUNNER_LOG, keep_redraws=True)
    sections = parse_sections(RUNNER_LOG)
    assert decode(RUNNER_LOG, range(1, len(RUNNER_LOG))) == whole
    assert decode(RUNNER_LOG, range(1, len(RUNNER_LOG)), keep_redraws=True) == raw
    for step in (2, 3, 7, 64):
        for first in range(step):
            cuts = range(first, len(RUNNER_LOG), step)
            lines = decode(RUNNER_LOG, cuts)
            assert lines == whole
            assert sections_of(lines) == sections


def test_chunk_boundary_inside_a_marker():
    """A section marker cut at any byte between two chunks is still found."""
    data = b"before\nsection_start:100:build[collapsed=true]\r\x1b[0KBuilding\nsection_end:160:build\r\x1b[0K\n"
    expected = [
        LogSection(
            name="build",
            started_at=at(100),
            ended_at=at(160),
            options={"collapsed": "true"},
            header="Building",
            start_line=1,
            end_line=2,
        )
    ]
    for cut in range(len(data) + 1):
        assert sections_of(decode(data, [cut])) == expected


def test_end_and_start_on_one_line():
    """A line holding an end marker and then a start marker closes one section and opens the next there."""
    parser = SectionParser()
    assert parser.feed_line("section_start:10:one\r\x1b[0KOne") == []
    (one,) = parser.feed_line(
        "\x1b[0Ksection_end:12:one\r\x1b[0K\x1b[0Ksection_start:12:two\r\x1b[0K\x1b[36;1mTwo\x1b[0;m"
    )
    assert (one.name, one.end_line, one.duration) == ("one", 1, timedelta(seconds=2))
    (two,) = parser.open_sections
    assert (two.name, two.start_line, two.depth, two.parent, two.header) == (
        "two",
        1,
        0,
        None,
        "Two",
    )


def test_several_markers_on_one_line():
    """Starts, ends and nested starts on a single line are all read in order, each header up to the next marker."""
    parser = SectionParser()
    closed = parser.feed_line(
        "section_start:1:a\r\x1b[0KA section_start:2:b\r\x1b[0KB section_end:3:b\r\x1b[0Ksection_start:3:c\r\x1b[0KC"
    )
    assert [(s.name, s.header, s.end_line) for s in closed] == [("b", "B", 0)]
    assert [(s.name, s.depth, s.parent, s.header) for s in parser.open_sections] == [
        ("a", 0, None, "A"),
        ("c", 1, "a", "C"),
    ]


def test_parse_sections_is_in_start_order():
    """parse_sections lists sections in the order they started, even when one opens and closes inside a line."""
    log = b"section_start:1:a\r\x1b[0Ksection_start:1:b\r\x1b[0Ksection_end:1:b\r\x1b[0Ksection_end:1:a\r\x1b[0Ksection_start:1:c\r\x1b[0K\n"
    assert [(s.name, s.depth) for s in parse_sections(log)] == [("a", 0), ("b", 1), ("c", 0)]


def test_mismatched_end_closes_up_to_its_section():
    """An end naming an outer section closes the sections inside it at the same time and line."""
    log = (
        b"section_start:10:outer\r\x1b[0K\n"
        b"section_start:11:middle\r\x1b[0K\n"
        b"section_start:12:inner\r\x1b[0K\n"
        b"section_end:20:middle\r\x1b[0K\n"
        b"section_end:30:outer\r\x1b[0K\n"
    )
    parser = SectionParser()
    lines = decode(log)
    for line in lines[:3]:
        assert parser.feed_line(line) == []
    assert [(s.name, s.ended_at, s.end_line) for s in parser.feed_line(lines[3])] == [
        ("inner", at(20), 3),
        ("middle", at(20), 3),
    ]
    assert [s.name for s in parser.open_sections] == ["outer"]
    assert [(s.name, s.end_line) for s in parser.feed_line(lines[4])] == [("outer", 4)]


def test_unknown_end_is_ignored():
    """An end naming no open section changes nothing."""
    parser = SectionParser()
    parser.feed_line("section_start:10:build\r\x1b[0K")
    assert parser.feed_line("section_end:11:nowhere\r\x1b[0K") == []
    assert [s.name for s in parser.open_sections] == ["build"]


def test_same_name_nested_closes_innermost():
    """With two open sections of one name, an end closes the inner one only."""
    parser = SectionParser()
    parser.feed_line("section_start:1:x\r\x1b[0Kouter")
    parser.feed_line("section_start:2:x\r\x1b[0Kinner")
    (closed,) = parser.feed_line("section_end:3:x\r\x1b[0K")
    assert closed.header == "inner" and closed.depth == 1
    assert [s.header for s in parser.open_sections] == ["outer"]


def test_unterminated_sections_at_finish():
    """Sections still open at the end come back from finish, innermost first, with no end."""
    parser = SectionParser()
    assert parser.feed_line("section_start:10:build\r\x1b[0KBuilding") == []
    assert parser.feed_line("section_start:11:compile[collapsed=true]\r\x1b[0K") == []
    assert [s.name for s in parser.open_sections] == ["build", "compile"]
    inner, outer = parser.finish()
    assert (inner.name, outer.name) == ("compile", "build")
    assert inner.ended_at is None and inner.duration is None and inner.end_line is None
    assert inner.collapsed and not outer.collapsed
    assert parser.open_sections == [] and parser.finish() == []
    (cut_short,) = parse_sections(b"section_start:10:build\r\x1b[0KBuilding\nstill going")
    assert cut_short.ended_at is None and cut_short.header == "Building"


@pytest.mark.parametrize(
    "line",
    [
        "echo section_start:1:build",  # no \r after the marker
        "section_start:1:build [collapsed=true]\r\x1b[0K",  # a space before the options
        "section_start:1:build[collapsed]\r\x1b[0K",  # an option without a value
        "section_start:1:bad name\r\x1b[0K",  # a space in the name
        "section_start::build\r\x1b[0K",  # no timestamp
        "section_start:99999999999999999999:build\r\x1b[0K",  # a timestamp out of range
    ],
)
def test_not_a_marker(line):
    """Text that only resembles a marker, or has an out-of-range timestamp, opens no section."""
    parser = SectionParser()
    assert parser.feed_line(line) == []
    assert parser.open_sections == []
