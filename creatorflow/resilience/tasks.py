"""Housekeeping for the shared rate limiter."""

from celery import shared_task

from .ratelimit import purge_idle_windows


# The name is kept from the token-bucket days: the schedule registry knows the task by it.
@shared_task(name="resilience.purge_idle_buckets", acks_late=True, time_limit=300)
def purge_idle_buckets_task() -> int:
    """Drop database rate-limit windows idle for a day (only the no-Redis fallback keeps rows)."""
    return purge_idle_windows()
