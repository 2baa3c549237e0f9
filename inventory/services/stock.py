"""Every change of stock: reserve, release, consume, adjust, receive, channel counts, expiry, reconcile.

How it stays correct (DESIGN.md "Rules that keep it correct"):
- Reserving is one conditional UPDATE per stock level (`... SET reserved = reserved + n WHERE
  on_hand - reserved >= n`): PostgreSQL re-checks the condition after waiting for a concurrent
  writer's lock, so two orders can never take the same last unit. The other operations lock the
  rows they change with `select_for_update()` (inventory/locking.py). Stock levels are always
  touched in primary-key order, so multi-SKU operations never deadlock one another.
- The CheckConstraints (`on_hand >= 0`, `0 <= reserved <= on_hand`) are the last line of defence.
- Every change of `on_hand` writes one ledger row (`InventoryTransaction`) in the same transaction,
  with the level before and after, so `ledger_reconcile` can check counters against the ledger.
- Each function opens `transaction.atomic()`: a transaction of its own, or a savepoint inside the
  caller's (the order pipeline reserves inside its own transaction). After commit it tells the
  sales channel (`inventory.channel.stock_changed`) and re-evaluates alerts, via `on_commit`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.core.errors import Conflict, DomainError, NotFound

from .. import channel
from ..locking import (
    active_reservations_for_update,
    adjustment_for_update,
    as_uuid,
    reservations_insert,
    stock_level_for_update,
    stock_levels_for_update,
    stock_lookup,
    stock_take,
    stock_take_one_pg,
)
from ..models import (
    SKU,
    Adjustment,
    InventoryTransaction,
    Reservation,
    StockLevel,
    TransactionType,
    Warehouse,
)
from .alerts import alerts_evaluate, threshold_for
from .reconcile import LedgerDrift, ledger_reconcile

__all__ = [  # the names other apps and helpers import from here
    "AdjustResult",
    "InsufficientStock",
    "LedgerDrift",
    "ReservationLine",
    "ShortLine",
    "adjustment_approve",
    "adjustment_reject",
    "ledger_reconcile",
    "reservation_consume",
    "reservations_expire",
    "stock_adjust",
    "stock_receive",
    "stock_release",
    "stock_reserve",
    "stock_set_from_channel",
]

logger = logging.getLogger(__name__)

ADJUST_MAX = 10000
ADJUST_APPROVAL_ABOVE = 100
REASON_MAX = 500
CHANNEL_SYNC = "channel_sync"


# --- values and errors -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReservationLine:
    sku_id: uuid.UUID | str
    quantity: int
    warehouse_id: uuid.UUID | str | None = None  # None: the account's default warehouse


@dataclass(frozen=True)
class ShortLine:
    sku_id: str
    seller_sku: str
    requested: int
    available: int


class InsufficientStock(Conflict):
    """Not enough available stock. `short_lines` says which SKUs and by how much; `fields` names them."""

    code = "insufficient_stock"

    def __init__(self, short_lines: Sequence[ShortLine], message: str | None = None):
        self.short_lines = list(short_lines)
        text = message or "Not enough stock: " + ", ".join(
            f"{line.seller_sku} ({line.available} available, {line.requested} requested)"
            for line in self.short_lines
        )
        super().__init__(
            text,
            fields={
                line.sku_id: [f"{line.available} available, {line.requested} requested."]
                for line in self.short_lines
            },
        )


@dataclass(frozen=True)
class AdjustResult:
    applied: bool
    new_stock_level: int
    adjustment: Adjustment | None


# --- helpers -----------------------------------------------------------------------------------


def _actor_fields(actor) -> dict:
    """InventoryTransaction.actor / actor_label from a User, a label ("celery") or None."""
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor[:100]}
    if getattr(actor, "is_authenticated", False):
        return {"actor": actor, "actor_label": ""}
    return {"actor": None, "actor_label": "anonymous"}


def _after_commit(sku_ids, *, evaluate: bool = True) -> None:
    """Tell the channel and re-check alerts once the surrounding transaction commits.

    `robust`: the stock change has committed by then; a failing push or alert must not turn it into
    an error for the caller (the push retries on its own, the nightly alert sweep catches up).
    """
    ids = sorted({str(pk) for pk in sku_ids})
    if not ids:
        return
    transaction.on_commit(partial(channel.stock_changed, sku_ids=ids), robust=True)
    if evaluate:
        transaction.on_commit(partial(alerts_evaluate, sku_ids=ids), robust=True)


def _as_uuid(value, *, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(f"Unknown {what} {value!r}.") from None


def _default_warehouse_id(account_id) -> uuid.UUID:
    found = (
        Warehouse.objects.filter(account_id=account_id, is_default=True).values_list("pk", flat=True).first()
    )
    if found is None:
        raise NotFound("The account has no default warehouse: set one first.", code="no_default_warehouse")
    return found


def _warehouse_id(sku, warehouse) -> uuid.UUID:
    if warehouse is None:
        return _default_warehouse_id(sku.account_id)
    if warehouse.account_id != sku.account_id:
        raise NotFound("Unknown warehouse.")
    return warehouse.pk


def _total_on_hand(sku_id) -> int:
    return StockLevel.objects.filter(sku_id=sku_id).aggregate(total=Sum("on_hand"))["total"] or 0


def _apply_delta(
    *, sku, warehouse_id, delta: int, type: str, reason: str, reference: str, actor
) -> InventoryTransaction:
    """Change on_hand of one stock level by `delta` and write its ledger row. Caller holds atomic().

    Locks the level (creating it when missing and delta > 0). Refuses, before writing anything, a
    change that would take on_hand below zero or below what is reserved (InsufficientStock), so a
    caller may catch that and carry on in the same transaction.
    """
    if delta < 0 and not StockLevel.objects.filter(sku_id=sku.pk, warehouse_id=warehouse_id).exists():
        raise InsufficientStock([ShortLine(str(sku.pk), sku.seller_sku, -delta, 0)])
    level = stock_level_for_update(sku_id=sku.pk, warehouse_id=warehouse_id)
    new = level.on_hand + delta
    if new < level.reserved:
        raise InsufficientStock(
            [ShortLine(str(sku.pk), sku.seller_sku, -delta, level.on_hand - level.reserved)],
        )
    StockLevel.objects.filter(pk=level.pk).update(
        on_hand=F("on_hand") + delta, version=F("version") + 1, updated_at=timezone.now()
    )
    return InventoryTransaction.objects.create(
        account_id=sku.account_id,
        sku_id=sku.pk,
        warehouse_id=warehouse_id,
        type=type,
        quantity=delta,
        previous_level=level.on_hand,
        new_level=new,
        reason=reason[:REASON_MAX],
        reference=reference[:100],
        **_actor_fields(actor),
    )


# --- reservations ------------------------------------------------------------------------------
#
# The hot path (one SKU bought by hundreds of buyers at once) runs fixed SQL kept in locking.py, so
# no ORM query is compiled per order. On PostgreSQL a one-line order is a single statement
# (find level + conditional UPDATE + INSERT); otherwise one SELECT (stock levels, this order's
# active reservations, the SKU facts for the alert check), one INSERT of the new reservations and
# one conditional UPDATE per stock level, in a savepoint.


class _Short(Exception):
    """Raised inside the reservation savepoint to roll it back; never leaves this module."""


def _parse_lines(lines) -> list[tuple[uuid.UUID, uuid.UUID | None, int]]:
    parsed = []
    for line in lines:
        quantity = line.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise DomainError(
                "Reserve a positive whole number of units.",
                code="invalid",
                fields={"quantity": ["A positive integer is required."]},
            )
        warehouse_id = None if line.warehouse_id is None else _as_uuid(line.warehouse_id, what="warehouse")
        parsed.append((_as_uuid(line.sku_id, what="SKU"), warehouse_id, quantity))
    if not parsed:
        raise DomainError("Nothing to reserve.", code="invalid", fields={"lines": ["At least one line."]})
    return parsed


def _resolve_lines(account, order_ref: str, parsed) -> tuple[dict, dict]:
    """Sum the lines per (sku, warehouse) and read their stock levels in one query.

    Returns ({(sku_id, warehouse_id): quantity} in first-seen order, {key: level dict}); a level
    dict has pk, on_hand, reserved, seller_sku, threshold and existing_id (this order's active
    reservation of that line, if any). A key whose SKU was never stocked in that warehouse gets
    pk None (nothing available). An unknown or foreign SKU or warehouse is NotFound.
    """
    sku_ids = list(dict.fromkeys(sku_id for sku_id, _, _ in parsed))
    explicit = list(dict.fromkeys(wh for _, wh, _ in parsed if wh is not None))
    wants_default = any(wh is None for _, wh, _ in parsed)
    found = stock_lookup(
        account_id=account.pk,
        order_ref=order_ref,
        sku_ids=sku_ids,
        warehouse_ids=explicit,
        default=wants_default,
    )
    levels, default_id = {}, None
    for pk, sku_id, wh_id, on_hand, reserved, is_default, seller_sku, override, monthly, existing in found:
        key = (as_uuid(sku_id), as_uuid(wh_id))
        levels[key] = {
            "pk": pk,
            "on_hand": on_hand,
            "reserved": reserved,
            "seller_sku": seller_sku,
            "threshold": threshold_for(low_stock_threshold=override, avg_monthly_sales=Decimal(str(monthly))),
            "existing_id": None if existing is None else as_uuid(existing),
        }
        if is_default:
            default_id = key[1]
    if wants_default and default_id is None:
        default_id = _default_warehouse_id(account.pk)
    wanted: dict[tuple, int] = {}
    for sku_id, warehouse_id, quantity in parsed:
        key = (sku_id, warehouse_id or default_id)
        wanted[key] = wanted.get(key, 0) + quantity

    unstocked = [key for key in wanted if key not in levels]
    if unstocked:
        # Rare: check the ids are the account's, then treat the line as having nothing available.
        missing_skus = {key[0] for key in unstocked}
        names = dict(SKU.objects.filter(account=account, pk__in=missing_skus).values_list("pk", "seller_sku"))
        if len(names) != len(missing_skus):
            raise NotFound("Unknown SKU.")
        missing_warehouses = {key[1] for key in unstocked}
        if Warehouse.objects.filter(account=account, pk__in=missing_warehouses).count() != len(
            missing_warehouses
        ):
            raise NotFound("Unknown warehouse.")
        for key in unstocked:
            levels[key] = {"pk": None, "seller_sku": names[key[0]], "existing_id": None}
    return wanted, levels


def _short_lines(wanted: dict, levels: dict) -> list[ShortLine]:
    """The lines that do not fit, against the stock as it is now (one query)."""
    ids = [levels[key]["pk"] for key in wanted if levels[key]["pk"] is not None]
    now = {
        pk: (on_hand, res)
        for pk, on_hand, res in StockLevel.objects.filter(pk__in=ids).values_list("pk", "on_hand", "reserved")
    }
    short = []
    for key, quantity in wanted.items():
        on_hand, reserved = now.get(levels[key]["pk"], (0, 0))
        if on_hand - reserved < quantity:
            short.append(ShortLine(str(key[0]), levels[key]["seller_sku"], quantity, on_hand - reserved))
    return short


def _reserve_one_pg(*, account, order_ref: str, line, expires_at) -> Reservation | None:
    """PostgreSQL fast path for a one-line order; None means "take the portable path".

    One statement is atomic by itself; inside a caller's transaction it runs in a savepoint so that
    a unique violation (this order line is already reserved) leaves the caller's work intact.
    """
    sku_id, warehouse_id, quantity = line
    reservation = Reservation(
        account_id=account.pk,
        sku_id=sku_id,
        order_ref=order_ref,
        quantity=quantity,
        expires_at=expires_at,
        created_at=timezone.now(),
    )
    params = {
        "sku": sku_id,
        "account": account.pk,
        "warehouse": warehouse_id,
        "quantity": quantity,
        "now": reservation.created_at,
        "id": reservation.id,
        "order_ref": order_ref,
        "expires_at": expires_at,
    }
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            row = stock_take_one_pg(params)
    except IntegrityError:
        return None  # already reserved (or being reserved right now): the portable path finds it
    if row is None:
        return None
    reservation.warehouse_id, available, override, monthly = row
    reservation._state.adding = False
    _after_commit([sku_id], evaluate=False)
    if available <= threshold_for(low_stock_threshold=override, avg_monthly_sales=monthly):
        transaction.on_commit(partial(alerts_evaluate, sku_ids=[str(sku_id)]), robust=True)
    return reservation


def stock_reserve(
    *,
    account,
    order_ref: str,
    lines: Sequence[ReservationLine],
    expires_at: datetime | None = None,
    actor=None,
) -> list[Reservation]:
    """Reserve every line of an order, or nothing (InsufficientStock naming the short lines).

    - Lines for the same SKU and warehouse are summed; `warehouse_id=None` means the default one.
    - Idempotent per (order_ref, sku, warehouse): a line with an active reservation is returned as
      it is (its quantity is not changed and nothing is counted twice). The partial unique
      constraint backs this against a concurrent call with the same order: the loser's savepoint
      rolls back and it returns the winner's rows.
    - A line the stock read a moment ago cannot cover is refused before any lock is taken.
    - In a savepoint: INSERT the new reservation rows, then one conditional UPDATE per stock level
      in pk order. The row lock of a hot SKU is held only from its UPDATE to the commit.
    - Works inside a caller's transaction; then the locks last until the caller commits.
    Returns the reservations in the order of the (summed) lines. Reservations write no ledger row:
    on_hand does not change until they are consumed. `actor` is accepted for symmetry; the order
    reference says who holds the stock.
    """
    parsed = _parse_lines(lines)
    if len(parsed) == 1 and connection.vendor == "postgresql":
        done = _reserve_one_pg(account=account, order_ref=order_ref, line=parsed[0], expires_at=expires_at)
        if done is not None:
            return [done]
    for attempt in range(2):
        wanted, levels = _resolve_lines(account, order_ref, parsed)
        new_keys = [key for key in wanted if levels[key]["existing_id"] is None]
        existing_ids = [levels[key]["existing_id"] for key in wanted if levels[key]["existing_id"]]
        existing = (
            {(r.sku_id, r.warehouse_id): r for r in Reservation.objects.filter(pk__in=existing_ids)}
            if existing_ids
            else {}
        )
        if not new_keys:
            return [existing[key] for key in wanted]
        if any(
            levels[k]["pk"] is None or levels[k]["on_hand"] - levels[k]["reserved"] < wanted[k]
            for k in new_keys
        ):
            short = _short_lines({key: wanted[key] for key in new_keys}, levels)
            if short:
                raise InsufficientStock(short)
        now = timezone.now()
        created = [
            Reservation(
                account_id=account.pk,
                sku_id=sku_id,
                warehouse_id=warehouse_id,
                order_ref=order_ref,
                quantity=wanted[(sku_id, warehouse_id)],
                expires_at=expires_at,
                created_at=now,
            )
            for sku_id, warehouse_id in new_keys
        ]
        alert_ids = []
        try:
            with transaction.atomic():
                reservations_insert(created)
                with connection.cursor() as cursor:
                    for key in sorted(new_keys, key=lambda k: levels[k]["pk"] or 0):
                        if levels[key]["pk"] is None:
                            raise _Short
                        result = stock_take(cursor, level_id=levels[key]["pk"], quantity=wanted[key], now=now)
                        if result is None:
                            raise _Short
                        # The SKU's total available is at least this level's: above the threshold
                        # here, a reservation (which only lowers stock) cannot open an alert.
                        if result[0] - result[1] <= levels[key]["threshold"]:
                            alert_ids.append(key[0])
                _after_commit([key[0] for key in new_keys], evaluate=False)
                if alert_ids:
                    transaction.on_commit(
                        partial(alerts_evaluate, sku_ids=sorted(set(map(str, alert_ids)))), robust=True
                    )
        except _Short:
            short = _short_lines({key: wanted[key] for key in new_keys}, levels)
            raise InsufficientStock(
                short or [ShortLine(str(k[0]), levels[k]["seller_sku"], wanted[k], 0) for k in new_keys]
            ) from None
        except IntegrityError:
            if attempt:
                raise
            continue  # the same order reserved concurrently: read its reservations again
        for reservation in created:
            reservation._state.adding = False  # saved by _insert_reservations
            existing[(reservation.sku_id, reservation.warehouse_id)] = reservation
        return [existing[key] for key in wanted]
    raise AssertionError("unreachable")


def _release_rows(rows: list[Reservation], *, status: str, reason: str, now) -> int:
    """Give the reserved units of these locked, active reservations back. Caller holds atomic()."""
    totals: dict[tuple, int] = {}
    for r in rows:
        totals[(r.sku_id, r.warehouse_id)] = totals.get((r.sku_id, r.warehouse_id), 0) + r.quantity
    levels = stock_levels_for_update(totals)
    for level in sorted(levels.values(), key=lambda level: level.pk):
        quantity = totals[(level.sku_id, level.warehouse_id)]
        StockLevel.objects.filter(pk=level.pk).update(
            reserved=F("reserved") - quantity, version=F("version") + 1, updated_at=now
        )
    Reservation.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=status, closed_at=now, close_reason=reason[:100]
    )
    _after_commit({r.sku_id for r in rows})
    return sum(totals.values())


def stock_release(*, order_ref: str, actor=None, reason: str = "cancelled", sku_ids=None) -> int:
    """Release the order's active reservations (all, or those of `sku_ids`). Returns units released.

    Idempotent: released or consumed reservations are skipped, so a second call returns 0. Locks
    the reservations, then their stock levels, both in pk order.
    """
    with transaction.atomic():
        rows = list(active_reservations_for_update(order_ref=order_ref, sku_ids=sku_ids))
        if not rows:
            return 0
        return _release_rows(rows, status=Reservation.Status.RELEASED, reason=reason, now=timezone.now())


def reservation_consume(*, order_ref: str, actor=None, sku_ids=None) -> list[InventoryTransaction]:
    """The order shipped: its active reservations become OUT movements (on_hand and reserved both drop).

    One OUT ledger row per reservation, reference = order_ref, with the level before and after.
    Idempotent: a consumed reservation is not active, so a second call writes nothing and returns [].
    """
    now = timezone.now()
    with transaction.atomic():
        rows = list(active_reservations_for_update(order_ref=order_ref, sku_ids=sku_ids))
        if not rows:
            return []
        levels = stock_levels_for_update((r.sku_id, r.warehouse_id) for r in rows)
        entries = []
        for r in sorted(rows, key=lambda r: levels[(str(r.sku_id), str(r.warehouse_id))].pk):
            level = levels[(str(r.sku_id), str(r.warehouse_id))]
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") - r.quantity,
                reserved=F("reserved") - r.quantity,
                version=F("version") + 1,
                updated_at=now,
            )
            entries.append(
                InventoryTransaction(
                    account_id=r.account_id,
                    sku_id=r.sku_id,
                    warehouse_id=r.warehouse_id,
                    type=TransactionType.OUT,
                    quantity=-r.quantity,
                    previous_level=level.on_hand,
                    new_level=level.on_hand - r.quantity,
                    reason="fulfilled",
                    reference=order_ref[:100],
                    created_at=now,
                    **_actor_fields(actor),
                )
            )
            level.on_hand -= r.quantity
            level.reserved -= r.quantity
        entries = InventoryTransaction.objects.bulk_create(entries)
        Reservation.objects.filter(pk__in=[r.pk for r in rows]).update(
            status=Reservation.Status.CONSUMED, closed_at=now, close_reason="fulfilled"
        )
        _after_commit({r.sku_id for r in rows})
    return entries


def reservations_expire(*, now: datetime | None = None) -> int:
    """Release the active reservations whose `expires_at` has passed (reason "expired").

    Returns how many reservations were released. Works in batches, each its own transaction; rows
    another transaction holds (being consumed or released right now) are skipped, not waited for:
    that transaction closes them anyway.
    """
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            rows = list(
                Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now)
                .order_by("pk")
                .select_for_update(of=("self",), skip_locked=True)[:500]
            )
            if not rows:
                return released
            _release_rows(rows, status=Reservation.Status.RELEASED, reason="expired", now=timezone.now())
            released += len(rows)


# --- manual adjustments ------------------------------------------------------------------------


def _validate_adjustment(quantity, reason) -> str:
    """CONTRACT.md section 3: quantity a non-zero integer in -10000..10000, reason 1-500 characters."""
    errors: dict[str, list[str]] = {}
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        errors["quantity"] = ["Enter a whole number."]
    elif quantity == 0:
        errors["quantity"] = ["The quantity cannot be zero."]
    elif not -ADJUST_MAX <= quantity <= ADJUST_MAX:
        errors["quantity"] = [f"Enter a number between -{ADJUST_MAX} and {ADJUST_MAX}."]
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        errors["reason"] = ["A reason is required."]
    elif len(text) > REASON_MAX:
        errors["reason"] = [f"At most {REASON_MAX} characters."]
    if errors:
        raise DomainError("Check the adjustment.", code="invalid", fields=errors)
    return text


def stock_adjust(*, sku, quantity: int, reason: str, actor, warehouse=None) -> AdjustResult:
    """A manual change of on-hand stock by `quantity` (signed) in `warehouse` (default: the default one).

    More than ADJUST_APPROVAL_ABOVE units either way only records a pending `Adjustment` for staff to
    approve (stock unchanged, applied=False). Otherwise it is applied at once: an ADJUSTMENT ledger
    row, never taking on_hand below zero or below what is reserved (InsufficientStock). Audit-logged
    in the same transaction. `new_stock_level` is the SKU's on_hand over all warehouses afterwards.
    """
    text = _validate_adjustment(quantity, reason)
    warehouse_id = _warehouse_id(sku, warehouse)
    with transaction.atomic():
        if abs(quantity) > ADJUST_APPROVAL_ABOVE:
            adjustment = Adjustment.objects.create(
                account_id=sku.account_id,
                sku_id=sku.pk,
                warehouse_id=warehouse_id,
                quantity=quantity,
                reason=text,
                requested_by=_actor_fields(actor)["actor"],
            )
            audit_log(
                actor=actor,
                action="stock.adjustment_requested",
                target=adjustment,
                account=sku.account_id,
                changes={"quantity": [None, quantity], "reason": [None, text]},
            )
            return AdjustResult(applied=False, new_stock_level=_total_on_hand(sku.pk), adjustment=adjustment)
        entry = _apply_delta(
            sku=sku,
            warehouse_id=warehouse_id,
            delta=quantity,
            type=TransactionType.ADJUSTMENT,
            reason=text,
            reference="adjustment",
            actor=actor,
        )
        audit_log(
            actor=actor,
            action="stock.adjusted",
            target=sku,
            account=sku.account_id,
            changes={"on_hand": [entry.previous_level, entry.new_level], "reason": [None, text]},
        )
        total = _total_on_hand(sku.pk)
        _after_commit([sku.pk])
    return AdjustResult(applied=True, new_stock_level=total, adjustment=None)


def adjustment_approve(*, adjustment, actor) -> Adjustment:
    """Staff approve a pending adjustment: apply it now, or mark it failed if stock no longer allows.

    Locks the adjustment row, so two approvals at once apply it once; anything not pending is a
    Conflict (code "not_pending"). Audit-logged either way.
    """
    with transaction.atomic():
        locked = adjustment_for_update(adjustment_id=adjustment.pk)
        if locked.status != Adjustment.Status.PENDING:
            raise Conflict(
                f"This adjustment is already {locked.get_status_display().lower()}.", code="not_pending"
            )
        sku = SKU.objects.get(pk=locked.sku_id)
        locked.decided_by = _actor_fields(actor)["actor"]
        locked.decided_at = timezone.now()
        try:
            entry = _apply_delta(
                sku=sku,
                warehouse_id=locked.warehouse_id,
                delta=locked.quantity,
                type=TransactionType.ADJUSTMENT,
                reason=locked.reason,
                reference=f"adjustment:{locked.pk}",
                actor=actor,
            )
        except InsufficientStock as exc:  # raised before any write: the transaction is intact
            locked.status = Adjustment.Status.FAILED
            locked.decision_note = exc.message[:500]
        else:
            locked.status = Adjustment.Status.APPLIED
            locked.transaction = entry
            _after_commit([sku.pk])
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "transaction"])
        audit_log(
            actor=actor,
            action="stock.adjustment_approved",
            target=locked,
            account=locked.account_id,
            changes={"status": [Adjustment.Status.PENDING, locked.status]},
        )
    return locked


def adjustment_reject(*, adjustment, actor, note: str = "") -> Adjustment:
    """Staff reject a pending adjustment; stock is untouched. Conflict if it is not pending."""
    with transaction.atomic():
        locked = adjustment_for_update(adjustment_id=adjustment.pk)
        if locked.status != Adjustment.Status.PENDING:
            raise Conflict(
                f"This adjustment is already {locked.get_status_display().lower()}.", code="not_pending"
            )
        locked.status = Adjustment.Status.REJECTED
        locked.decided_by = _actor_fields(actor)["actor"]
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()[:500]
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_log(
            actor=actor,
            action="stock.adjustment_rejected",
            target=locked,
            account=locked.account_id,
            changes={"status": [Adjustment.Status.PENDING, locked.status]},
        )
    return locked


# --- counts from elsewhere -------------------------------------------------------------------


def stock_set_from_channel(
    *, sku, warehouse, quantity: int, actor_label: str = "tiktok"
) -> InventoryTransaction | None:
    """Take the channel's count as on_hand, keeping what is reserved here.

    The difference is one ADJUSTMENT with reason "channel_sync" (none when equal). Reserved units
    are orders we already accepted: if the channel counts fewer than that, on_hand becomes the
    reserved quantity (nothing available; the out_of_stock alert opens after commit) and the
    shortfall is logged and kept on the ledger row's reference. Creates the stock level if missing.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise DomainError("The channel's count must be a whole number >= 0.", code="invalid")
    if warehouse.account_id != sku.account_id:
        raise NotFound("Unknown warehouse.")
    with transaction.atomic():
        level = stock_level_for_update(sku_id=sku.pk, warehouse_id=warehouse.pk)
        target = max(quantity, level.reserved)
        shortfall = level.reserved - quantity
        if shortfall > 0:
            logger.warning(
                "channel counts %s of SKU %s in %s but %s are reserved: keeping on_hand at %s",
                quantity,
                sku.pk,
                warehouse.pk,
                level.reserved,
                target,
            )
        delta = target - level.on_hand
        if delta == 0:
            return None
        StockLevel.objects.filter(pk=level.pk).update(
            on_hand=F("on_hand") + delta, version=F("version") + 1, updated_at=timezone.now()
        )
        entry = InventoryTransaction.objects.create(
            account_id=sku.account_id,
            sku_id=sku.pk,
            warehouse_id=warehouse.pk,
            type=TransactionType.ADJUSTMENT,
            quantity=delta,
            previous_level=level.on_hand,
            new_level=target,
            reason=CHANNEL_SYNC,
            reference=f"{CHANNEL_SYNC}:short {shortfall}" if shortfall > 0 else CHANNEL_SYNC,
            actor=None,
            actor_label=actor_label[:100],
        )
        _after_commit([sku.pk])
    return entry


def stock_receive(
    *, sku, warehouse, quantity: int, reference: str, reason: str = "received", actor=None
) -> InventoryTransaction:
    """Units arrived (a purchase order, a return): one IN ledger row. Creates the level if missing.

    Not idempotent by itself: the caller (purchase order receiving, returns) guards against
    receiving the same thing twice, in the same transaction as this call.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise DomainError(
            "Receive a positive whole number of units.",
            code="invalid",
            fields={"quantity": ["A positive integer is required."]},
        )
    if warehouse.account_id != sku.account_id:
        raise NotFound("Unknown warehouse.")
    with transaction.atomic():
        entry = _apply_delta(
            sku=sku,
            warehouse_id=warehouse.pk,
            delta=quantity,
            type=TransactionType.IN,
            reason=reason,
            reference=reference,
            actor=actor,
        )
        _after_commit([sku.pk])
    return entry
