"""Housekeeping tasks that belong to no product app."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="core.clear_expired_sessions", acks_late=True, time_limit=300)
def clear_expired_sessions() -> None:
    """Delete expired sessions (the database session store never does it by itself)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
