"""Celery app, schedule and thin tasks that call core services."""
