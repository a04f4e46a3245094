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
