"""The Celery side of the job-queue port: configuration shared with the worker, and a by-name producer.

The web process never imports ``tasks``; it sends tasks by name with the request ID in the message headers.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from core.config import Settings
from core.context import current_request_id, new_request_id
from core.errors import QueueUnavailable
from core.jobs.catalog import CATALOG, QUEUES
from core.metrics import JOBS_ENQUEUED

RESULT_EXPIRES_SECONDS = 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    """One place for Celery's settings, used by the producer here and the worker in ``tasks``."""
    broker = settings.broker_url
    return {
        "broker_url": broker,
        # No job needs its return value (results go to Slack), so there is no result backend: a dead Redis
        # then fails a publish at once instead of retrying the backend's subscription. Were one added,
        # results would expire after an hour.
        "result_expires": RESULT_EXPIRES_SECONDS,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_default_queue": "default",
        "task_routes": {name: {"queue": spec.queue} for name, spec in CATALOG.items()},
        "task_soft_time_limit": settings.agentpm_job_soft_time_limit,
        "task_time_limit": settings.agentpm_job_soft_time_limit + 30,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "broker_transport_options": {
            "socket_timeout": 3,
            "socket_connect_timeout": 3,
            # Unacknowledged tasks are redelivered after this (acks_late): longer than any task may run.
            "visibility_timeout": max(spec.time_limit for spec in CATALOG.values()) + 600,
        },
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,  # one more message per enqueue; monitoring may turn it on
        "timezone": "UTC",
        "enable_utc": True,
    }


def make_celery(settings: Settings, name: str = "agentpm") -> Celery:
    app = Celery(name)
    app.conf.update(celery_config(settings))
    return app


class CeleryQueue:
    """Enqueues by task name; a dead broker becomes ``QueueUnavailable`` quickly instead of hanging."""

    backend = "celery"

    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self._redis_url = settings.broker_url

    def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        spec = CATALOG.get(name)
        queue = spec.queue if spec else "default"
        try:
            result = self.app.send_task(
                name,
                kwargs={"payload": payload},
                queue=queue,
                headers={"request_id": current_request_id() or new_request_id()},
                retry=True,
                ignore_result=True,
                # Celery would log a repr of the payload; keys are enough, and cheaper on the ack path.
                argsrepr="()",
                kwargsrepr="{payload: " + ",".join(sorted(payload)) + "}",
            )
        except (OperationalError, OSError, RuntimeError) as exc:  # RuntimeError: kombu's retry limit
            raise QueueUnavailable() from exc
        JOBS_ENQUEUED.labels(job=name).inc()
        return str(result.id)

    def pending(self) -> int | None:
        """Messages waiting in the Redis lists that back the queues."""
        import redis

        if not self._redis_url or not self._redis_url.startswith(("redis://", "rediss://", "unix://")):
            return None
        client = redis.Redis.from_url(self._redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return sum(int(client.llen(queue)) for queue in QUEUES)
        except redis.RedisError:
            return None
        finally:
            client.close()

    def ping(self, timeout: float) -> int:
        replies = self.app.control.ping(timeout=timeout)
        return len(replies or [])
