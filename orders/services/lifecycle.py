"""The one place an order's `status` changes: the lifecycle table (orders/lifecycle.py) enforced.

`order_transition` locks the order row, checks the move against `TRANSITIONS`, writes the new
status and an `OrderEvent` in the same transaction, so the timeline can never disagree with the
status. Other services (intake, actions, shipping) call it; nothing else assigns `Order.status`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from creatorflow.core.errors import Conflict

from ..lifecycle import TRANSITIONS
from ..models import Order, OrderEvent, OrderStatus


class InvalidTransition(Conflict):
    """The lifecycle table does not allow this move (HTTP 409)."""

    code = "invalid_transition"


def actor_fields(actor) -> dict:
    """OrderEvent `actor`/`actor_label` for a User, a label string ("tiktok", "rules") or None."""
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor[:100]}
    if getattr(actor, "is_authenticated", False):
        return {"actor": actor, "actor_label": actor.get_username()[:100]}
    return {"actor": None, "actor_label": "anonymous"}


def is_person(actor) -> bool:
    """A logged-in user (not a task, a rule or TikTok): their actions count as human touches."""
    return (
        actor is not None and not isinstance(actor, str) and bool(getattr(actor, "is_authenticated", False))
    )


# Timeline entries collected by `batched_events()` instead of written one INSERT at a time.
_pending_events: ContextVar[list[OrderEvent] | None] = ContextVar("pending_order_events", default=None)


@contextmanager
def batched_events() -> Iterator[None]:
    """Write the order events appended inside the block with one INSERT when it ends without error.

    Intake writes three to five entries per order; one round trip instead of five matters at
    hundreds of orders a minute. Use it inside the transaction the events belong to. Nests: an
    inner block leaves the writing to the outermost one.
    """
    if _pending_events.get() is not None:
        yield
        return
    token = _pending_events.set([])
    try:
        yield
        pending = _pending_events.get()
        if pending:
            OrderEvent.objects.bulk_create(pending)
    finally:
        _pending_events.reset(token)


def order_event(*, order, type: str, actor=None, message: str = "", data: dict | None = None, **status):
    """Append one timeline entry (call inside the caller's transaction)."""
    event = OrderEvent(
        order=order,
        type=type,
        from_status=status.get("from_status", ""),
        to_status=status.get("to_status", ""),
        message=(message or "")[:500],
        data=data or {},
        created_at=timezone.now(),
        **actor_fields(actor),
    )
    pending = _pending_events.get()
    if pending is not None:
        pending.append(event)
    else:
        event.save()
    return event


def order_transition(
    *,
    order,
    to: str,
    actor,
    reason: str = "",
    data: dict | None = None,
    locked: bool = False,
    write: bool = True,
) -> Order:
    """Move `order` to status `to`, or raise InvalidTransition.

    - Locks the order row (`select_for_update`) inside its own `atomic()`, which nests as a savepoint
      when the caller already holds a transaction (intake and actions do, and usually hold the
      lock already: taking it again is free). The status is read again under the lock, so two
      concurrent moves cannot both start from the same old status.
    - Already in `to`: idempotent, returns the order unchanged and writes no event.
    - Otherwise writes the status and one `OrderEvent(type="status", from, to, message=reason)`.
    The passed instance gets the new status; its other unsaved field changes are not saved here.

    `locked=True` is for callers that already hold the row lock in this transaction and whose
    instance carries the current status (intake just inserted the row; routing and the actions lock
    and refresh it): the check uses `order.status` and no lock is taken again. `write=False` (only
    with `locked`) leaves writing `status` to the caller's own UPDATE of the order, which it must
    make in the same transaction; the event is recorded either way.
    """
    if not locked and not write:
        raise ValueError("write=False needs locked=True: the caller must hold the row and save it")
    if locked:
        return _move(order, current=order.status, to=to, actor=actor, reason=reason, data=data, write=write)
    with transaction.atomic():
        current = Order.objects.select_for_update().only("status").get(pk=order.pk).status
        return _move(order, current=current, to=to, actor=actor, reason=reason, data=data, write=True)


def _move(order, *, current: str, to: str, actor, reason: str, data: dict | None, write: bool) -> Order:
    """Check `current -> to` against the table, then set (and, with `write`, store) it with an event."""
    if current == to:
        order.status = to
        return order
    if to not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            f"An order cannot move from {current} to {to}.",
            fields={"status": [f"{current} -> {to} is not allowed."]},
        )
    order.status = to
    order.updated_at = timezone.now()
    if write:
        Order.objects.filter(pk=order.pk).update(status=to, updated_at=order.updated_at)
    order_event(
        order=order, type="status", actor=actor, message=reason, data=data, from_status=current, to_status=to
    )
    if to == OrderStatus.READY and order.auto_ship:
        # The next pipeline step, queued in this same transaction (outbox): buy the label.
        from shipping.facade import shipment_request

        shipment_request(order_id=order.pk, account_id=order.account_id)
    return order
