"""Supplier and purchase order pages: render, act, stay in their account, CSRF, viewers read only."""

import io
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from accounts.tenancy import SESSION_ACCOUNT_KEY
from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from creatorflow.core.testing_celery import relay_pass
from inventory.models import InventoryTransaction, PurchaseOrder, Reservation, StockLevel, Supplier
from inventory.services import purchasing
from inventory.tests.factories import SupplierFactory, WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status
HTMX = {"HX-Request": "true"}


@pytest.fixture
def owner():
    return MembershipFactory(account__name="Glow Labs")


@pytest.fixture
def warehouse(owner):
    return WarehouseFactory(account=owner.account, is_default=True, code="LA1")


@pytest.fixture
def supplier(owner):
    return SupplierFactory(
        account=owner.account, name="Glow Supply Co", email="orders@glowsupply.example.com"
    )


def draft(owner, supplier, warehouse, *quantities):
    lines = [
        (stocked_sku(account=owner.account, warehouse=warehouse, on_hand=5), q, None) for q in quantities
    ]
    return purchasing.po_create(
        account=owner.account, supplier=supplier, warehouse=warehouse, lines=lines, actor=owner.user
    )


def flash(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


# --- suppliers -------------------------------------------------------------------------------------


def test_a_member_adds_and_edits_a_supplier(owner):
    client = client_for(owner)

    # when the member adds a supplier through the form
    response = client.post(
        "/inventory/suppliers/new/",
        {"name": "Pack Co", "email": "hi@pack.example.com", "lead_time_days": "12", "notes": ""},
    )

    # then it is listed
    assert response.status_code == 302 and response["Location"] == "/inventory/suppliers/"
    supplier = Supplier.objects.get(account=owner.account)
    html = client.get("/inventory/suppliers/").content.decode()
    assert "Pack Co" in html and "12 days" in html and "hi@pack.example.com" in html

    # when they change its lead time, and then submit a bad email
    client.post(
        f"/inventory/suppliers/{supplier.pk}/edit/",
        {"name": "Pack Co", "email": "hi@pack.example.com", "lead_time_days": "9"},
    )
    bad = client.post(
        f"/inventory/suppliers/{supplier.pk}/edit/",
        {"name": "Pack Co", "email": "nope", "lead_time_days": "9"},
    )

    # then the first is saved and the second is shown back with the error
    supplier.refresh_from_db()
    assert supplier.lead_time_days == 9 and supplier.email == "hi@pack.example.com"
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()


def test_a_viewer_reads_but_cannot_change(owner, supplier, warehouse):
    # given a viewer of the account and a draft order
    viewer = MembershipFactory(account=owner.account, role="viewer")
    po = draft(owner, supplier, warehouse, 5)
    client = client_for(viewer)

    # then the pages render without the buttons that change things
    suppliers = client.get("/inventory/suppliers/").content.decode()
    detail = client.get(f"/inventory/purchase-orders/{po.pk}/").content.decode()
    assert "Glow Supply Co" in suppliers and "New supplier" not in suppliers
    assert "PO-00001" in detail and "Send to" not in detail and "Cancel order" not in detail

    # and posting anyway is forbidden and changes nothing
    for url, data in [
        ("/inventory/suppliers/new/", {"name": "X", "lead_time_days": "3"}),
        (f"/inventory/purchase-orders/{po.pk}/send/", {}),
        (f"/inventory/purchase-orders/{po.pk}/cancel/", {}),
        ("/inventory/purchase-orders/suggest/", {"sku": [str(po.lines.get().sku_id)]}),
    ]:
        assert client.post(url, data).status_code == 403, url
    po.refresh_from_db()
    assert po.status == Status.DRAFT and Supplier.objects.count() == 1


# --- purchase order pages ----------------------------------------------------------------------------


def test_the_list_filters_by_status_and_serves_htmx_a_fragment(owner, supplier, warehouse):
    # given a draft and a sent order, and another account's order
    draft(owner, supplier, warehouse, 5)
    purchasing.po_send(po=draft(owner, supplier, warehouse, 3), actor=owner.user)
    other = MembershipFactory()
    draft(other, SupplierFactory(account=other.account), WarehouseFactory(account=other.account), 1)
    client = client_for(owner)

    # when the list is opened, then filtered to sent orders through htmx
    page = client.get("/inventory/purchase-orders/").content.decode()
    sent = client.get("/inventory/purchase-orders/?status=sent", headers=HTMX).content.decode()

    # then all of this account's orders show, and the fragment has only the sent one
    assert page.count('<tr id="po-') == 2 and "PO-00001" in page and "PO-00002" in page
    assert "<html" not in sent and "PO-00002" in sent and "PO-00001" not in sent
    # an unknown status is ignored rather than an error
    assert client.get("/inventory/purchase-orders/?status=bogus").status_code == 200


def test_the_list_costs_the_same_queries_for_more_orders(owner, supplier, warehouse):
    # given 2 orders, then 12
    client = client_for(owner)
    for _ in range(2):
        draft(owner, supplier, warehouse, 2, 3)
    client.get("/inventory/purchase-orders/")  # warm up session and content types
    with CaptureQueriesContext(connection) as few:
        client.get("/inventory/purchase-orders/")
    for _ in range(10):
        draft(owner, supplier, warehouse, 2, 3)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/inventory/purchase-orders/")
    # then the number of queries does not grow with the rows
    assert response.content.decode().count('<tr id="po-') == 12
    assert len(many) == len(few)


def test_a_member_creates_an_order_by_hand(owner, supplier, warehouse):
    # given two SKUs
    cream = stocked_sku(account=owner.account, warehouse=warehouse, seller_sku="GL-CC", cost=Decimal("3.00"))
    oil = stocked_sku(account=owner.account, warehouse=warehouse, seller_sku="GL-LO")
    client = client_for(owner)
    assert "Create draft" in client.get("/inventory/purchase-orders/new/").content.decode()

    # when the form is posted with two filled rows and three empty ones
    data = {
        "supplier": supplier.pk,
        "warehouse": warehouse.pk,
        "notes": "Rush",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": cream.pk,
        "lines-0-quantity": "40",
        "lines-1-sku": oil.pk,
        "lines-1-quantity": "12",
        "lines-1-unit_cost": "1.25",
    }
    response = client.post("/inventory/purchase-orders/new/", data)

    # then a draft exists with those lines and the member is taken to it
    po = PurchaseOrder.objects.get(account=owner.account)
    assert response.status_code == 302 and response["Location"] == f"/inventory/purchase-orders/{po.pk}/"
    lines = {line.sku.seller_sku: (line.quantity_ordered, line.unit_cost) for line in po.lines.all()}
    assert lines == {"GL-CC": (40, Decimal("3.00")), "GL-LO": (12, Decimal("1.25"))}


def test_the_order_form_offers_only_this_accounts_rows(owner, supplier, warehouse):
    # given another account's supplier and SKU
    foreign_sku = stocked_sku()
    foreign_supplier = SupplierFactory()
    data = {
        "supplier": foreign_supplier.pk,
        "warehouse": warehouse.pk,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": foreign_sku.pk,
        "lines-0-quantity": "4",
    }
    # when they are posted by hand
    response = client_for(owner).post("/inventory/purchase-orders/new/", data)
    # then the form refuses them and nothing is created
    assert response.status_code == 200
    assert response.content.decode().count("Select a valid choice") == 2
    assert not PurchaseOrder.objects.exists()


def test_the_suggestions_page_lists_needs_and_creates_orders(owner, supplier, warehouse):
    # given a SKU that sells 10 a day with 20 available, and one without a supplier
    def selling(seller_sku, sku_supplier):
        sku = stocked_sku(
            account=owner.account,
            warehouse=warehouse,
            on_hand=20,
            seller_sku=seller_sku,
            supplier=sku_supplier,
        )
        Reservation.objects.create(
            account=owner.account,
            sku=sku,
            warehouse=warehouse,
            order_ref=f"order:{uuid.uuid4()}",
            quantity=100,
            status=Reservation.Status.RELEASED,
            created_at=timezone.now() - timedelta(days=10),
        )
        return sku

    cream, orphan = selling("GL-CC", supplier), selling("GL-XX", None)
    client = client_for(owner)

    # when the page is opened
    html = client.get("/inventory/purchase-orders/suggest/").content.decode()

    # then both show with their quantity and confidence; only the one with a supplier is pre-ticked
    row = re.search(rf'<tr id="suggest-{cream.pk}">.*?</tr>', html, re.S).group(0)
    assert "<strong>120</strong>" in row and "%" in row and "checked" in row
    orphan_row = re.search(rf'<tr id="suggest-{orphan.pk}">.*?</tr>', html, re.S).group(0)
    assert "No supplier" in orphan_row and "checked" not in orphan_row

    # when both are ticked and "Create purchase orders" is pressed
    response = client.post("/inventory/purchase-orders/suggest/", {"sku": [cream.pk, orphan.pk]}, follow=True)

    # then one draft was created and opened, and the orphan is reported back
    po = PurchaseOrder.objects.get(account=owner.account)
    assert response.redirect_chain[-1][0] == f"/inventory/purchase-orders/{po.pk}/"
    text = response.content.decode()
    assert "Created draft purchase order PO-00001 (Glow Supply Co)" in text
    assert "GL-XX (no supplier)" in text


def test_send_receive_and_download_from_the_detail_page(
    owner, supplier, warehouse, celery_eager, django_capture_on_commit_callbacks
):
    # given a draft of 10 units of a SKU with 5 on hand
    po = draft(owner, supplier, warehouse, 10)
    line = po.lines.get()
    client = client_for(owner)
    assert "Send to Glow Supply Co" in client.get(f"/inventory/purchase-orders/{po.pk}/").content.decode()

    # when the member sends it
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/inventory/purchase-orders/{po.pk}/send/", follow=True)

    # then it is sent, and once the relay has sent its email task (the request only stored it),
    # the supplier has the email
    assert "sent to orders@glowsupply.example.com" in sent.content.decode()
    relay_pass()
    assert len(mail.outbox) == 1
    po.refresh_from_db()
    assert po.status == Status.SENT

    # when 4 arrive (htmx), then 7 more (too many), then the last 6
    url = f"/inventory/purchase-orders/{po.pk}/receive/"
    first = client.post(url, {f"qty-{line.pk}": "4", f"seen-{line.pk}": "0"}, headers=HTMX)
    over = client.post(url, {f"qty-{line.pk}": "7", f"seen-{line.pk}": "4"}, headers=HTMX)
    rest = client.post(url, {f"qty-{line.pk}": "6", f"seen-{line.pk}": "4"})

    # then the fragment reports each outcome, the over-receipt books nothing, the stock is up 10
    assert "<html" not in first.content.decode() and "partially received" in first.content.decode()
    over_html = over.content.decode()
    assert "7 received, 6 still expected" in over_html and 'value="7"' in over_html
    assert rest.status_code == 302 and "received" in flash(rest)
    po.refresh_from_db()
    assert po.status == Status.RECEIVED
    assert StockLevel.objects.get(sku=line.sku, warehouse=warehouse).on_hand == 15
    assert InventoryTransaction.objects.filter(reference="po:PO-00001").count() == 2

    # and the PDF and CSV download with the order's number
    pdf = client.get(f"/inventory/purchase-orders/{po.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'attachment; filename="PO-00001.pdf"'
    assert "PO-00001" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    csv = client.get(f"/inventory/purchase-orders/{po.pk}/csv/")
    assert csv["Content-Disposition"] == 'attachment; filename="PO-00001.csv"'
    assert csv.content.decode().splitlines()[1].startswith(f"PO-00001,{line.sku.seller_sku},")


def test_refusals_show_as_messages(owner, warehouse):
    # given a draft for a supplier without an email address
    po = draft(owner, SupplierFactory(account=owner.account, email=""), warehouse, 3)
    client = client_for(owner)

    # when it is sent (without htmx)
    response = client.post(f"/inventory/purchase-orders/{po.pk}/send/")

    # then the member is told why, and it stays a draft
    assert response.status_code == 302 and "has no email address" in flash(response)
    po.refresh_from_db()
    assert po.status == Status.DRAFT

    # when it is cancelled through htmx, then the fragment shows it cancelled
    cancelled = client.post(f"/inventory/purchase-orders/{po.pk}/cancel/", headers=HTMX).content.decode()
    assert "cancelled" in cancelled and 'data-status="cancelled"' in cancelled


# --- CSRF and tenancy ------------------------------------------------------------------------------


def test_posts_need_a_csrf_token(owner, supplier, warehouse):
    # given a browser session without the CSRF token
    po = draft(owner, supplier, warehouse, 3)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_ACCOUNT_KEY] = str(owner.account.pk)
    session.save()

    # then every action is refused
    for path in ("send/", "cancel/", "receive/"):
        assert client.post(f"/inventory/purchase-orders/{po.pk}/{path}").status_code == 403
    assert client.post("/inventory/suppliers/new/", {"name": "X", "lead_time_days": "1"}).status_code == 403
    po.refresh_from_db()
    assert po.status == Status.DRAFT


@pytest.mark.parametrize("path", ["", "pdf/", "csv/"])
def test_another_account_cannot_see_an_order(owner, supplier, warehouse, path):
    po = draft(owner, supplier, warehouse, 3)
    assert_other_account_gets_404(f"/inventory/purchase-orders/{po.pk}/{path}", owner=owner)


@pytest.mark.parametrize("path", ["send/", "cancel/"])
def test_another_account_cannot_act_on_an_order(owner, supplier, warehouse, path):
    po = draft(owner, supplier, warehouse, 3)
    assert_other_account_gets_404(f"/inventory/purchase-orders/{po.pk}/{path}", owner=owner, method="post")


def test_another_account_cannot_receive_an_order(owner, supplier, warehouse):
    po = purchasing.po_send(po=draft(owner, supplier, warehouse, 3), actor=owner.user)
    line = po.lines.get()
    assert_other_account_gets_404(
        f"/inventory/purchase-orders/{po.pk}/receive/",
        owner=owner,
        method="post",
        data={f"qty-{line.pk}": "1", f"seen-{line.pk}": "0"},
    )
    assert StockLevel.objects.get(sku=line.sku).on_hand == 6  # only the owner's receipt


def test_another_account_cannot_edit_a_supplier(owner, supplier):
    assert_other_account_gets_404(f"/inventory/suppliers/{supplier.pk}/edit/", owner=owner)
