"""Prometheus metrics shared by the web process and the job runner."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SLACK_REQUESTS = Counter(
    "agentpm_slack_requests_total", "Slack requests received, by kind and outcome", ["kind", "outcome"]
)
ACK_LATENCY = Histogram(
    "agentpm_ack_latency_seconds",
    "Time from receiving a Slack request to answering it",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
JOBS = Counter("agentpm_jobs_total", "Jobs finished, by name and outcome", ["job", "outcome"])
JOB_DURATION = Histogram(
    "agentpm_job_duration_seconds",
    "Job run time",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
)
JOBS_ENQUEUED = Counter("agentpm_jobs_enqueued_total", "Jobs enqueued, by name", ["job"])
ERRORS = Counter("agentpm_errors_total", "Errors shown to users, by where they happened", ["where"])
DB_POOL_IN_USE = Gauge("agentpm_db_pool_in_use", "Database connections checked out of the pool")
