"""What people (and a few tasks) do to an order: approve, hold, cancel, tag, resolve a backorder.

Every action is a plain function with keyword-only arguments and an actor. Each one:
- runs in its own `transaction.atomic()` and locks the order row first (`select_for_update`), so
  two people clicking at once serialise and the second sees the first one's result;
- changes status only through `order_transition` (the lifecycle table), writes an `OrderEvent`
  and an audit entry in the same transaction;
- marks `touched_by_human` when the actor is a person (the automation rate counts those).
Voiding a label calls a carrier, so it runs after commit (`transaction.on_commit`).
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q

from creatorflow.audit.facade import audit_log
from creatorflow.core.errors import Conflict, DomainError
from inventory.models import Reservation
from inventory.services.stock import InsufficientStock, stock_release, stock_reserve
from shipping import facade as shipping_facade

from ..lifecycle import can_transition
from ..models import Order, OrderItem, OrderStatus
from .lifecycle import InvalidTransition, is_person, order_event, order_transition
from .routing import order_reserve_and_route, order_route, reservation_lines

BULK_ACTIONS = ("approve", "hold", "cancel")


def _lock(order) -> Order:
    """Lock the row and refresh the caller's instance from it in place (it may be a stale copy)."""
    order.refresh_from_db(from_queryset=Order.objects.select_for_update(of=("self",)))
    return order


def _touched(order, actor) -> None:
    if is_person(actor) and not order.touched_by_human:
        order.touched_by_human = True
        order.save(update_fields=["touched_by_human", "updated_at"])


def _audit(order, actor, action: str, changes: dict | None = None) -> None:
    audit_log(actor=actor, action=action, target=order, account=order.account_id, changes=changes or {})


def _has_reservation(order) -> bool:
    return Reservation.objects.filter(
        order_ref=order.reservation_ref, status=Reservation.Status.ACTIVE
    ).exists()


def order_approve(*, order, actor) -> Order:
    """A person clears a held / needs-attention order: -> ready (or reserved while TikTok holds it).

    Needs its stock reserved: a needs-attention order without reservations (unknown SKUs, a failed
    reservation) is refused with code `not_reserved`; fix the cause first.
    """
    with transaction.atomic():
        order = _lock(order)
        before = order.status
        if order.status not in (OrderStatus.HELD, OrderStatus.NEEDS_ATTENTION):
            raise InvalidTransition(
                f"Only held or needs-attention orders can be approved (this one is {before})."
            )
        if not _has_reservation(order):
            raise Conflict("The order's stock is not reserved.", code="not_reserved")
        to = OrderStatus.RESERVED if order.is_on_hold else OrderStatus.READY
        order.hold_reason = ""
        order.attention_reason = ""
        order.save(update_fields=["hold_reason", "attention_reason", "updated_at"])
        order_transition(order=order, to=to, actor=actor, reason="Approved")
        _touched(order, actor)
        _audit(order, actor, "order.approve", {"status": [before, to]})
    return order


def order_hold(*, order, actor, reason: str) -> Order:
    """Hold an order for review (-> held) with `reason` shown in the review queue."""
    reason = (reason or "").strip() or "Held for review"
    with transaction.atomic():
        order = _lock(order)
        before = order.status
        if before != OrderStatus.HELD and not can_transition(before, OrderStatus.HELD):
            raise InvalidTransition(f"An order cannot be held from {before}.")
        order.hold_reason = reason[:500]
        order.save(update_fields=["hold_reason", "updated_at"])
        order_transition(order=order, to=OrderStatus.HELD, actor=actor, reason=reason)
        _touched(order, actor)
        _audit(
            order, actor, "order.hold", {"status": [before, OrderStatus.HELD], "hold_reason": ["", reason]}
        )
    return order


def order_cancel(*, order, actor, reason: str = "") -> Order:
    """Cancel: release the order's stock, void its label (after commit), -> cancelled.

    Idempotent: an order already cancelled is returned unchanged. TikTok's own cancellations come
    through here with actor=None. `stock_release` is idempotent per order reference too.
    """
    reason = (reason or "").strip() or "Cancelled"
    with transaction.atomic():
        order = _lock(order)
        before = order.status
        if before == OrderStatus.CANCELLED:
            return order
        if not can_transition(before, OrderStatus.CANCELLED):
            raise InvalidTransition(f"An order cannot be cancelled once {before}.")
        released = stock_release(order_ref=order.reservation_ref, actor=actor, reason="order cancelled")
        order_transition(
            order=order,
            to=OrderStatus.CANCELLED,
            actor=actor,
            reason=reason,
            data={"units_released": released},
        )
        _touched(order, actor)
        _audit(order, actor, "order.cancel", {"status": [before, OrderStatus.CANCELLED]})
        transaction.on_commit(partial(shipping_facade.label_void_for_order, order_id=order.pk), robust=True)
    return order


def order_set_tags(*, order, tags: list[str], actor) -> Order:
    """Replace the order's tags (trimmed, de-duplicated, order kept)."""
    clean = list(dict.fromkeys(t.strip()[:40] for t in tags if t and t.strip()))
    with transaction.atomic():
        order = _lock(order)
        before = list(order.tags)
        if before == clean:
            return order
        order.tags = clean
        order.save(update_fields=["tags", "updated_at"])
        order_event(order=order, type="tag", actor=actor, message=", ".join(clean) or "Tags cleared",
                    data={"before": before, "after": clean})  # fmt: skip
        _touched(order, actor)
        _audit(order, actor, "order.set_tags", {"tags": [before, clean]})
    return order


def _short_lines(order):
    """The lines that would be short right now (empty when everything can be reserved)."""
    try:
        with transaction.atomic():
            stock_reserve(
                account=order.account, order_ref=order.reservation_ref, lines=reservation_lines(order)
            )
            transaction.set_rollback(True)  # only probing: keep nothing
    except InsufficientStock as exc:
        return exc.short_lines
    return []


def order_resolve_backorder(*, order, option: str, actor, substitute_sku=None) -> Order:
    """A person decides what happens to a backordered order.

    - "wait": try the reservation again; still short -> stays backordered (reason refreshed);
    - "ship_partial": reserve what is available of each short SKU now and route the order; the
      units left out are recorded on the timeline (data.unreserved) and the order is tagged
      `partial`;
    - "substitute": the short items become `substitute_sku` (same account), then reserve;
    - "cancel": `order_cancel`.
    """
    if option not in ("wait", "ship_partial", "substitute", "cancel"):
        raise DomainError(
            f"Unknown backorder option {option!r}.", code="invalid", fields={"option": ["Unknown."]}
        )
    if option == "cancel":
        with transaction.atomic():
            locked = _lock(order)
            if locked.status != OrderStatus.BACKORDERED:
                raise InvalidTransition(f"The order is not backordered (it is {locked.status}).")
            return order_cancel(order=locked, actor=actor, reason="Backorder cancelled")
    with transaction.atomic():
        order = _lock(order)
        if order.status != OrderStatus.BACKORDERED:
            raise InvalidTransition(f"The order is not backordered (it is {order.status}).")
        changes: dict = {"option": [None, option]}
        if option == "wait":
            order_reserve_and_route(order=order, actor=actor)
        elif option == "substitute":
            if substitute_sku is None or substitute_sku.account_id != order.account_id:
                raise DomainError("Choose a substitute SKU of this account.", code="invalid",
                                  fields={"substitute_sku": ["Required."]})  # fmt: skip
            short_ids = {str(s.sku_id) for s in _short_lines(order)}
            swapped = []
            for item in order.items.all():
                if item.sku_id is not None and str(item.sku_id) in short_ids:
                    swapped.append(item.seller_sku)
                    item.sku = substitute_sku
                    item.save(update_fields=["sku"])
            order_event(order=order, type="backorder", actor=actor,
                        message=f"Substituted {substitute_sku.seller_sku} for {', '.join(swapped) or 'nothing'}",
                        data={"substitute_sku_id": str(substitute_sku.pk), "replaced": swapped})  # fmt: skip
            changes["substitute"] = [swapped, substitute_sku.seller_sku]
            order_reserve_and_route(order=order, actor=actor)
        else:
            _ship_partial(order, actor)
        _touched(order, actor)
        _audit(order, actor, "order.resolve_backorder", changes)
    return order


def _ship_partial(order, actor) -> None:
    available = {s.sku_id: s.available for s in _short_lines(order)}
    quantities, unreserved = {}, {}
    for item in order.items.all():
        if item.sku_id is None:
            continue
        can = min(item.quantity, max(0, available.get(str(item.sku_id), item.quantity)))
        quantities[item.sku_id] = quantities.get(item.sku_id, 0) + can
        if can < item.quantity:
            unreserved[item.seller_sku] = item.quantity - can
    lines = reservation_lines(order, quantities=quantities)
    if not lines:
        raise Conflict("Nothing of this order is in stock.", code="insufficient_stock")
    order.tags = list(dict.fromkeys([*order.tags, "partial"]))
    order.save(update_fields=["tags", "updated_at"])
    order_event(order=order, type="backorder", actor=actor,
                message="Ship partial: left out " + ", ".join(f"{k} × {v}" for k, v in unreserved.items()),
                data={"unreserved": unreserved})  # fmt: skip
    order_reserve_and_route(order=order, actor=actor, lines=lines)


def order_retry_reservation(*, order, actor=None) -> Order:
    """Backordered -> reserve again (a beat job calls it when stock arrives). Still short: stays."""
    with transaction.atomic():
        order = _lock(order)
        if order.status != OrderStatus.BACKORDERED:
            return order
        if not order_reserve_and_route(order=order, actor=actor):
            return order
        _touched(order, actor)
        _audit(order, actor, "order.retry_reservation", {"status": [OrderStatus.BACKORDERED, order.status]})
    return order


def backorders_retry(*, account=None, limit: int = 200) -> int:
    """Beat: reserve again the backordered orders whose SKUs now have the stock ("wait for stock").

    Only orders that every item's SKU can now cover (by the SKU's stock summary, which is exact at
    low stock) are tried, so a still-short order is not retried, and its timeline not written to,
    every few minutes. Each order in its own transaction (order_retry_reservation); the oldest first.
    Returns how many left the backorder.
    """
    short_item = OrderItem.objects.filter(order=OuterRef("pk")).filter(
        Q(sku__isnull=True) | Q(sku__summary_available__lt=F("quantity"))
    )
    candidates = Order.objects.filter(status=OrderStatus.BACKORDERED).exclude(Exists(short_item))
    if account is not None:
        candidates = candidates.filter(account=account)
    moved = 0
    for order in candidates.order_by("created_at")[:limit]:
        if order_retry_reservation(order=order, actor="backorder_retry").status != OrderStatus.BACKORDERED:
            moved += 1
    return moved


def orders_bulk(*, orders, action: str, actor, reason: str = "") -> dict[str, list[str]]:
    """Apply approve / hold / cancel to each order, each in its own transaction.

    One order failing (a refused move, a missing reservation) does not undo the others; it is
    reported as "<id>: <message>".
    """
    if action not in BULK_ACTIONS:
        raise DomainError(f"Unknown bulk action {action!r}.", code="invalid", fields={"action": ["Unknown."]})
    done: list[str] = []
    failed: list[str] = []
    for order in list(orders):
        try:
            if action == "approve":
                order_approve(order=order, actor=actor)
            elif action == "hold":
                order_hold(order=order, actor=actor, reason=reason)
            else:
                order_cancel(order=order, actor=actor, reason=reason)
        except DomainError as exc:
            failed.append(f"{order.pk}: {exc.message}")
        else:
            done.append(str(order.pk))
    return {"done": done, "failed": failed}


__all__ = [
    "order_approve",
    "order_cancel",
    "order_hold",
    "order_resolve_backorder",
    "order_retry_reservation",
    "order_route",
    "order_set_tags",
    "orders_bulk",
]
