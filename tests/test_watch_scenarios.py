"""The watcher's state machine over several polls: rechecks, estimates, memory, odd lists.

Answered, as in test_watch.py, from an in-memory list of ``{job id: status}``.
"""

from __future__ import annotations

import pytest

from gitlab_jobs_async._watch import JobBook, ListPage, Poll, Seen

from .test_watch import G, Jobs, P, S, jobs_of, run


def test_the_unfinished_list_is_read_a_hundred_at_a_time_as_far_as_needed():
    """250 parked jobs are rechecked in 3 pages of the unfinished list, whatever the head's
    page size, and a change of the oldest one is found there."""
    jobs = {**jobs_of(10, top=300), **dict.fromkeys(range(1, 251), "manual")}
    book = JobBook(per_page=10)
    assert run(book, jobs) == ([P(1), S(1), S(2), S(3)], [])
    jobs[2] = "pending"
    assert run(book, jobs) == ([P(1), S(1), S(2), S(3)], [(2, "manual", "pending")])


def test_forced_pages_read_until_every_stale_job_is_covered():
    """recheck="pages" reads the list down to the oldest unfinished job, positions unknown."""
    jobs = {**jobs_of(30, top=100), 5: "running"}
    book = JobBook(per_page=10, recheck="pages")
    run(book, jobs)
    jobs[5] = "success"
    assert run(book, jobs) == ([P(1), P(2), P(3), P(4)], [(5, "running", "success")])


def test_quiet_project_costs_one_request():
    """A project whose unfinished jobs are all on page 1 costs one request a poll."""
    jobs = {**jobs_of(50, top=60), 61: "running", 62: "pending"}
    book = JobBook(per_page=20)
    run(book, jobs)
    for _ in range(3):
        assert run(book, jobs) == ([P(1)], [])


def test_one_stale_job_is_read_by_itself():
    """A single unfinished job below page 1 is rechecked with one GET."""
    jobs = {**jobs_of(50, top=60), 5: "running"}
    book = JobBook(per_page=20)
    run(book, jobs)
    assert run(book, jobs) == ([P(1), G(5)], [])
    jobs[5] = "failed"
    assert run(book, jobs) == ([P(1), G(5)], [(5, "running", "failed")])
    assert run(book, jobs) == ([P(1)], [])  # finished: no longer rechecked


def _two_pages_of_unfinished() -> tuple[JobBook, Jobs]:
    """A book that saw 20 new jobs arrive after its baseline: 10 running on page 1, and 5
    running and 5 finished on page 2 (10 a page)."""
    jobs = jobs_of(10, top=100)
    book = JobBook(per_page=10)
    run(book, jobs)
    jobs.update({**dict.fromkeys(range(101, 106), "success"),
                 **dict.fromkeys(range(106, 121), "running")})  # fmt: skip
    asked, found = run(book, jobs)
    assert asked == [P(1), P(2), P(3)] and len(found) == 20
    return book, jobs


def test_unfinished_jobs_on_page_2_are_rechecked_by_reading_it():
    """Unfinished jobs on page 2 are rechecked by reading page 2 when the list of unfinished
    jobs is longer than a page."""
    book, jobs = _two_pages_of_unfinished()
    assert book.estimated_page(110) == 2
    jobs[108] = "failed"
    assert run(book, jobs) == ([P(1), P(2)], [(108, "running", "failed")])


def test_new_jobs_shift_the_estimated_pages():
    """Jobs pushed down by new ones are looked for where they are now, a page lower."""
    book, jobs = _two_pages_of_unfinished()
    jobs.update(dict.fromkeys(range(121, 131), "success"))  # ten new finished jobs on top
    asked, found = run(book, jobs)
    assert asked == [P(1), P(2), P(3)]
    assert [t[0] for t in found] == list(range(121, 131))
    assert book.estimated_page(110) == 3


def test_forced_recheck_ways_find_the_same_changes():
    """Each recheck way, forced, finds the same transitions."""
    results = set()
    for way in ("get", "pages", "scope"):
        jobs = {**jobs_of(30, top=100), 60: "running", 40: "pending", 20: "manual"}
        book = JobBook(per_page=10, recheck=way)
        run(book, jobs)
        jobs.update({60: "success", 40: "running", 20: "pending"})
        results.add(tuple(run(book, jobs)[1]))
    assert results == {((20, "manual", "pending"), (40, "pending", "running"),
                        (60, "running", "success"))}  # fmt: skip


def test_a_job_gone_when_rechecked_is_forgotten():
    """A rechecked job that answers 404 (its pipeline deleted) is forgotten, silently."""
    jobs = {**jobs_of(30, top=100), 5: "running"}
    book = JobBook(per_page=10, recheck="get")
    run(book, jobs)
    del jobs[5]
    assert run(book, jobs) == ([P(1), G(5)], [])
    assert book.status(5) is None
    assert run(book, jobs) == ([P(1)], [])


def test_finished_jobs_are_forgotten_after_retention_and_not_reported_again():
    """A finished job is forgotten after ``retention``; seen again, it is old, not new."""
    jobs = {2: "running", 1: "success"}
    book = JobBook(per_page=10, retention=60)
    run(book, jobs, now=0)
    jobs[2] = "success"
    assert run(book, jobs, now=10)[1] == [(2, "running", "success")]
    assert run(book, jobs, now=69)[1] == []
    assert book.status(1) is None and book.status(2) == "success"  # 1 was first seen at 0
    assert run(book, jobs, now=200)[1] == []  # seen again: tracked silently, not "new"


def test_a_forgotten_job_coming_back_is_tracked_from_then_on():
    """A finished job forgotten, then reset to created (a retry upstream), is tracked again
    and its next change reported."""
    jobs = {3: "success", 2: "skipped", 1: "success"}
    book = JobBook(per_page=10, retention=5)
    run(book, jobs, now=0)
    run(book, {}, now=10)  # everything finished long ago: forgotten
    jobs[2] = "created"
    assert run(book, jobs, now=20)[1] == []
    jobs[2] = "pending"
    assert run(book, jobs, now=21)[1] == [(2, "created", "pending")]


def test_max_tracked_drops_the_oldest_unfinished_jobs():
    """Memory stays bounded: beyond ``max_tracked`` unfinished jobs, the oldest are dropped."""
    jobs = dict.fromkeys(range(1, 21), "manual")
    book = JobBook(per_page=100, max_tracked=5)
    run(book, jobs)
    assert sorted(book.entries) == [16, 17, 18, 19, 20]
    assert book.dropped == 15


def test_a_list_that_repeats_itself_ends_the_poll():
    """A server answering the same page of new jobs forever cannot make a poll loop."""
    book = JobBook(per_page=2)
    run(book, {1: "success"})
    poll: Poll[None] = Poll(book, 0)
    pages = []
    while (request := poll.next_request()) is not None:
        assert isinstance(request, ListPage)
        pages.append(request.page)
        poll.page(request, [Seen(9, "created", None), Seen(8, "created", None)], True)
    assert pages == [1, 2]
    assert [t.id for t in poll.finish()] == [8, 9]


def test_new_jobs_arriving_between_pages_are_seen_once():
    """Jobs shifted down between two page reads show up twice but are reported once."""
    book = JobBook(per_page=2)
    run(book, {1: "success"})
    poll: Poll[None] = Poll(book, 0)
    request = poll.next_request()
    assert request == P(1)
    poll.page(request, [Seen(5, "created", None), Seen(4, "created", None)], True)
    request = poll.next_request()
    assert request == P(2)  # two more arrived meanwhile: page 2 starts with 5 again
    poll.page(request, [Seen(5, "created", None), Seen(4, "created", None)], True)
    assert poll.next_request() is None
    assert [t.id for t in poll.finish()] == [4, 5]


def test_an_unfinished_poll_changes_nothing():
    """A poll abandoned half-way (a failed request) leaves the book as it was."""
    book = JobBook(per_page=2)
    run(book, {2: "running", 1: "success"})
    poll: Poll[None] = Poll(book, 0)
    request = poll.next_request()
    assert isinstance(request, ListPage)
    poll.page(request, [Seen(3, "created", None), Seen(2, "success", None)], False)
    assert book.status(2) == "running" and book.watermark == 2
    assert run(book, {3: "created", 2: "success", 1: "success"})[1] == [
        (2, "running", "success"),
        (3, None, "created"),
    ]


def test_finish_before_the_last_answer_is_refused():
    """finish() with requests still unanswered raises instead of reporting half a poll."""
    poll: Poll[None] = Poll(JobBook(), 0)
    with pytest.raises(RuntimeError, match="requests left"):
        poll.finish()
