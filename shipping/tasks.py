"""Shipping tasks: thin, ids only, one service each. Routed by CELERY_TASK_ROUTES (shipping.* →
integrations); the pipeline steps run through the outbox, which retries a raised error."""

from __future__ import annotations

from celery import shared_task

from .carriers.sandbox import sandbox_progress
from .services.fulfil import shipment_complete, shipment_void
from .services.purchase import shipment_purchase
from .services.sweep import shipping_sweep
from .tasks_batches import *  # noqa: F403

_COMMON = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


class ShipmentBusy(Exception):
    """Another worker holds the order's purchase: the outbox tries again shortly."""


@shared_task(name="shipping.purchase_label", time_limit=300, soft_time_limit=270, **_COMMON)
def purchase_label_task(order_id: str) -> str:
    result = shipment_purchase(order_id=order_id)
    if result.state == "busy":
        raise ShipmentBusy(result.error)
    return result.state


@shared_task(name="shipping.complete_shipment", time_limit=120, soft_time_limit=100, **_COMMON)
def complete_shipment_task(shipment_id: str) -> str:
    return shipment_complete(shipment_id=shipment_id)


@shared_task(name="shipping.void_label", time_limit=120, soft_time_limit=100, **_COMMON)
def void_label_task(shipment_id: str) -> bool:
    return shipment_void(shipment_id=shipment_id)


@shared_task(name="shipping.sandbox_progress", time_limit=120, soft_time_limit=100, **_COMMON)
def sandbox_progress_task() -> int:
    """Every minute: the sandbox carrier's parcels move on and their webhooks go out."""
    return sandbox_progress()


@shared_task(name="shipping.sweep", time_limit=240, soft_time_limit=200, **_COMMON)
def sweep_task() -> dict:
    """Every 2 minutes: ready orders with no label and labels not yet handed to TikTok are re-queued."""
    return shipping_sweep()
