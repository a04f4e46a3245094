"""``python -m gitlab_jobs_async``: the ``gitlab-jobs`` command line."""

from ._cli import run

if __name__ == "__main__":
    run()
