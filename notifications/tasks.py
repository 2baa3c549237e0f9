"""Celery tasks for notifications: load by id, call one service."""

from __future__ import annotations

from celery import shared_task

from creatorflow.resilience.retry import EMAIL_RETRY, retry_task_or_raise

from . import services


@shared_task(
    bind=True,
    name="notifications.send_email",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=EMAIL_RETRY.max_attempts,
    soft_time_limit=60,
    time_limit=90,
)
def send_notification_email(self, notification_id: str) -> None:
    """Email a notification to the members who want it; retried with backoff if SMTP fails.

    Idempotent: the service sends at most once per notification.
    """
    try:
        services.notification_send_email(notification_id=notification_id)
    except services.EmailDeliveryFailed as exc:
        retry_task_or_raise(self, exc, EMAIL_RETRY)
