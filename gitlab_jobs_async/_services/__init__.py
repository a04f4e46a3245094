"""The services. Strictly private: import them from ``gitlab_jobs_async``."""

from .bridges import Bridges
from .groups import Groups
from .pipeline_jobs import PipelineJobs
from .project_jobs import ProjectJobs
from .token_job import TokenJob

__all__ = ["Bridges", "Groups", "PipelineJobs", "ProjectJobs", "TokenJob"]
