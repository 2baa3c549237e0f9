"""The shared middle of the order pipeline: reserve stock, then score and apply the rules.

Intake (new and updated TikTok orders) and the people's actions (approve, backorder resolution,
retry) all end up here, so an order reaches `ready`/`held`/`reserved`/`backordered` by one path.
Every function expects to run inside the caller's `transaction.atomic()` with the order row locked
(`select_for_update`) and the instance current, and makes no network call. Transitions here are
therefore `locked`, and the status they reach is written with the order's other changes in one UPDATE.

Priority comes from `orders.priority.score_order`, the rules' decisions from `orders.rules.rules_apply`.
"""

from __future__ import annotations

from inventory.services.stock import InsufficientStock, ReservationLine, stock_reserve

from ..models import OrderStatus
from ..priority import score_order
from ..rules import rules_apply
from .lifecycle import order_event, order_transition

BACKORDER_OPTIONS = ["wait", "ship_partial", "substitute", "cancel"]
MANUAL_SHIPPING_REASON = "Manual shipping (rule)"


def short_text(short_lines) -> str:
    return "Short: " + ", ".join(
        f"{line.seller_sku} ({line.available} available, {line.requested} requested)" for line in short_lines
    )


def reservation_lines(order, *, quantities: dict | None = None) -> list[ReservationLine]:
    """One line per item with a matched SKU (`quantities` overrides per sku_id, for partial)."""
    lines = []
    for item in order.items.all():
        if item.sku_id is None:
            continue
        quantity = item.quantity if quantities is None else quantities.get(item.sku_id, 0)
        if quantity > 0:
            lines.append(ReservationLine(item.sku_id, quantity))
    return lines


def mark_backordered(*, order, short_lines, actor) -> None:
    """Never drop a short order: park it with the options a person can choose from."""
    reason = short_text(short_lines)[:500]
    order.attention_reason = reason
    order.backorder_options = list(BACKORDER_OPTIONS)
    data = {
        "short": [
            {
                "sku_id": str(s.sku_id),
                "seller_sku": s.seller_sku,
                "requested": s.requested,
                "available": s.available,
            }
            for s in short_lines
        ]
    }
    if order.status == OrderStatus.BACKORDERED:
        order_event(order=order, type="backorder", actor=actor, message=reason, data=data)
    else:
        order_transition(
            order=order,
            to=OrderStatus.BACKORDERED,
            actor=actor,
            reason=reason,
            data=data,
            locked=True,
            write=False,
        )
    order.save(update_fields=["status", "attention_reason", "backorder_options", "updated_at"])


def order_reserve_and_route(*, order, actor, lines: list[ReservationLine] | None = None) -> bool:
    """Reserve all of the order's stock (all or nothing), then route it; False when backordered.

    `stock_reserve` is idempotent per `order.reservation_ref`, so calling this again for an order
    that already holds its stock reserves nothing twice. On a shortage the order becomes
    `backordered` with the short lines in `attention_reason`.
    """
    try:
        stock_reserve(
            account=order.account,
            order_ref=order.reservation_ref,
            lines=reservation_lines(order) if lines is None else lines,
            actor=actor,
        )
    except InsufficientStock as exc:
        mark_backordered(order=order, short_lines=exc.short_lines, actor=actor)
        return False
    order.attention_reason = ""
    order.backorder_options = []
    # Written by order_route's single UPDATE together with the status it reaches.
    order_transition(
        order=order, to=OrderStatus.RESERVED, actor=actor, reason="Stock reserved", locked=True, write=False
    )
    order_route(order=order, actor=actor)
    return True


def _score(order) -> None:
    result = score_order(order=order)
    order.priority_level = result.level
    order.impact_score = result.score
    order.priority_reasons = list(result.reasons)
    order.processing_queue = result.queue


def order_route(*, order, actor) -> str:
    """A reserved order: score it, apply the rules, and move it to held / reserved / ready.

    - priority is stored unless `priority_pinned` (a rule or a person set it);
    - rules set tags (merged), carrier, service, package preset, auto-ship, and may pin a priority;
    - then: a rule's hold reason -> `held`; TikTok ON_HOLD -> stays `reserved` (not shippable until
      TikTok releases it); auto-ship off -> `held` ("Manual shipping (rule)"); else `ready`.
    Returns the status reached.
    """
    if not order.priority_pinned:
        _score(order)
    outcome = rules_apply(order=order)
    if outcome.priority_level:
        order.priority_level = outcome.priority_level
        order.priority_pinned = True
    order.tags = list(dict.fromkeys([*order.tags, *outcome.tags]))
    order.preferred_carrier = outcome.carrier or order.preferred_carrier
    order.preferred_service = outcome.service or order.preferred_service
    order.package_preset = outcome.package_preset or order.package_preset
    order.auto_ship = outcome.auto_ship
    to, reason = OrderStatus.READY, "Ready to ship"
    if outcome.hold_reason:
        to, reason = OrderStatus.HELD, outcome.hold_reason
    elif order.is_on_hold:
        to, reason = OrderStatus.RESERVED, "On hold at TikTok"
    elif not outcome.auto_ship:
        to, reason = OrderStatus.HELD, MANUAL_SHIPPING_REASON
    order.hold_reason = reason[:500] if to == OrderStatus.HELD else ""
    if outcome.matched_rule_ids:
        order_event(
            order=order,
            type="rules",
            actor="rules",
            message=f"{len(outcome.matched_rule_ids)} rule(s) matched",
            data={"rule_ids": [str(r) for r in outcome.matched_rule_ids]},
        )
    order_transition(order=order, to=to, actor=actor, reason=reason, locked=True, write=False)
    # One UPDATE for everything routing decided, the status included.
    order.save(
        update_fields=[
            "status", "attention_reason", "backorder_options",
            "priority_level", "impact_score", "priority_reasons", "processing_queue", "priority_pinned",
            "tags", "preferred_carrier", "preferred_service", "package_preset", "auto_ship",
            "hold_reason", "updated_at",
        ]
    )  # fmt: skip
    return to
