"""Purchase orders: numbering, sending (email with PDF + CSV after commit), receiving into stock,
cancelling, suppliers. Real rows and the real outbox/Celery path; nothing of ours is mocked."""

import io
import socket
from decimal import Decimal

import pytest
from django.core import mail
from pypdf import PdfReader

from accounts.tests.factories import AccountFactory, MembershipFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.errors import DomainError
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_run
from inventory.models import InventoryTransaction, PurchaseOrder, StockLevel, TransactionType
from inventory.services import purchasing
from inventory.tests.factories import SupplierFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


@pytest.fixture
def owner():
    return MembershipFactory()


@pytest.fixture
def account(owner):
    return owner.account


@pytest.fixture
def warehouse(account):
    return WarehouseFactory(account=account, is_default=True, code="LA1", name="LA Fulfilment")


@pytest.fixture
def supplier(account):
    return SupplierFactory(account=account, name="Glow Supply Co", email="orders@glowsupply.example.com")


def make_po(account, supplier, warehouse, actor, *quantities, costs=None):
    skus = [stocked_sku(account=account, warehouse=warehouse, on_hand=5) for _ in quantities]
    costs = costs or [Decimal("4.25")] * len(quantities)
    lines = list(zip(skus, quantities, costs, strict=True))
    return purchasing.po_create(
        account=account, supplier=supplier, warehouse=warehouse, lines=lines, actor=actor
    )


def on_hand(sku, warehouse) -> int:
    return StockLevel.objects.get(sku=sku, warehouse=warehouse).on_hand


# --- numbering -------------------------------------------------------------------------------------


def test_purchase_orders_are_numbered_per_account(account, supplier, warehouse, owner):
    # given two orders in this account and one in another account
    first = make_po(account, supplier, warehouse, owner.user, 10)
    second = make_po(account, supplier, warehouse, owner.user, 3)
    other_account = AccountFactory()
    other = make_po(
        other_account,
        SupplierFactory(account=other_account),
        WarehouseFactory(account=other_account, is_default=True),
        "system",
        4,
    )

    # then each account counts from PO-00001 and the new order is a draft of the owner
    assert (first.number, second.number) == ("PO-00001", "PO-00002")
    assert other.number == "PO-00001"
    assert first.status == Status.DRAFT and first.created_by == owner.user
    # and the creation is in the audit log
    assert AuditLogEntry.objects.filter(
        action="purchase_order.create", target_object_id=str(first.pk)
    ).exists()


def test_numbering_continues_past_99999(account, supplier, warehouse, owner):
    # given an account whose last order is PO-99999 (and an older PO-00007)
    make_po(account, supplier, warehouse, owner.user, 1)
    PurchaseOrder.objects.filter(account=account).update(number="PO-99999")
    older = make_po(account, supplier, warehouse, owner.user, 1)
    PurchaseOrder.objects.filter(pk=older.pk).update(number="PO-00007")

    # when another order is created
    po = make_po(account, supplier, warehouse, owner.user, 1)

    # then it follows the highest number, not the alphabetically last one
    assert po.number == "PO-100000"


def test_create_refuses_bad_lines(account, supplier, warehouse, owner):
    # given a SKU of this account and one of another account
    sku = stocked_sku(account=account, warehouse=warehouse)
    foreign = stocked_sku()

    # then empty orders, zero quantities, duplicates and foreign SKUs are refused with a code
    cases = [
        ([], "purchase_order_empty"),
        ([(sku, 0, None)], "purchase_order_quantity_invalid"),
        ([(sku, 2, None), (sku, 3, None)], "purchase_order_duplicate_sku"),
        ([(foreign, 2, None)], "sku_not_found"),
        ([(sku, 2, Decimal("-1"))], "purchase_order_cost_invalid"),
    ]
    for lines, code in cases:
        with pytest.raises(DomainError) as refused:
            purchasing.po_create(
                account=account, supplier=supplier, warehouse=warehouse, lines=lines, actor=owner.user
            )
        assert refused.value.code == code
    # and a foreign supplier too
    with pytest.raises(DomainError) as refused:
        purchasing.po_create(
            account=account,
            supplier=SupplierFactory(),
            warehouse=warehouse,
            lines=[(sku, 1, None)],
            actor=owner.user,
        )
    assert refused.value.code == "supplier_not_found"
    assert not PurchaseOrder.objects.exists()


def test_a_missing_unit_cost_takes_the_skus_cost(account, supplier, warehouse, owner):
    # given a SKU costing 6.50
    sku = stocked_sku(account=account, warehouse=warehouse, cost=Decimal("6.50"))
    # when it is ordered without a unit cost
    po = purchasing.po_create(
        account=account, supplier=supplier, warehouse=warehouse, lines=[(sku, 4, None)], actor=owner.user
    )
    # then the line costs 6.50 each
    assert po.lines.get().unit_cost == Decimal("6.50")


# --- sending ---------------------------------------------------------------------------------------


def test_send_emails_the_supplier_after_commit_with_pdf_and_csv(
    account, supplier, warehouse, owner, celery_eager, django_capture_on_commit_callbacks
):
    # given a draft with two lines
    po = make_po(account, supplier, warehouse, owner.user, 10, 5, costs=[Decimal("4.25"), Decimal("12.00")])

    # when the owner sends it
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = purchasing.po_send(po=po, actor=owner.user)
        # then nothing is emailed before the transaction commits
        assert mail.outbox == []
    for callback in callbacks:
        callback()

    # then the order is sent, and the supplier has one email with the order attached twice
    assert sent.status == Status.SENT and sent.sent_at is not None and sent.expected_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["orders@glowsupply.example.com"]
    assert message.reply_to == [owner.user.email]
    assert "PO-00001" in message.subject and account.name in message.subject
    assert "Total: 102.50 USD" in message.body
    attachments = {name: (content, mimetype) for name, content, mimetype in message.attachments}
    assert set(attachments) == {"PO-00001.pdf", "PO-00001.csv"}
    pdf, pdf_type = attachments["PO-00001.pdf"]
    assert pdf_type == "application/pdf" and pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "PO-00001" in text and "Glow Supply Co" in text and "102.50 USD" in text
    csv_content, csv_type = attachments["PO-00001.csv"]
    assert csv_type == "text/csv"
    csv_text = csv_content.decode() if isinstance(csv_content, bytes) else csv_content
    assert csv_text.count("\r\n") == 3 and "PO-00001" in csv_text
    # and the email went through the outbox, which recorded it done
    assert OutboxMessage.objects.get(key=f"purchase-order-email:{po.pk}").status == "done"


def test_sending_twice_emails_once(
    account, supplier, warehouse, owner, celery_eager, django_capture_on_commit_callbacks
):
    # given a draft
    po = make_po(account, supplier, warehouse, owner.user, 3)

    # when Send is submitted twice
    with django_capture_on_commit_callbacks(execute=True):
        purchasing.po_send(po=po, actor=owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        purchasing.po_send(po=po, actor=owner.user)

    # then one email, one audit entry
    assert len(mail.outbox) == 1
    assert AuditLogEntry.objects.filter(action="purchase_order.send").count() == 1


def test_a_supplier_without_email_cannot_be_sent_to(
    account, warehouse, owner, django_capture_on_commit_callbacks
):
    # given a draft for a supplier without an email address
    po = make_po(account, SupplierFactory(account=account, email=""), warehouse, owner.user, 3)

    # when it is sent
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError) as refused:
        purchasing.po_send(po=po, actor=owner.user)

    # then it is refused clearly, and stays a draft with nothing queued
    assert refused.value.code == "supplier_email_missing"
    assert "has no email address" in refused.value.message
    po.refresh_from_db()
    assert po.status == Status.DRAFT
    assert not OutboxMessage.objects.exists()


def test_a_cancelled_order_is_not_emailed_even_if_its_task_runs_late(
    account, supplier, warehouse, owner, celery_eager, django_capture_on_commit_callbacks
):
    # given a sent order whose email has not gone out yet
    po = make_po(account, supplier, warehouse, owner.user, 3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        purchasing.po_send(po=po, actor=owner.user)
    # when it is cancelled before the task runs
    purchasing.po_cancel(po=po, actor=owner.user)
    for callback in callbacks:
        callback()
    # then the supplier gets nothing
    assert mail.outbox == []


# --- receiving -------------------------------------------------------------------------------------


def sent_po(account, supplier, warehouse, actor, *quantities):
    po = make_po(account, supplier, warehouse, actor, *quantities)
    return purchasing.po_send(po=po, actor=actor)


def test_partial_then_full_receipt_adds_stock_with_ledger_rows(account, supplier, warehouse, owner):
    # given a sent order for 10 + 4 units of two SKUs that each have 5 on hand
    po = sent_po(account, supplier, warehouse, owner.user, 10, 4)
    first, second = po.lines.order_by("pk")

    # when 6 of the first arrive
    po = purchasing.po_receive(po=po, quantities={first.pk: 6}, actor=owner.user)

    # then the order is partially received and the stock is up by 6, with an IN row naming the order
    assert po.status == Status.PARTIALLY_RECEIVED and po.closed_at is None
    assert on_hand(first.sku, warehouse) == 11
    row = InventoryTransaction.objects.get(sku=first.sku)
    assert (row.type, row.quantity, row.previous_level, row.new_level) == (TransactionType.IN, 6, 5, 11)
    assert row.reference == "po:PO-00001" and row.actor == owner.user

    # when the rest arrives (form values as strings, and a zero for nothing)
    po = purchasing.po_receive(po=po, quantities={str(first.pk): "4", str(second.pk): "4"}, actor=owner.user)

    # then the order is received and closed, and each line is complete
    assert po.status == Status.RECEIVED and po.closed_at is not None
    assert on_hand(first.sku, warehouse) == 15 and on_hand(second.sku, warehouse) == 9
    assert [line.quantity_open for line in po.lines.all()] == [0, 0]
    assert InventoryTransaction.objects.filter(reference="po:PO-00001", type=TransactionType.IN).count() == 3
    assert AuditLogEntry.objects.filter(action="purchase_order.receive").count() == 2


def test_over_receipt_is_refused_and_nothing_is_booked(account, supplier, warehouse, owner):
    # given a sent order of 10 + 4, of which 8 of the first already arrived
    po = sent_po(account, supplier, warehouse, owner.user, 10, 4)
    first, second = po.lines.order_by("pk")
    purchasing.po_receive(po=po, quantities={first.pk: 8}, actor=owner.user)

    # when 3 more of the first (one too many) and 4 of the second are entered
    with pytest.raises(DomainError) as refused:
        purchasing.po_receive(po=po, quantities={first.pk: 3, second.pk: 4}, actor=owner.user)

    # then the whole receipt is refused with the line's open quantity, and no stock moved
    assert refused.value.code == "receipt_over_quantity"
    assert "3 received, 2 still expected" in refused.value.message
    assert on_hand(first.sku, warehouse) == 13 and on_hand(second.sku, warehouse) == 5
    assert InventoryTransaction.objects.filter(reference="po:PO-00001").count() == 1


def test_a_double_submitted_receipt_is_booked_once(account, supplier, warehouse, owner):
    # given a sent order of 10, and the receive form showing 0 received
    po = sent_po(account, supplier, warehouse, owner.user, 10)
    line = po.lines.get()
    form = {"quantities": {line.pk: 5}, "seen_received": {line.pk: 0}}

    # when the same form is submitted twice
    purchasing.po_receive(po=po, actor=owner.user, **form)
    with pytest.raises(DomainError) as refused:
        purchasing.po_receive(po=po, actor=owner.user, **form)

    # then 5 units were booked, not 10
    assert refused.value.code == "purchase_order_changed"
    assert on_hand(line.sku, warehouse) == 10
    line.refresh_from_db()
    assert line.quantity_received == 5


def test_receiving_needs_a_sent_order_and_a_quantity(account, supplier, warehouse, owner):
    # given a draft and a sent order
    draft = make_po(account, supplier, warehouse, owner.user, 5)
    sent = sent_po(account, supplier, warehouse, owner.user, 5)
    other = sent_po(account, supplier, warehouse, owner.user, 5)

    # then the draft cannot be received, nor nothing, nor another order's line
    cases = [
        (draft, {draft.lines.get().pk: 1}, "purchase_order_not_receivable"),
        (sent, {sent.lines.get().pk: 0}, "receipt_empty"),
        (sent, {other.lines.get().pk: 1}, "receipt_unknown_line"),
        (sent, {sent.lines.get().pk: -1}, "receipt_quantity_invalid"),
    ]
    for po, quantities, code in cases:
        with pytest.raises(DomainError) as refused:
            purchasing.po_receive(po=po, quantities=quantities, actor=owner.user)
        assert refused.value.code == code
    assert not InventoryTransaction.objects.exists()


# --- cancelling ------------------------------------------------------------------------------------


def test_cancel_rules(account, supplier, warehouse, owner):
    # given a draft, a sent, a partially received and a received order
    draft = make_po(account, supplier, warehouse, owner.user, 5)
    sent = sent_po(account, supplier, warehouse, owner.user, 5)
    partial = sent_po(account, supplier, warehouse, owner.user, 5)
    purchasing.po_receive(po=partial, quantities={partial.lines.get().pk: 2}, actor=owner.user)
    received = sent_po(account, supplier, warehouse, owner.user, 5)
    purchasing.po_receive(po=received, quantities={received.lines.get().pk: 5}, actor=owner.user)

    # when each is cancelled
    for po in (draft, sent, partial):
        assert purchasing.po_cancel(po=po, actor=owner.user).status == Status.CANCELLED
    with pytest.raises(DomainError) as refused:
        purchasing.po_cancel(po=received, actor=owner.user)

    # then draft, sent and the rest of the partial one are cancelled; the received one is refused
    assert refused.value.code == "purchase_order_not_cancellable"
    received.refresh_from_db()
    assert received.status == Status.RECEIVED
    # and the stock already received from the partial order stays, with its ledger row
    assert on_hand(partial.lines.get().sku, warehouse) == 7
    assert InventoryTransaction.objects.filter(reference=f"po:{partial.number}").count() == 1
    entry = AuditLogEntry.objects.get(action="purchase_order.cancel", target_object_id=str(partial.pk))
    assert entry.changes["open_units"] == [3, 0]
    # and cancelling again is a no-op, receiving a cancelled order is refused
    assert purchasing.po_cancel(po=draft, actor=owner.user).status == Status.CANCELLED
    with pytest.raises(DomainError) as refused:
        purchasing.po_receive(po=sent, quantities={sent.lines.get().pk: 1}, actor=owner.user)
    assert refused.value.code == "purchase_order_not_receivable"


# --- suppliers -------------------------------------------------------------------------------------


def test_supplier_create_and_update_are_validated_and_audited(account, owner):
    # when a supplier is created and then edited
    supplier = purchasing.supplier_create(account=account, actor=owner.user, name="  Pack Co ", email="")
    supplier = purchasing.supplier_update(
        supplier=supplier, actor=owner.user, email="hi@pack.example.com", lead_time_days=12
    )

    # then it is stored trimmed and the change is audited field by field
    assert (supplier.name, supplier.email, supplier.lead_time_days) == ("Pack Co", "hi@pack.example.com", 12)
    update = AuditLogEntry.objects.get(action="supplier.update")
    assert update.changes == {"email": ["", "hi@pack.example.com"], "lead_time_days": [7, 12]}
    # and bad input is refused with a code
    for changes, code in [
        ({"name": " "}, "supplier_name_required"),
        ({"email": "not-an-address"}, "supplier_email_invalid"),
        ({"lead_time_days": 400}, "supplier_lead_time_invalid"),
    ]:
        with pytest.raises(DomainError) as refused:
            purchasing.supplier_update(supplier=supplier, actor=owner.user, **changes)
        assert refused.value.code == code


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_mail_server_leaves_the_email_to_retry(
    account, supplier, warehouse, owner, settings, django_capture_on_commit_callbacks
):
    # given a mail server that is not there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    po = make_po(account, supplier, warehouse, owner.user, 3)

    # when the order is sent, and a worker runs the queued email (in process)
    with django_capture_on_commit_callbacks(execute=False):
        sent = purchasing.po_send(po=po, actor=owner.user)
    message = OutboxMessage.objects.get(key=f"purchase-order-email:{po.pk}")
    result = outbox_run(message_id=message.pk)

    # then the order stays sent (the creator's click succeeded) and the email is due for a retry
    assert sent.status == Status.SENT
    assert result.outcome == "failed" and result.retry_in > 0
    message.refresh_from_db()
    assert message.attempts == 1 and "PurchaseOrderEmailFailed" in message.last_error
    assert mail.outbox == []
