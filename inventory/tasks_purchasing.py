"""Purchasing tasks: thin, load by id, call one service. Routed by settings (default queue).

The services are imported inside the tasks: this module is imported wherever the task registry is
filled (workers, and web processes looking up time limits for the outbox), and the purchasing
services pull in reportlab and the stock services, which only a running task needs.
"""

from __future__ import annotations

from celery import shared_task

from accounts.models import Account
from creatorflow.resilience.retry import EMAIL_RETRY, retry_task_or_raise

from .services import purchasing

__all__ = ["auto_reorder_account", "send_purchase_order"]


@shared_task(
    bind=True,
    name="inventory.send_purchase_order",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=EMAIL_RETRY.max_attempts,
    soft_time_limit=60,
    time_limit=90,
)
def send_purchase_order(self, purchase_order_id: str) -> None:
    """Email a sent purchase order to its supplier with the PDF and CSV; retried if SMTP fails.

    Enqueued by `po_send` through the outbox (which then runs it in process and owns the retries);
    a direct Celery delivery retries with EMAIL_RETRY backoff. Sends nothing for a cancelled order.
    """
    try:
        purchasing.po_email_send(purchase_order_id=purchase_order_id)
    except purchasing.PurchaseOrderEmailFailed as exc:
        retry_task_or_raise(self, exc, EMAIL_RETRY)


@shared_task(
    name="inventory.auto_reorder",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
)
def auto_reorder_account(account_id: str) -> None:
    """Create and send purchase orders for the account's auto-reorder SKUs that need stock.

    Idempotent: a SKU already on an open order is skipped, so a redelivered task orders nothing twice.
    """
    account = Account.objects.filter(pk=account_id, is_active=True).first()
    if account is None:
        return
    purchasing.auto_reorder(account=account)
