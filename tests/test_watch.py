"""The watcher's state machine (``_watch``): which requests a poll asks for, what it reports.

Pure tables: a poll is answered from an in-memory list of ``{job id: status}`` served newest
first, as GitLab's ``GET /projects/:id/jobs`` does; no HTTP, no clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gitlab_jobs_async._watch import (
    SCOPED,
    SCOPED_PER_PAGE,
    GetJob,
    JobBook,
    ListPage,
    Poll,
    Request,
    Seen,
    plan_recheck,
)

Jobs = dict[int, str]


def answer(poll: Poll[None], jobs: Jobs, per_page: int) -> list[Request]:
    """Answer every request of ``poll`` from ``jobs``; the requests it asked, in order."""
    asked = []
    while (request := poll.next_request()) is not None:
        asked.append(request)
        if isinstance(request, GetJob):
            status = jobs.get(request.job_id)
            poll.job(request, None if status is None else Seen(request.job_id, status, None))
            continue
        rows = [(i, s) for i, s in sorted(jobs.items(), reverse=True)
                if not request.scoped or s in SCOPED]  # fmt: skip
        size = SCOPED_PER_PAGE if request.scoped else per_page
        start = (request.page - 1) * size
        chunk = rows[start : start + size]
        poll.page(request, [Seen(i, s, None) for i, s in chunk], len(rows) > start + size)
    return asked


def run(
    book: JobBook, jobs: Jobs, now: float = 0.0
) -> tuple[list[Request], list[tuple[int, str | None, str]]]:
    poll: Poll[None] = Poll(book, now)
    asked = answer(poll, jobs, book.per_page)
    return asked, [(t.id, t.previous, t.status) for t in poll.finish()]


def P(page: int) -> ListPage:
    return ListPage(page)


def S(page: int) -> ListPage:
    return ListPage(page, scoped=True)


def G(job_id: int) -> GetJob:
    return GetJob(job_id)


def jobs_of(count: int, status: str = "success", *, top: int = 100) -> Jobs:
    return {top - n: status for n in range(count)}


# -- the cheapest recheck -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stale", "last_page", "scoped_above", "force", "how", "cost", "depth"),
    [
        pytest.param([(5, "running", 2)], 1, 1, "auto", "get", 1, 0, id="one-job-ties-go-to-get"),
        pytest.param(
            [(i, "pending", 2) for i in range(5)],
            1,
            5,
            "auto",
            "pages",
            1,
            2,
            id="five-pending-on-page-2-tie-pages-vs-scope",
        ),
        pytest.param(
            [(i, "running", 2) for i in range(5)],
            1,
            250,
            "auto",
            "pages",
            1,
            2,
            id="five-on-page-2-many-unfinished-pages",
        ),
        pytest.param(
            [(i, "manual", 2 + i * 10) for i in range(5)],
            1,
            5,
            "auto",
            "scope",
            1,
            0,
            id="spread-deep-scope",
        ),
        pytest.param(
            [(1, "running", 2), (2, "running", 2), (3, "running", 30)],
            1,
            300,
            "auto",
            "pages",
            2,
            2,
            id="two-near-one-deep-pages-then-get",
        ),
        pytest.param(
            [(i, "running", None) for i in range(3)],
            1,
            300,
            "auto",
            "get",
            3,
            0,
            id="pages-unknown-get",
        ),
        pytest.param(
            [(1, "canceling", 9), (2, "canceling", 9)],
            1,
            0,
            "auto",
            "get",
            2,
            0,
            id="canceling-never-in-the-scoped-list",
        ),
        pytest.param(
            [(1, "running", 2)], 1, 1000, "scope", "scope", 11, 0, id="forced-scope-running-gets"
        ),
        pytest.param(
            [(i, "pending", 2 + i) for i in range(5)],
            1,
            5,
            "auto",
            "scope",
            1,
            0,
            id="pending-stay-in-the-scoped-list",
        ),
        pytest.param(
            [(i, "running", 2) for i in range(5)],
            1,
            5,
            "auto",
            "pages",
            1,
            2,
            id="running-likely-left-it-pages",
        ),
        pytest.param(
            [(1, "running", 2)], 1, 1, "pages", "pages", 1, None, id="forced-pages-until-covered"
        ),
    ],
)
def test_recheck_plan_is_the_cheapest(stale, last_page, scoped_above, force, how, cost, depth):
    """plan_recheck picks the way with the fewest requests (ties: GETs, then pages)."""
    plan = plan_recheck(stale, last_page=last_page, scoped_above=scoped_above, force=force)
    assert (plan.how, plan.cost, plan.depth) == (how, cost, depth)


# -- the baseline ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jobs", "existing", "asked", "found"),
    [
        pytest.param({}, "none", [P(1)], [], id="empty-project"),
        pytest.param(
            {3: "success", 2: "running", 1: "manual"},
            "none",
            [P(1)],
            [],
            id="one-page-reports-nothing",
        ),
        pytest.param(
            {3: "success", 2: "running", 1: "manual"},
            "unfinished",
            [P(1)],
            [(1, None, "manual"), (2, None, "running")],
            id="unfinished",
        ),
        pytest.param(
            {3: "success", 2: "running"},
            "all",
            [P(1)],
            [(2, None, "running"), (3, None, "success")],
            id="all",
        ),
        pytest.param(
            {**jobs_of(4), 10: "running", 2: "manual", 1: "pending", 3: "created"},
            "unfinished",
            [P(1), S(1)],
            [
                (1, None, "pending"),
                (2, None, "manual"),
                (3, None, "created"),
                (10, None, "running"),
            ],
            id="longer-list-reads-the-unfinished-list-whole",
        ),
    ],
)
def test_baseline(jobs, existing, asked, found):
    """The first poll reads page 1 and, if there is more, every unfinished job; reports per
    ``existing``."""
    book = JobBook(per_page=3, existing=existing)
    assert run(book, jobs) == (asked, found)
    assert book.baselined
    assert book.watermark == max(jobs, default=0)


# -- later polls ----------------------------------------------------------------------------

Change = Callable[[Jobs], None]


def _set(**statuses: str) -> Change:
    return lambda jobs: jobs.update({int(k[1:]): v for k, v in statuses.items()})


def _add(*ids: int, status: str = "created") -> Change:
    return lambda jobs: jobs.update(dict.fromkeys(ids, status))


def _drop(*ids: int) -> Change:
    def change(jobs: Jobs) -> None:
        for job_id in ids:
            del jobs[job_id]

    return change


BEFORE: Jobs = {10: "success", 9: "running", 8: "success", 7: "success", 6: "pending",
                5: "success", 4: "manual", 3: "success", 2: "success", 1: "running"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "asked", "found"),
    [
        pytest.param(None, [P(1), S(1)], [], id="quiet-rechecks-three-below-page-1"),
        pytest.param(
            _set(j9="failed"),
            [P(1), S(1)],
            [(9, "running", "failed")],
            id="change-on-page-1-shortens-the-unfinished-list",
        ),
        pytest.param(_add(11), [P(1), S(1)], [(11, None, "created")], id="one-new-job"),
        pytest.param(
            _add(11, 12, 13),
            [P(1), P(2), S(1)],
            [(11, None, "created"), (12, None, "created"), (13, None, "created")],
            id="a-page-of-new-jobs-reads-the-next",
        ),
        pytest.param(
            _set(j1="success", j6="running"),
            [P(1), S(1), G(1)],
            [(1, "running", "success"), (6, "pending", "running")],
            id="deep-changes-scope-then-get-what-left-it",
        ),
        pytest.param(_drop(1), [P(1), S(1), G(1)], [], id="deleted-job-forgotten"),
    ],
)
def test_later_polls(change, asked, found):
    """After the baseline, a poll reads the newest page, then rechecks unfinished jobs."""
    jobs = dict(BEFORE)
    book = JobBook(per_page=3)
    run(book, jobs)
    if change is not None:
        change(jobs)
    assert run(book, jobs) == (asked, found)


def test_the_unfinished_list_is_read_a_hundred_at_a_time_as_far_as_needed():
    """250 parked jobs are rechecked in 3 pages of the unfinished list, whatever the head's
    page size; a change only near the top stops the read early."""
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
