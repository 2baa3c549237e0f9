"""Account tasks: thin, ids only, one service each (routed by CELERY_TASK_ROUTES)."""

from celery import shared_task

from .services import invitation_send


@shared_task(
    name="accounts.send_invitation",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def send_invitation(invitation_id: str, base_url: str = "") -> int:
    """Email an invitation (run by the outbox, which retries it with backoff if the mail server fails)."""
    return invitation_send(invitation_id=invitation_id, base_url=base_url)
