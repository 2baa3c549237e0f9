"""TikTok order documents in: create or update our order, reserve its stock, score it, apply rules.

Idempotent on (shop, TikTok order id), backed by the unique constraint rather than exists-then-
insert: a new order is INSERTed in a savepoint; when a concurrent call won the race the INSERT
raises IntegrityError (PostgreSQL makes the loser wait for the winner's commit first), and the
loser carries on as an update of the winner's row, under its row lock. So 20 concurrent deliveries
of one document give one order and one reservation set.

An update whose `update_time` is not newer than the stored one changes nothing: TikTok's webhooks
and our poll overlap and arrive out of order, and an older state must never overwrite a newer one.

Everything for one document happens in ONE transaction (order, items, reservation, priority, rules,
events); no network call is made here. Voiding a label on cancel runs after commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q

from inventory.models import SKU

from ..lifecycle import TIKTOK_STATUS_MAP, can_transition
from ..mapping import MappedOrder, map_order
from ..models import Order, OrderItem, OrderStatus
from .lifecycle import batched_events, order_event, order_transition
from .routing import order_reserve_and_route, order_route

TIKTOK = "tiktok"
PAID_STATUSES = frozenset({"ON_HOLD", "AWAITING_SHIPMENT"})


@dataclass(frozen=True)
class UpsertResult:
    order: Order
    created: bool
    changed: bool


def order_upsert_from_tiktok(*, shop, payload: dict, actor=None) -> UpsertResult:
    """Create or update the order of one TikTok document (see the module docstring for the rules).

    New order (one transaction): the order and its items (SKUs matched by tiktok_sku_id, else
    seller_sku, within the shop's account), then: unknown SKUs -> `needs_attention` naming them;
    UNPAID -> stays `received`; otherwise stock is reserved (all or nothing; short -> `backordered`)
    and the order is scored and routed by the rules to `ready` / `held` / `reserved` (ON_HOLD).

    Update (order row locked): stale or equal `update_time` -> nothing (changed=False); else TikTok's
    fields are stored and the TikTok status is applied (see `_apply_tiktok_status`).
    """
    mapped = map_order(payload)
    actor = actor if actor is not None else TIKTOK
    with transaction.atomic(), batched_events():
        order = _locked(shop, mapped.tiktok_order_id)
        if order is None:
            try:
                with transaction.atomic():
                    order = Order.objects.create(
                        account=shop.account, shop=shop, tiktok_order_id=mapped.tiktok_order_id,
                        **mapped.order_fields(),
                    )  # fmt: skip
            except IntegrityError:
                order = _locked(shop, mapped.tiktok_order_id)
                if order is None:  # not a duplicate: some other constraint failed
                    raise
            else:
                _intake_new(order=order, shop=shop, mapped=mapped, actor=actor)
                return UpsertResult(order=order, created=True, changed=True)
        changed = _apply_update(order=order, mapped=mapped, actor=actor)
        return UpsertResult(order=order, created=False, changed=changed)


def _locked(shop, tiktok_order_id: str) -> Order | None:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(shop=shop, tiktok_order_id=tiktok_order_id)
        .first()
    )


def _match_skus(account, mapped: MappedOrder) -> tuple[dict, dict]:
    """The account's SKUs named by the document, by TikTok SKU id and by seller SKU (one query).

    Whole SKU rows: priority and rules read them next, from the items this intake caches."""
    tiktok_ids = {i.tiktok_sku_id for i in mapped.items if i.tiktok_sku_id}
    seller_skus = {i.seller_sku for i in mapped.items if i.seller_sku}
    by_tiktok, by_seller = {}, {}
    for sku in SKU.objects.filter(
        Q(tiktok_sku_id__in=tiktok_ids) | Q(seller_sku__in=seller_skus), account=account
    ):
        if sku.tiktok_sku_id:
            by_tiktok[sku.tiktok_sku_id] = sku
        by_seller[sku.seller_sku] = sku
    return by_tiktok, by_seller


def _cache_items(order, items: list[OrderItem]) -> None:
    """Let `order.items.all()` return these (with their SKUs) without a query, as a prefetch would:
    reservation, priority and rules all read the items of the order being taken in."""
    cached = OrderItem.objects.filter(order=order)
    cached._result_cache = items
    cached._prefetch_done = True
    order._prefetched_objects_cache = {"items": cached}


def _intake_new(*, order, shop, mapped: MappedOrder, actor) -> None:
    by_tiktok, by_seller = _match_skus(shop.account, mapped)
    items, unknown = [], []
    for i in mapped.items:
        sku = by_tiktok.get(i.tiktok_sku_id) or by_seller.get(i.seller_sku)
        if sku is None:
            unknown.append(i.seller_sku or i.tiktok_sku_id)
        items.append(
            OrderItem(
                order=order, sku=sku, seller_sku=i.seller_sku[:100], tiktok_sku_id=i.tiktok_sku_id[:64],
                tiktok_product_id=i.tiktok_product_id[:64], product_name=i.product_name, sku_name=i.sku_name,
                quantity=i.quantity, unit_price=i.unit_price, original_price=i.original_price,
                currency=i.currency, line_item_ids=list(i.line_item_ids), is_gift=i.is_gift,
            )
        )  # fmt: skip
    OrderItem.objects.bulk_create(items)
    _cache_items(order, items)
    order_event(
        order=order, type="status", actor=actor, to_status=OrderStatus.RECEIVED,
        message=f"Received from TikTok ({mapped.tiktok_status})",
    )  # fmt: skip
    if not items:
        unknown_reason = "The order has no line items"
    elif unknown:
        unknown_reason = "Unknown SKUs: " + ", ".join(unknown)
    else:
        unknown_reason = ""
    # The row was inserted by this transaction: nobody else sees it, so transitions are `locked`.
    if unknown_reason:
        order.attention_reason = unknown_reason[:500]
        order_transition(
            order=order,
            to=OrderStatus.NEEDS_ATTENTION,
            actor=actor,
            reason=unknown_reason,
            locked=True,
            write=False,
        )
        order.save(update_fields=["status", "attention_reason", "updated_at"])
        return
    if mapped.tiktok_status == "CANCELLED":
        order_transition(
            order=order, to=OrderStatus.CANCELLED, actor=actor, reason="Cancelled on TikTok", locked=True
        )
        return
    if mapped.tiktok_status == "UNPAID":
        return  # reserved once TikTok says it is paid
    shipped_to = TIKTOK_STATUS_MAP.get(mapped.tiktok_status)
    if shipped_to is not None:
        # First seen already shipped (e.g. a back-fill sync): nothing to reserve or route.
        order_event(
            order=order,
            type="tiktok_update",
            actor=actor,
            message=f"Already {mapped.tiktok_status} at TikTok",
        )
        return
    order_reserve_and_route(order=order, actor=actor)


UPDATED_FIELDS = [
    "tiktok_status", "tiktok_update_time", "placed_at", "paid_at", "rts_sla_time", "tts_sla_time",
    "shipping_due_time", "collection_due_time", "delivery_due_time", "cancel_order_sla_time", "ship_by",
    "currency", "subtotal", "shipping_fee", "tax", "total", "buyer_email", "buyer_message",
    "recipient_name", "recipient", "country", "state", "postal_code", "delivery_option_id",
    "delivery_option_name", "shipping_type", "is_on_hold", "is_sample", "warehouse_id",
]  # fmt: skip


def _apply_update(*, order, mapped: MappedOrder, actor) -> bool:
    """A newer document for a known order (row locked by the caller). False when stale/equal."""
    if mapped.update_time <= order.tiktok_update_time:
        return False
    old_tiktok_status = order.tiktok_status
    fields = mapped.order_fields()
    changes = {
        name: value
        for name, value in fields.items()
        if getattr(order, name) != value and name != "tiktok_update_time"
    }
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=[*UPDATED_FIELDS, "updated_at"])
    order_event(
        order=order,
        type="tiktok_update",
        actor=actor,
        message=f"TikTok: {old_tiktok_status} -> {mapped.tiktok_status}"
        if old_tiktok_status != mapped.tiktok_status
        else "TikTok updated the order",
        data={"changed": sorted(changes), "update_time": mapped.update_time},
    )
    _apply_tiktok_status(order=order, status=mapped.tiktok_status, actor=actor)
    return True


def _apply_tiktok_status(*, order, status: str, actor) -> None:
    """Bring our status in line with TikTok's, never raising for a move the table refuses.

    - CANCELLED: `order_cancel` semantics (release stock, void the label after commit, cancelled);
    - paid (ON_HOLD / AWAITING_SHIPMENT) while we still wait for payment: reserve and route;
    - released from ON_HOLD while `reserved`: run the rules and route to ready/held;
    - shipped / in transit / delivered / completed: transition when the table allows, else record
      a `tiktok_update` event saying what TikTok reported and what we kept.
    """
    from .actions import order_cancel

    if status == "CANCELLED":
        if order.status == OrderStatus.CANCELLED:
            return
        if can_transition(order.status, OrderStatus.CANCELLED):
            order_cancel(order=order, actor=None, reason="Cancelled on TikTok")
        else:
            _not_applied(order, status, actor)
        return
    if status in PAID_STATUSES:
        if order.status == OrderStatus.RECEIVED:
            order_reserve_and_route(order=order, actor=actor)
        elif order.status == OrderStatus.RESERVED and not order.is_on_hold:
            order_route(order=order, actor=actor)
        return
    target = TIKTOK_STATUS_MAP.get(status)
    if target is None or order.status == target:
        return
    if can_transition(order.status, target):
        order_transition(order=order, to=target, actor=actor, reason=f"TikTok: {status}")
    else:
        _not_applied(order, status, actor)


def _not_applied(order, status: str, actor) -> None:
    order_event(
        order=order,
        type="tiktok_update",
        actor=actor,
        message=f"TikTok reports {status}; the order stays {order.status}",
        data={"tiktok_status": status, "kept": order.status},
    )
