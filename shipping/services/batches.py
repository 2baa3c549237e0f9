"""Label batches: up to 500 orders bought in parallel, then one merged PDF of labels and packing slips.

The life of a batch::

    label_batch_create ──outbox, one message per item──▶ batch_item_purchase (parallel workers)
          │                                                  │ the item that leaves no pending one
          ▼                                                  ▼ behind queues the merge
       running ◀── label_batch_retry_failed ── partial ◀── batch_merge ──▶ done

- Creation validates the selection, writes the batch, its items and one outbox message per item in
  one transaction, so either every item is queued or nothing exists.
- Each item calls `shipment_purchase` (never inside a transaction) and then records its outcome under
  a lock on the batch row. An item is *done* only when its whole step succeeded: the label bought
  AND TikTok accepted the package (the order is shipped). Until then it is `labelled` (bought,
  being handed to TikTok) or `waiting` (every carrier failed for a passing reason; the purchase
  retries on its own); those outcomes arrive later, from the pipeline's own steps, through
  `batch_items_refresh(order_id)`, also after the batch finished. A label TikTok refused is
  `failed` with "Label bought, TikTok refused: …". The merge waits only for the items still being
  bought (`pending`): a bought label goes into the PDF at once, so the creator can print while
  TikTok is told. Counting the pending items under the batch lock makes "am I the last?" race-free:
  exactly one finisher sees zero and queues the merge.
- The merge reads the label files and builds the packing slips outside any transaction, saves the
  PDF, then finishes the batch with one conditional UPDATE (only a running batch with no pending
  item), so a merge delivered twice, or racing a retry, cannot overwrite newer state.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.core.errors import Conflict, DomainError, NotFound
from creatorflow.outbox.facade import outbox_enqueue
from orders.models import Order

from ..models import LIVE_SHIPMENT, LabelBatch, LabelBatchItem, LabelFormat, Shipment, ShipmentStatus
from .purchase import shipment_purchase

logger = logging.getLogger(__name__)

ITEM_TASK = "shipping.batch_item_purchase"
MERGE_TASK = "shipping.batch_merge"
QUEUE = "integrations"

# An item whose order another worker keeps buying (state "busy") is retried; after this long it is
# recorded as failed so the batch still finishes. It is shorter than the outbox's whole retry budget
# (OUTBOX_RETRY: six attempts over at least ~155 s), so the last attempt records the failure.
BUSY_PATIENCE = timedelta(seconds=150)

Item = LabelBatchItem.Status
Batch = LabelBatch.Status
# Items still being bought: the merge waits for them (and only them).
UNSETTLED = (Item.PENDING,)
# Items whose label is bought: they go into the merged PDF.
IN_PDF = (Item.DONE, Item.LABELLED)
# Items that make a finished batch `partial`: not bought (yet).
SHORT = (Item.FAILED, Item.WAITING)
# Shipment statuses that mean TikTok has the package (the order left with its label).
HANDED_OVER = frozenset(
    {
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERED,
        ShipmentStatus.RETURNED,
        ShipmentStatus.EXCEPTION,
    }
)
SHIPPED_ORDER_STATUSES = frozenset({"shipped", "in_transit", "delivered", "completed", "returned"})


def order_ids_parse(order_ids) -> list[uuid.UUID]:
    """The selected ids as UUIDs, duplicates dropped, in the order given. Malformed → NotFound."""
    pks: list[uuid.UUID] = []
    seen: set[uuid.UUID] = set()
    for value in order_ids:
        try:
            pk = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
        except ValueError:
            raise NotFound("One of the selected orders does not exist.", code="order_not_found") from None
        if pk not in seen:
            seen.add(pk)
            pks.append(pk)
    return pks


def label_batch_create(*, account, order_ids, actor) -> LabelBatch:
    """Create a running batch for the account's `order_ids` and queue one purchase per order.

    Refuses (DomainError, nothing written) an empty selection or one over LabelBatch.MAX_ORDERS
    (code "batch_empty" / "batch_too_large"), an id that is not one of the account's orders
    (NotFound: a foreign id reads as missing), and orders already in a running batch (Conflict,
    "batch_order_busy"). Items keep the selection's order, which is the merged PDF's order.

    One transaction: the selected orders are locked (primary-key order) so two batches created at
    once for the same orders serialise, and the second sees the first one's items; the outbox rows
    commit with the items, and the workers start after commit.
    """
    pks = order_ids_parse(order_ids)
    if not pks:
        raise DomainError("Select at least one order to buy labels for.", code="batch_empty")
    if len(pks) > LabelBatch.MAX_ORDERS:
        raise DomainError(
            f"A batch holds at most {LabelBatch.MAX_ORDERS} orders; {len(pks)} were selected. "
            "Select fewer and make a second batch.",
            code="batch_too_large",
        )
    with transaction.atomic():
        found = set(
            Order.objects.select_for_update()
            .filter(account=account, pk__in=pks)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if len(found) != len(pks):
            raise NotFound("One of the selected orders does not exist.", code="order_not_found")
        busy = list(
            LabelBatchItem.objects.filter(order_id__in=pks, batch__status=Batch.RUNNING)
            .order_by("order__tiktok_order_id")
            .values_list("order__tiktok_order_id", flat=True)[:5]
        )
        if busy:
            raise Conflict(
                f"Already in a running batch: {', '.join(busy)}. Wait for it to finish or leave them out.",
                code="batch_order_busy",
            )
        batch = LabelBatch.objects.create(account=account, created_by=_user(actor), total=len(pks))
        items = LabelBatchItem.objects.bulk_create(LabelBatchItem(batch=batch, order_id=pk) for pk in pks)
        for item in items:
            outbox_enqueue(
                task=ITEM_TASK, kwargs={"item_id": item.pk}, queue=QUEUE, key=f"batch-item:{item.pk}"
            )
        audit_log(
            actor=actor, action="shipping.batch_create", target=batch, changes={"total": [None, len(pks)]}
        )
    logger.info("label batch %s: %s orders queued", batch.pk, len(pks))
    return batch


def batch_item_purchase(*, item_id: int) -> str:
    """Buy one item's label and record its outcome; the last item to settle queues the merge.

    Returns the item's new status ("done", "labelled", "waiting", "failed"), "busy" (another worker
    is buying this order: the caller retries shortly) or "skipped" (no such item, or it already left
    `pending`: a redelivered message). Precondition: no transaction open (the purchase calls
    carriers). The purchase acts as the batch's creator, so held and needs-attention orders a person
    selected are bought too.
    """
    item = LabelBatchItem.objects.select_related("batch__created_by").filter(pk=item_id).first()
    if item is None or item.status != Item.PENDING:
        return "skipped"
    result = shipment_purchase(order_id=item.order_id, actor=item.batch.created_by)
    if result.state == "busy":
        if timezone.now() - item.updated_at < BUSY_PATIENCE:
            return "busy"
        return _settle(
            item_ids=[item.pk],
            batch_id=item.batch_id,
            from_statuses=(Item.PENDING,),
            fixed=(
                Item.FAILED,
                "Another worker kept buying this order's label; retry once it is done.",
                None,
            ),
        )
    fallback = "" if result.ok else (result.error or f"No label was bought ({result.state}).")
    return _settle(
        item_ids=[item.pk], batch_id=item.batch_id, from_statuses=(Item.PENDING,), fallback_error=fallback
    )


def batch_items_refresh(*, order_id) -> int:
    """The pipeline moved this order on (label bought, TikTok answered, a wait began or ended):
    items of running batches still waiting on it take their new outcome. Returns how many were
    written (an item may be written with the outcome it had, e.g. a wait with a new next try).
    Called after the step committed, outside any transaction; cheap when the order is in no batch."""
    rows = list(
        LabelBatchItem.objects.filter(
            order_id=order_id, status__in=(Item.LABELLED, Item.WAITING)
        ).values_list("pk", "batch_id")
    )
    settled = 0
    for item_id, batch_id in rows:
        status = _settle(item_ids=[item_id], batch_id=batch_id, from_statuses=(Item.LABELLED, Item.WAITING))
        settled += status != "skipped"
    return settled


def item_outcome(order_id, *, fallback_error: str = "") -> tuple[str, str, object]:
    """(status, reason, shipment id) of one order's step, read from the pipeline's own rows.

    Done: TikTok has the package. Labelled: bought, the hand-over is on its way. Waiting: every
    carrier failed for a passing reason; the reason and the next try. Failed: anything else, with
    the reason the order page shows (TikTok's refusal after a bought label says so first)."""
    order = Order.objects.filter(pk=order_id).values("status", "attention_reason").first() or {}
    shipment = Shipment.objects.filter(LIVE_SHIPMENT, order_id=order_id).first()
    status = order.get("status", "")
    reason = order.get("attention_reason", "")
    if shipment is not None:
        if shipment.status in HANDED_OVER or status in SHIPPED_ORDER_STATUSES:
            return Item.DONE, "", shipment.pk
        if shipment.status == ShipmentStatus.WAITING:
            when = f" Next try at {shipment.retry_at:%H:%M} UTC." if shipment.retry_at else ""
            return Item.WAITING, f"{shipment.wait_reason}{when}", shipment.pk
        if shipment.status == ShipmentStatus.PURCHASED:
            if status == "label_purchased":
                return Item.LABELLED, "", shipment.pk
            if status == "needs_attention":
                refusal = reason.removeprefix("TikTok refused to mark the package shipped: ")
                return Item.FAILED, f"Label bought, TikTok refused: {refusal}", shipment.pk
            if status == "cancelled":
                return Item.FAILED, "The order was cancelled; its label is being voided.", shipment.pk
            return Item.FAILED, f"Label bought; the order is {status.replace('_', ' ')}.", shipment.pk
        if shipment.status == ShipmentStatus.PENDING and status in ("ready", "held", "needs_attention"):
            return Item.FAILED, fallback_error or "No label was bought.", shipment.pk
    if status == "cancelled":
        return Item.FAILED, "The order was cancelled.", None
    return Item.FAILED, fallback_error or reason or "No label was bought.", getattr(shipment, "pk", None)


def _settle(*, item_ids, batch_id, from_statuses, fallback_error: str = "", fixed=None) -> str:
    """Record the outcome of items (one order's) still in `from_statuses`; queue the merge when no
    item of the batch is left unsettled. Returns the status written (or "skipped").

    Under the batch row's lock: finishers of one batch take turns, and each reads the order's state
    and counts the unsettled items after taking it, so only the last sees none (READ COMMITTED: each
    statement sees the turns committed before it), and a step that committed while another held the
    lock is seen by the next. The update is conditional on `from_statuses`, so a redelivered message
    changes nothing and queues nothing.
    """
    with transaction.atomic():
        batch = LabelBatch.objects.select_for_update().get(pk=batch_id)
        items = list(LabelBatchItem.objects.filter(pk__in=item_ids, status__in=from_statuses))
        if not items:
            return "skipped"
        if fixed is not None:
            status, error, shipment_id = fixed
        else:
            status, error, shipment_id = item_outcome(items[0].order_id, fallback_error=fallback_error)
        LabelBatchItem.objects.filter(pk__in=[i.pk for i in items], status__in=from_statuses).update(
            status=status, error=error[:1000], shipment_id=shipment_id, updated_at=timezone.now()
        )
        if batch.status != Batch.RUNNING:
            # A finished batch's outcome follows its items (a refusal after the merge makes it partial).
            short = LabelBatchItem.objects.filter(batch_id=batch.pk, status__in=SHORT).exists()
            LabelBatch.objects.filter(pk=batch.pk).exclude(status=Batch.RUNNING).update(
                status=Batch.PARTIAL if short else Batch.DONE
            )
            return status
        if not LabelBatchItem.objects.filter(batch_id=batch.pk, status__in=UNSETTLED).exists():
            # A fresh key per round: a retried batch is merged again.
            outbox_enqueue(
                task=MERGE_TASK,
                kwargs={"batch_id": str(batch.pk)},
                queue=QUEUE,
                key=f"batch-merge:{batch.pk}:{uuid.uuid4().hex[:12]}",
            )
    return status


def batch_merge(*, batch_id) -> str:
    """Build the batch's one PDF and finish the batch (done, or partial when some items failed).

    For each bought item, in the batch's order: its label (PDF labels only; ZPL labels are for a
    thermal printer and are left out, which the batch page says) followed by its packing slip.
    Returns "merged" or "skipped" (no such batch, not running, or items still pending).
    Runs outside any transaction (file reads and PDF work); the final UPDATE is conditional.
    """
    from ..documents.builders import packing_slip_for_order, prefetch_for_slips
    from ..documents.merge import merge_pdfs

    batch = LabelBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status != Batch.RUNNING or batch.items.filter(status__in=UNSETTLED).exists():
        return "skipped"
    items = list(batch.items.filter(status__in=IN_PDF).select_related("shipment", "order").order_by("id"))
    prefetch_for_slips([item.order for item in items])  # a few queries, not one per slip
    parts: list[bytes] = []
    for item in items:
        label = _label_pdf(item.shipment)
        if label is not None:
            parts.append(label)
        parts.append(packing_slip_for_order(item.order))
    failed = batch.items.filter(status__in=SHORT).exists()
    old_name = batch.merged_pdf.name
    if parts:
        data, pages = merge_pdfs(parts)
        batch.merged_pdf.save(f"batch-{batch.pk}.pdf", ContentFile(data), save=False)
        name = batch.merged_pdf.name
    else:
        name, pages = "", 0
    finished = (
        LabelBatch.objects.filter(pk=batch.pk, status=Batch.RUNNING)
        .exclude(items__status__in=UNSETTLED)
        .update(
            merged_pdf=name,
            merged_pages=pages,
            status=Batch.PARTIAL if failed else Batch.DONE,
            finished_at=timezone.now(),
        )
    )
    storage = batch.merged_pdf.storage
    if not finished:
        if name:
            storage.delete(name)
        return "skipped"
    if old_name and old_name != name:
        storage.delete(old_name)
    logger.info("label batch %s merged: %s pages", batch.pk, pages)
    return "merged"


def _label_pdf(shipment: Shipment | None) -> bytes | None:
    if shipment is None or not shipment.label_file or shipment.label_format != LabelFormat.PDF:
        return None
    with shipment.label_file.open("rb") as handle:
        return handle.read()


def label_batch_retry_failed(*, batch: LabelBatch, actor) -> int:
    """Queue the failed items of a finished batch again and set it running; returns how many.

    Refuses a batch that is still running (Conflict, "batch_running") or has no failed item
    ("batch_nothing_to_retry"). Each re-queued item gets a new outbox key, since the first
    message is done. The merge runs again when they finish and replaces the merged PDF.
    """
    with transaction.atomic():
        locked = LabelBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == Batch.RUNNING:
            raise Conflict(
                "The batch is still running; retry its failures once it has finished.", code="batch_running"
            )
        failed = list(locked.items.filter(status=Item.FAILED).order_by("pk").values_list("pk", flat=True))
        if not failed:
            raise DomainError(
                "No order of this batch failed; there is nothing to retry.", code="batch_nothing_to_retry"
            )
        now = timezone.now()
        LabelBatchItem.objects.filter(pk__in=failed).update(status=Item.PENDING, error="", updated_at=now)
        LabelBatch.objects.filter(pk=locked.pk).update(status=Batch.RUNNING, finished_at=None)
        round_key = uuid.uuid4().hex[:12]
        for pk in failed:
            outbox_enqueue(
                task=ITEM_TASK, kwargs={"item_id": pk}, queue=QUEUE, key=f"batch-item:{pk}:{round_key}"
            )
        audit_log(
            actor=actor,
            action="shipping.batch_retry",
            target=locked,
            changes={"status": [locked.status, Batch.RUNNING], "retried": [None, len(failed)]},
        )
    batch.refresh_from_db()
    return len(failed)


def batch_progress(batch: LabelBatch) -> dict:
    """Counts for the progress bar: total; done (shipped: label bought and TikTok accepted it);
    labelled (bought, being handed to TikTok); bought (done + labelled: in the PDF); waiting (for a
    carrier, retried on its own); failed; pending (being bought); and percent of items no longer
    being bought (0-100).

    `merging` is true once no item is pending while the batch still runs (the PDF is being built).
    """
    counts = batch.items.aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(status=Item.DONE)),
        labelled=Count("id", filter=Q(status=Item.LABELLED)),
        waiting=Count("id", filter=Q(status=Item.WAITING)),
        failed=Count("id", filter=Q(status=Item.FAILED)),
        pending=Count("id", filter=Q(status=Item.PENDING)),
    )
    total = counts["total"] or 0
    finished = total - counts["pending"]
    counts["bought"] = counts["done"] + counts["labelled"]
    counts["percent"] = int(100 * finished / total) if total else 100
    counts["merging"] = batch.status == Batch.RUNNING and counts["pending"] == 0
    return counts


def batch_zpl_count(batch: LabelBatch) -> int:
    """How many bought labels of the batch are ZPL, and so not in its merged PDF."""
    return batch.items.filter(status__in=IN_PDF, shipment__label_format=LabelFormat.ZPL).count()


def _user(actor):
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None
