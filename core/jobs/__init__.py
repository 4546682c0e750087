"""Jobs: one catalog of job functions, run by Celery workers or by the in-process executor alike."""
