"""Nightly check that stock counters agree with the ledger and with the active reservations.

Kept apart from `stock.py` (which re-exports both names) because it only reads and reports: it
never changes stock, it opens a ledger_drift alert for a human to look at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ..models import SKU, InventoryTransaction, Reservation, StockAlert, StockLevel
from .alerts import alert_open, alerts_resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerDrift:
    sku_id: str
    warehouse_id: str
    counter: int
    ledger: int
    kind: str = "on_hand"  # "on_hand": counter vs ledger; "reserved": counter vs active reservations


def ledger_reconcile(*, account=None) -> list[LedgerDrift]:
    """Check every stock level (of `account`, or all) against its ledger and its reservations.

    on_hand must equal the last ledger row's new_level and the sum of all ledger quantities (a level
    without ledger rows must be 0); reserved must equal the sum of active reservations. One query
    reads all of it (a single statement sees one consistent snapshot, so concurrent stock changes
    cannot produce false drift). Each drifting SKU gets one open ledger_drift alert, notified once;
    open ledger_drift alerts of SKUs that reconcile cleanly now are resolved.
    """
    ledger = InventoryTransaction.objects.filter(sku=OuterRef("sku"), warehouse=OuterRef("warehouse"))
    last = ledger.order_by("-id").values("new_level")[:1]
    total = ledger.order_by().values("sku").annotate(t=Sum("quantity")).values("t")
    active = (
        Reservation.objects.filter(sku=OuterRef("sku"), warehouse=OuterRef("warehouse"), status="active")
        .order_by()
        .values("sku")
        .annotate(t=Sum("quantity"))
        .values("t")
    )
    levels = StockLevel.objects.all()
    if account is not None:
        levels = levels.filter(sku__account=account)
    rows = levels.annotate(
        last_level=Subquery(last),
        ledger_total=Coalesce(Subquery(total), Value(0)),
        active_total=Coalesce(Subquery(active), Value(0)),
    ).values_list(
        "sku_id", "warehouse_id", "on_hand", "reserved", "last_level", "ledger_total", "active_total"
    )

    drifts: list[LedgerDrift] = []
    for sku_id, warehouse_id, on_hand, reserved, last_level, ledger_total, active_total in rows.iterator():
        replayed = last_level if last_level is not None else 0
        if on_hand != ledger_total or on_hand != replayed:
            ledger_value = ledger_total if on_hand != ledger_total else replayed
            drifts.append(LedgerDrift(str(sku_id), str(warehouse_id), on_hand, ledger_value))
        if reserved != active_total:
            drifts.append(
                LedgerDrift(str(sku_id), str(warehouse_id), reserved, active_total, kind="reserved")
            )

    drifting = sorted({d.sku_id for d in drifts})
    for sku in SKU.objects.filter(pk__in=drifting).select_related("account"):
        mine = [d for d in drifts if d.sku_id == str(sku.pk)]
        detail = "; ".join(
            f"{d.kind} {d.counter} vs {'ledger' if d.kind == 'on_hand' else 'reservations'} {d.ledger}"
            for d in mine
        )
        logger.error("stock counter drift for SKU %s: %s", sku.pk, detail)
        alert_open(
            sku=sku,
            kind=StockAlert.Kind.LEDGER_DRIFT,
            message=f"{sku.seller_sku}: {detail}",
            title=f"Stock counters of {sku.name} disagree with the ledger",
            body=(
                f"{detail}. Something changed stock outside the inventory services. "
                "Check recent adjustments and count the shelf before the next sync."
            ),
            data={"drift": [d.__dict__ for d in mine]},
        )
    clean = StockAlert.objects.filter(
        kind=StockAlert.Kind.LEDGER_DRIFT, status=StockAlert.Status.OPEN
    ).exclude(sku_id__in=drifting)
    if account is not None:
        clean = clean.filter(account=account)
    alerts_resolve(sku_ids=list(clean.values_list("sku_id", flat=True)), kinds=[StockAlert.Kind.LEDGER_DRIFT])
    return drifts
