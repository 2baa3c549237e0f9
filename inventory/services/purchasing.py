"""Writes for suppliers and purchase orders: create, send (email with PDF + CSV), receive, cancel,
one-click orders from reorder suggestions, and auto-reorder.

The purchase order lifecycle (every transition audit-logged with its actor)::

    draft ──send──▶ sent ──receive──▶ partially_received ──receive──▶ received
      │              │                       │
      └──cancel──────┴──────cancel───────────┘──▶ cancelled

Cancelling means "nothing more is expected": a draft or sent order, or the rest of a partially
received one (the supplier will not ship the remainder). Stock already received stays, with its
ledger rows ("po:<number>"); a received or cancelled order cannot be cancelled.

Locks: PO numbering locks the account row (one numbering per account, no gaps from races);
sending, receiving and cancelling lock the PO row, so a double-submitted form acts once.
Stock moves only through `inventory.services.stock.stock_receive`, inside the receipt's
transaction, so the received quantities on the lines and the ledger commit together.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Length
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from creatorflow.audit.facade import audit_log, diff, snapshot
from creatorflow.core.errors import Conflict, DomainError, ServiceUnavailable
from creatorflow.outbox.facade import outbox_enqueue

from ..models import SKU, PurchaseOrder, PurchaseOrderLine, Supplier, Warehouse
from ..purchase_order_pdf import purchase_order_document, render_purchase_order_csv, render_purchase_order_pdf
from ..velocity import ReorderSuggestion, reorder_suggestion, velocities
from .stock import stock_receive

logger = logging.getLogger(__name__)

Status = PurchaseOrder.Status

# Orders whose goods are still expected: a SKU on one of these is "on order".
OPEN_STATUSES = (Status.DRAFT, Status.SENT, Status.PARTIALLY_RECEIVED)
CANCELLABLE = (Status.DRAFT, Status.SENT, Status.PARTIALLY_RECEIVED)
RECEIVABLE = (Status.SENT, Status.PARTIALLY_RECEIVED)

SUPPLIER_FIELDS = ("name", "email", "lead_time_days", "notes")
MAX_LEAD_TIME_DAYS = 365
NUMBER_PREFIX = "PO-"
SEND_TASK = "inventory.send_purchase_order"


class PurchasingError(DomainError):
    """A purchasing request refused; `code` says why (see the codes used below)."""

    code = "purchasing_error"


class PurchaseOrderStateError(Conflict):
    """The order's status does not allow this step (e.g. receiving a draft, cancelling a received one)."""

    code = "purchase_order_state"


class PurchaseOrderEmailFailed(ServiceUnavailable):
    """The mail server refused or could not be reached; the task retries."""

    code = "purchase_order_email_failed"


# --- suppliers ------------------------------------------------------------------------------------


def _clean_supplier_fields(fields: dict) -> dict:
    unknown = set(fields) - set(SUPPLIER_FIELDS)
    if unknown:
        raise TypeError(f"unknown supplier fields: {sorted(unknown)}")
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = (cleaned["name"] or "").strip()
        if not cleaned["name"]:
            raise PurchasingError(
                "A supplier needs a name.", code="supplier_name_required", fields={"name": ""}
            )
    if "email" in cleaned:
        cleaned["email"] = (cleaned["email"] or "").strip()
        if cleaned["email"]:
            try:
                validate_email(cleaned["email"])
            except ValidationError:
                raise PurchasingError(
                    "Enter a valid email address for the supplier.",
                    code="supplier_email_invalid",
                    fields={"email": cleaned["email"]},
                ) from None
    if "lead_time_days" in cleaned:
        days = cleaned["lead_time_days"]
        if not isinstance(days, int) or not 0 <= days <= MAX_LEAD_TIME_DAYS:
            raise PurchasingError(
                f"Lead time must be between 0 and {MAX_LEAD_TIME_DAYS} days.",
                code="supplier_lead_time_invalid",
                fields={"lead_time_days": days},
            )
    if "notes" in cleaned:
        cleaned["notes"] = cleaned["notes"] or ""
    return cleaned


def supplier_create(
    *, account: Account, actor, name: str, email: str = "", lead_time_days: int = 7, notes: str = ""
) -> Supplier:
    """Add a supplier to `account`. An empty email is allowed; such a supplier cannot be sent POs."""
    fields = _clean_supplier_fields(
        {"name": name, "email": email, "lead_time_days": lead_time_days, "notes": notes}
    )
    with transaction.atomic(durable=True):
        supplier = Supplier.objects.create(account=account, **fields)
        audit_log(
            actor=actor,
            action="supplier.create",
            target=supplier,
            changes=diff({}, supplier, SUPPLIER_FIELDS),
        )
    return supplier


def supplier_update(*, supplier: Supplier, actor, **changes) -> Supplier:
    """Change any of name, email, lead_time_days, notes. Writes an audit entry only if something changed.

    A new lead time changes future reorder suggestions (SKUs without their own lead time use it);
    open purchase orders keep their expected date.
    """
    fields = _clean_supplier_fields(changes)
    with transaction.atomic(durable=True):
        locked = Supplier.objects.select_for_update().get(pk=supplier.pk)
        before = snapshot(locked, SUPPLIER_FIELDS)
        for name, value in fields.items():
            setattr(locked, name, value)
        changed = diff(before, locked, SUPPLIER_FIELDS)
        if changed:
            locked.save(update_fields=list(changed))
            audit_log(actor=actor, action="supplier.update", target=locked, changes=changed)
    return locked


# --- creating purchase orders -----------------------------------------------------------------------


def _next_number(account: Account) -> str:
    """The account's next PO number. Precondition: the account row is locked in this transaction.

    Ordered by length first, so PO-100000 follows PO-99999 rather than sorting before it.
    """
    last = (
        PurchaseOrder.objects.filter(account=account, number__startswith=NUMBER_PREFIX)
        .annotate(number_length=Length("number"))
        .order_by("-number_length", "-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = 0
    if last:
        try:
            sequence = int(last.removeprefix(NUMBER_PREFIX))
        except ValueError:
            sequence = PurchaseOrder.objects.filter(account=account).count()
    return f"{NUMBER_PREFIX}{sequence + 1:05d}"


def _clean_lines(*, account: Account, lines) -> list[tuple[SKU, int, Decimal]]:
    cleaned: list[tuple[SKU, int, Decimal]] = []
    seen: set = set()
    for sku, quantity, unit_cost in lines:
        if sku.account_id != account.pk:
            raise PurchasingError(
                "That SKU does not exist.", code="sku_not_found", fields={"sku": str(sku.pk)}
            )
        if sku.pk in seen:
            raise PurchasingError(
                f"{sku.seller_sku} appears twice; put it on one line.",
                code="purchase_order_duplicate_sku",
                fields={"sku": sku.seller_sku},
            )
        seen.add(sku.pk)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise PurchasingError(
                f"Quantity for {sku.seller_sku} must be a whole number above zero.",
                code="purchase_order_quantity_invalid",
                fields={"sku": sku.seller_sku, "quantity": quantity},
            )
        try:
            cost = Decimal(str(unit_cost if unit_cost is not None else sku.cost)).quantize(Decimal("0.01"))
        except InvalidOperation:
            cost = Decimal("-1")
        if cost < 0:
            raise PurchasingError(
                f"Unit cost for {sku.seller_sku} must be a non-negative amount.",
                code="purchase_order_cost_invalid",
                fields={"sku": sku.seller_sku, "unit_cost": str(unit_cost)},
            )
        cleaned.append((sku, quantity, cost))
    if not cleaned:
        raise PurchasingError("A purchase order needs at least one line.", code="purchase_order_empty")
    currencies = {sku.currency for sku, _, _ in cleaned}
    if len(currencies) > 1:
        raise PurchasingError(
            "All lines of a purchase order must be in one currency.",
            code="purchase_order_mixed_currency",
            fields={"currencies": sorted(currencies)},
        )
    return cleaned


def po_create(
    *,
    account: Account,
    supplier: Supplier,
    warehouse: Warehouse,
    lines: list[tuple[SKU, int, Decimal | None]],
    actor,
    notes: str = "",
) -> PurchaseOrder:
    """Create a draft purchase order numbered PO-00001, PO-00002, ... per account.

    `lines` are (sku, quantity, unit_cost); a unit cost of None takes the SKU's cost. Supplier,
    warehouse and SKUs must belong to `account` (else `*_not_found`, as if they did not exist).

    Locks the account row for the rest of the transaction so that concurrent creations number one
    after the other; the unique (account, number) constraint backs it up. Nests in a caller's
    transaction (not durable): one-click ordering creates several orders atomically.
    """
    if supplier.account_id != account.pk:
        raise PurchasingError("That supplier does not exist.", code="supplier_not_found")
    if warehouse.account_id != account.pk:
        raise PurchasingError("That warehouse does not exist.", code="warehouse_not_found")
    cleaned = _clean_lines(account=account, lines=lines)
    with transaction.atomic():
        Account.objects.select_for_update().only("pk").get(pk=account.pk)
        po = PurchaseOrder.objects.create(
            account=account,
            number=_next_number(account),
            supplier=supplier,
            warehouse=warehouse,
            currency=cleaned[0][0].currency,
            notes=notes or "",
            created_by=actor if _is_user(actor) else None,
        )
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(purchase_order=po, sku=sku, quantity_ordered=quantity, unit_cost=cost)
            for sku, quantity, cost in cleaned
        )
        audit_log(
            actor=actor,
            action="purchase_order.create",
            target=po,
            changes={
                "status": [None, po.status],
                "supplier": [None, supplier.name],
                "lines": [None, {sku.seller_sku: quantity for sku, quantity, _ in cleaned}],
            },
        )
    return po


@dataclass(frozen=True)
class SkippedSKU:
    """A SKU that one-click ordering did not put on a purchase order, and why."""

    sku_id: str
    seller_sku: str
    reason: str  # "no_supplier", "nothing_needed", "on_draft", "not_found"


class SuggestedPurchaseOrders(list):
    """The purchase orders created from suggestions (a plain list of them), plus `.skipped`:
    the requested SKUs that were not ordered, so the caller can show them rather than lose them."""

    def __init__(self, orders=(), skipped=()):
        super().__init__(orders)
        self.skipped: list[SkippedSKU] = list(skipped)


def _default_warehouse(account: Account) -> Warehouse:
    # Warehouse ordering puts the default first; an account with one warehouse uses that one.
    warehouse = Warehouse.objects.filter(account=account).order_by("-is_default", "name", "pk").first()
    if warehouse is None:
        raise PurchasingError(
            "Add a warehouse first: purchase orders need an address to ship to.", code="no_warehouse"
        )
    return warehouse


def _group_suggestions(skus, *, skipped: list[SkippedSKU]) -> dict:
    """{supplier: [(sku, quantity, cost)]} for SKUs whose reorder suggestion is above zero.

    Reads only. SKUs without a supplier or with nothing to order are appended to `skipped`.
    """
    groups: dict[Supplier, list] = defaultdict(list)
    for sku in skus:
        if sku.supplier_id is None:
            skipped.append(SkippedSKU(str(sku.pk), sku.seller_sku, "no_supplier"))
            continue
        suggestion = reorder_suggestion(sku=sku)
        if suggestion.quantity <= 0:
            skipped.append(SkippedSKU(str(sku.pk), sku.seller_sku, "nothing_needed"))
            continue
        groups[sku.supplier].append((sku, int(suggestion.quantity), sku.cost))
    return groups


def reorder_candidates(*, account: Account) -> list[tuple[SKU, ReorderSuggestion]]:
    """Read only: the account's active SKUs whose reorder suggestion is above zero, with it.

    Ordered by supplier (SKUs without one last) then seller SKU, as the suggestions page lists them.
    A SKU that sells nothing never needs reordering (its suggestion is 0 at most), so the selling
    rates of the whole catalogue come first, in a fixed number of queries, and only SKUs that sell
    get their full suggestion computed.
    """
    skus = list(
        SKU.objects.filter(account=account, is_active=True)
        .select_related("supplier")
        .order_by(F("supplier__name").asc(nulls_last=True), "seller_sku")
    )
    rates = velocities(account=account, sku_ids=[sku.pk for sku in skus])
    candidates = []
    for sku in skus:
        velocity = rates.get(str(sku.pk))
        if velocity is None or velocity.rate_per_hour <= 0:
            continue
        suggestion = reorder_suggestion(sku=sku)
        if suggestion.quantity > 0:
            candidates.append((sku, suggestion))
    return candidates


def po_create_from_suggestions(*, account: Account, sku_ids, actor) -> SuggestedPurchaseOrders:
    """ "One click": draft purchase orders for the chosen SKUs' reorder suggestions, one per supplier.

    Each SKU's quantity is its current suggestion (velocity × (lead time + safety) − available −
    on order), its unit cost the SKU's cost; orders ship to the account's default warehouse. SKUs
    without a supplier, with nothing to order, or not of this account come back in `.skipped`, and
    so do SKUs already on a draft: "on order" counts sent orders only, so without this a second
    click would draft the same units again.
    All orders are created in one transaction: either every supplier gets its draft or none does.
    """
    ids = [str(pk) for pk in dict.fromkeys(sku_ids)]
    skus = list(
        SKU.objects.filter(account=account, pk__in=ids, is_active=True)
        .select_related("supplier")
        .order_by("supplier__name", "seller_sku")
    )
    skipped: list[SkippedSKU] = []
    found = {str(sku.pk) for sku in skus}
    skipped.extend(SkippedSKU(pk, "", "not_found") for pk in ids if pk not in found)
    on_draft = set(
        PurchaseOrderLine.objects.filter(
            sku__in=skus, purchase_order__account=account, purchase_order__status=Status.DRAFT
        ).values_list("sku_id", flat=True)
    )
    skipped.extend(SkippedSKU(str(sku.pk), sku.seller_sku, "on_draft") for sku in skus if sku.pk in on_draft)
    skus = [sku for sku in skus if sku.pk not in on_draft]
    groups = _group_suggestions(skus, skipped=skipped)
    if not groups:
        return SuggestedPurchaseOrders([], skipped)
    warehouse = _default_warehouse(account)
    orders = []
    with transaction.atomic():
        for supplier, lines in groups.items():
            orders.append(
                po_create(account=account, supplier=supplier, warehouse=warehouse, lines=lines, actor=actor)
            )
    return SuggestedPurchaseOrders(orders, skipped)


# --- sending ------------------------------------------------------------------------------------------


def _lock(po: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update(of=("self",)).select_related("supplier").get(pk=po.pk)


def po_send(*, po: PurchaseOrder, actor) -> PurchaseOrder:
    """Mark a draft `sent` and email it to the supplier after commit, with the PDF and CSV attached.

    The email goes through the outbox (task `inventory.send_purchase_order`, key per order), so a
    broker outage delays it rather than losing it, and a rollback sends nothing. Locks the PO row;
    sending an order that is already `sent` does nothing (a double-clicked Send emails once).
    Refused: a supplier without an email address (`supplier_email_missing`), any other status.
    Nests in a caller's transaction (auto-reorder creates and sends in one).
    """
    with transaction.atomic():
        locked = _lock(po)
        if locked.status == Status.SENT:
            return locked
        if locked.status != Status.DRAFT:
            raise PurchaseOrderStateError(
                f"{locked.number} is {locked.get_status_display().lower()}; only a draft can be sent.",
                code="purchase_order_not_draft",
            )
        if not locked.supplier.email:
            raise PurchasingError(
                f"{locked.supplier.name} has no email address. Add one to the supplier, then send again.",
                code="supplier_email_missing",
                fields={"supplier": str(locked.supplier_id)},
            )
        now = timezone.now()
        locked.status = Status.SENT
        locked.sent_at = now
        locked.expected_at = (now + timedelta(days=locked.supplier.lead_time_days)).date()
        locked.save(update_fields=["status", "sent_at", "expected_at"])
        outbox_enqueue(
            task=SEND_TASK,
            kwargs={"purchase_order_id": str(locked.pk)},
            key=f"purchase-order-email:{locked.pk}",
        )
        audit_log(
            actor=actor,
            action="purchase_order.send",
            target=locked,
            changes={"status": [Status.DRAFT, Status.SENT], "email": [None, locked.supplier.email]},
        )
    return locked


def po_email_send(*, purchase_order_id) -> int:
    """Email one sent purchase order to its supplier (PDF + CSV attached). Returns emails sent (0/1).

    Runs in the task, outside any transaction, holding no lock while talking to the mail server.
    Sends nothing for an order cancelled meanwhile or a supplier whose address was removed. The
    outbox runs it at most once at a time and not again once done; an SMTP failure raises
    `PurchaseOrderEmailFailed` and is retried. A worker lost between the server accepting the
    message and the outbox recording it would send it again: at least once, never silently none.
    """
    po = (
        PurchaseOrder.objects.select_related("supplier", "warehouse", "account", "created_by")
        .filter(pk=purchase_order_id)
        .first()
    )
    if po is None or po.status == Status.CANCELLED or po.status == Status.DRAFT:
        return 0
    if not po.supplier.email:
        logger.warning("purchase order %s: supplier %s has no email; not sent", po.number, po.supplier_id)
        return 0
    document = purchase_order_document(po)
    context = {"po": po, "document": document}
    body = render_to_string("inventory/emails/purchase_order.txt", context)
    reply_to = [po.created_by.email] if po.created_by_id and po.created_by.email else []
    message = EmailMessage(
        subject=f"Purchase order {po.number} from {po.account.name}",
        body=body,
        to=[po.supplier.email],
        reply_to=reply_to,
    )
    message.attach(f"{po.number}.pdf", render_purchase_order_pdf(document), "application/pdf")
    message.attach(f"{po.number}.csv", render_purchase_order_csv(document), "text/csv")
    try:
        sent = get_connection().send_messages([message]) or 0
    except OSError as exc:  # smtplib.SMTPException is an OSError
        raise PurchaseOrderEmailFailed(f"Emailing {po.number} failed: {type(exc).__name__}") from exc
    logger.info("purchase order %s emailed to supplier %s", po.number, po.supplier_id)
    return sent


# --- receiving and cancelling -------------------------------------------------------------------------


def _clean_quantities(quantities: dict) -> dict[int, int]:
    cleaned: dict[int, int] = {}
    for line_id, quantity in quantities.items():
        try:
            key, value = int(line_id), int(quantity)
        except (TypeError, ValueError):
            raise PurchasingError(
                "Received quantities must be whole numbers.", code="receipt_quantity_invalid"
            ) from None
        if value < 0:
            raise PurchasingError(
                "Received quantities cannot be negative.",
                code="receipt_quantity_invalid",
                fields={key: value},
            )
        if value:
            cleaned[key] = value
    return cleaned


def po_receive(
    *, po: PurchaseOrder, quantities: dict, actor, seen_received: dict | None = None
) -> PurchaseOrder:
    """Receive all or part of a sent order: `quantities` maps line id → units that arrived now.

    Each quantity becomes stock in the order's warehouse through `stock_receive` (an IN ledger row
    with reference "po:<number>") and adds to the line's received quantity; the order becomes
    `partially_received` or, when every line is complete, `received`. All or nothing: one bad line
    refuses the whole receipt before any stock moves.

    Refused: more than a line still expects (`receipt_over_quantity`: nothing is booked), a line
    not on this order, nothing to receive, a draft/received/cancelled order.

    Double submit: the PO row is locked, so two submissions run one after the other. Passing
    `seen_received` (line id → received quantity the form was showing) makes the second one a
    refusal (`purchase_order_changed`) instead of a second receipt; the receive page does this.
    """
    wanted = _clean_quantities(quantities)
    if not wanted:
        raise PurchasingError("Enter a quantity for at least one line.", code="receipt_empty")
    with transaction.atomic(durable=True):
        locked = _lock(po)
        if locked.status not in RECEIVABLE:
            raise PurchaseOrderStateError(
                f"{locked.number} is {locked.get_status_display().lower()}; "
                "only a sent order can be received.",
                code="purchase_order_not_receivable",
            )
        lines = {line.pk: line for line in locked.lines.select_related("sku").order_by("sku_id", "pk")}
        if seen_received is not None:
            current = {line_id: line.quantity_received for line_id, line in lines.items()}
            shown = {int(k): int(v) for k, v in seen_received.items()}
            if any(current.get(line_id) != value for line_id, value in shown.items()):
                raise PurchaseOrderStateError(
                    f"{locked.number} was received meanwhile (another tab or a double click). "
                    "Check the quantities and try again.",
                    code="purchase_order_changed",
                )
        unknown = [line_id for line_id in wanted if line_id not in lines]
        if unknown:
            raise PurchasingError(
                "Some lines are not on this purchase order.",
                code="receipt_unknown_line",
                fields={"lines": unknown},
            )
        over = {
            lines[line_id].sku.seller_sku: [quantity, lines[line_id].quantity_open]
            for line_id, quantity in wanted.items()
            if quantity > lines[line_id].quantity_open
        }
        if over:
            detail = "; ".join(
                f"{sku}: {got} received, {open_} still expected" for sku, (got, open_) in over.items()
            )
            raise PurchasingError(
                f"More than ordered arrived ({detail}). Receive at most the open quantity; "
                "book extra units as a stock adjustment.",
                code="receipt_over_quantity",
                fields={"over": over},
            )
        received = {}
        for line in lines.values():  # in SKU order: the stock rows are locked in a stable order
            quantity = wanted.get(line.pk)
            if not quantity:
                continue
            stock_receive(
                sku=line.sku,
                warehouse=locked.warehouse,
                quantity=quantity,
                reference=f"po:{locked.number}",
                reason="received",
                actor=actor,
            )
            line.quantity_received += quantity
            line.save(update_fields=["quantity_received"])
            received[line.sku.seller_sku] = quantity
        previous = locked.status
        complete = all(line.quantity_open == 0 for line in lines.values())
        locked.status = Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED
        update = ["status"]
        if complete:
            locked.closed_at = timezone.now()
            update.append("closed_at")
        locked.save(update_fields=update)
        audit_log(
            actor=actor,
            action="purchase_order.receive",
            target=locked,
            changes={"status": [previous, locked.status], "received": [None, received]},
        )
    return locked


def po_cancel(*, po: PurchaseOrder, actor, reason: str = "") -> PurchaseOrder:
    """Cancel a draft, a sent order, or the rest of a partially received one.

    After cancelling nothing more is on order, so reorder suggestions and auto-reorder stop counting
    it. Stock already received is kept (its ledger rows stay); the audit entry records how many units
    were still open. Locks the PO row; cancelling a cancelled order does nothing (double submit).
    Refused for a received order: there is nothing left to cancel. The supplier is not emailed:
    a creator cancelling a sent order tells the supplier themselves.
    """
    with transaction.atomic(durable=True):
        locked = _lock(po)
        if locked.status == Status.CANCELLED:
            return locked
        if locked.status not in CANCELLABLE:
            raise PurchaseOrderStateError(
                f"{locked.number} is already received in full; there is nothing left to cancel.",
                code="purchase_order_not_cancellable",
            )
        open_units = sum(line.quantity_open for line in locked.lines.all())
        previous = locked.status
        locked.status = Status.CANCELLED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        changes = {"status": [previous, Status.CANCELLED], "open_units": [open_units, 0]}
        if reason:
            changes["reason"] = [None, reason[:500]]
        audit_log(actor=actor, action="purchase_order.cancel", target=locked, changes=changes)
    return locked


# --- auto-reorder ---------------------------------------------------------------------------------------


def auto_reorder(*, account: Account) -> list[PurchaseOrder]:
    """Order, without a person, what the creator allowed: create and send one PO per supplier.

    Candidates are the account's active SKUs with `auto_reorder` on, a supplier, a reorder
    suggestion above zero and no line on an open order (draft, sent or partially received): an
    order already on its way is never doubled, and a second run finds the first one's orders open.
    Runs of the same account are serialised by locking the account row for the whole transaction.

    A supplier without an email still gets its draft (visible on the purchase orders page, and it
    keeps the SKU from being ordered again); the creator is notified to add the address and send it.
    The emails go out after commit through the outbox. Returns the orders created.
    """
    drafted_without_email: list[PurchaseOrder] = []
    with transaction.atomic(durable=True):
        Account.objects.select_for_update().only("pk").get(pk=account.pk)
        on_order = PurchaseOrderLine.objects.filter(
            purchase_order__account=account, purchase_order__status__in=OPEN_STATUSES
        ).values("sku_id")
        skus = list(
            SKU.objects.filter(account=account, is_active=True, auto_reorder=True, supplier__isnull=False)
            .exclude(pk__in=on_order)
            .select_related("supplier")
            .order_by("supplier__name", "seller_sku")
        )
        groups = _group_suggestions(skus, skipped=[])
        if not groups:
            return []
        warehouse = _default_warehouse(account)
        orders = []
        for supplier, lines in groups.items():
            po = po_create(
                account=account,
                supplier=supplier,
                warehouse=warehouse,
                lines=lines,
                actor="auto-reorder",
                notes="Created automatically: reorder suggestion with auto-reorder on.",
            )
            if supplier.email:
                po = po_send(po=po, actor="auto-reorder")
            else:
                drafted_without_email.append(po)
            orders.append(po)
        for po in drafted_without_email:
            _notify_unsent(po)
    logger.info("auto-reorder for account %s: %d purchase order(s)", account.pk, len(orders))
    return orders


def _notify_unsent(po: PurchaseOrder) -> None:
    from notifications.facade import Severity, notify

    notify(
        account=po.account,
        kind="purchase_order.unsent",
        severity=Severity.WARNING,
        title=f"Auto-reorder drafted {po.number}, but {po.supplier.name} has no email",
        body="Add the supplier's email address, then send the purchase order.",
        link=reverse("purchasing:detail", args=[po.pk]),
    )


def _is_user(actor) -> bool:
    return bool(
        actor is not None and not isinstance(actor, str) and getattr(actor, "is_authenticated", False)
    )
