"""The shipments list (filters, search, paging, empty states), the label and packing slip
downloads, the order page's label panel; sign-in and tenancy."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from orders.tests.factories import OrderFactory, OrderItemFactory
from shipping.models import Shipment, ShipmentStatus
from shipping.services.settings import carrier_account_create

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "rows"}
PDF_BYTES = b"%PDF-1.4\n% a test label\n%%EOF\n"
ZPL_BYTES = b"^XA^FO50,50^ADN,36,20^FDTEST^FS^XZ"


@pytest.fixture
def member():
    return MembershipFactory(role="member")


def shipment_of(account, *, order_id="", label: bytes | None = None, label_format="pdf", **fields):
    order = OrderFactory(shop__account=account, **({"tiktok_order_id": order_id} if order_id else {}))
    values = {
        "status": ShipmentStatus.PURCHASED,
        "provider": "sandbox",
        "carrier": "USPS",
        "service": "Ground Advantage",
        "rate_amount": Decimal("4.85"),
        "label_format": label_format,
    }
    values.update(fields)
    shipment = Shipment.objects.create(account=account, order=order, **values)
    if label is not None:
        shipment.label_file.save(f"{shipment.pk}.{label_format}", ContentFile(label), save=True)
    return shipment


def orders_in(html: str) -> list[str]:
    return re.findall(r'<td class="ship-order"><a href="[^"]+">([^<]+)</a>', html)


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_each_shipment_with_its_order_carrier_rate_status_tracking_and_label(member):
    # given
    shipped = shipment_of(
        member.account,
        order_id="577001",
        status=ShipmentStatus.IN_TRANSIT,
        tracking_number="9400100000000000000001",
        tracking_url="https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000001",
        label=PDF_BYTES,
    )
    shipment_of(
        member.account,
        order_id="577002",
        status=ShipmentStatus.PENDING,
        carrier="",
        service="",
        rate_amount=0,
    )
    shipment_of(MembershipFactory().account, order_id="NOT-YOURS")

    # when
    html = client_for(member).get("/shipping/").content.decode()

    # then
    assert orders_in(html) == ["577002", "577001"]
    assert "NOT-YOURS" not in html
    assert f'href="/orders/{shipped.order_id}/"' in html
    assert "USPS" in html and "Ground Advantage" in html and "4.85 USD" in html
    assert "In transit" in html and "Buying label" in html
    assert (
        '<a href="https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000001" target="_blank"'
        in html
    )
    assert f'href="/shipping/shipments/{shipped.pk}/label/"' in html
    assert html.count("/label/") == 1


def test_the_list_filters_by_status_and_carrier_and_searches_tracking_and_order_ids(member):
    # given
    account = member.account
    shipment_of(
        account, order_id="A1", carrier="USPS", status=ShipmentStatus.DELIVERED, tracking_number="9400AAA"
    )
    shipment_of(
        account, order_id="B2", carrier="UPS", status=ShipmentStatus.DELIVERED, tracking_number="1Z999BBB"
    )
    shipment_of(
        account, order_id="C3", carrier="UPS", status=ShipmentStatus.IN_TRANSIT, tracking_number="1Z999CCC"
    )
    client = client_for(member)

    def shown(query: str) -> list[str]:
        return sorted(orders_in(client.get(f"/shipping/{query}").content.decode()))

    # then
    assert shown("?status=delivered") == ["A1", "B2"]
    assert shown("?carrier=ups") == ["B2", "C3"]
    assert shown("?carrier=UPS&status=delivered") == ["B2"]
    assert shown("?q=1Z999") == ["B2", "C3"]
    assert shown("?q=9400AAA") == ["A1"]
    assert shown("?q=C3") == ["C3"]
    assert shown("?status=not-a-status") == ["A1", "B2", "C3"]
    # and the carrier filter offers the carriers used
    html = client.get("/shipping/").content.decode()
    assert '<option value="UPS">UPS</option>' in html and '<option value="USPS">USPS</option>' in html
    # and nothing matching says so
    assert "No shipment matches" in client.get("/shipping/?q=nothing-like-it").content.decode()


def test_htmx_gets_only_the_rows(member):
    shipment_of(member.account, order_id="X9")
    response = client_for(member).get("/shipping/?q=X9", headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="rows"') and "<html" not in html
    assert orders_in(html) == ["X9"]


def test_the_list_pages_by_25_keeping_the_filters(member):
    # given 30 delivered shipments, newest last
    base = timezone.now()
    for n in range(30):
        shipment_of(
            member.account,
            order_id=f"P{n:02d}",
            status=ShipmentStatus.DELIVERED,
            created_at=base - timedelta(minutes=30 - n),
        )
    shipment_of(member.account, order_id="OTHER", status=ShipmentStatus.IN_TRANSIT)
    client = client_for(member)

    # when
    first = client.get("/shipping/?status=delivered").content.decode()
    second = client.get("/shipping/?status=delivered&page=2").content.decode()

    # then
    assert orders_in(first) == [f"P{n:02d}" for n in range(29, 4, -1)]
    assert orders_in(second) == [f"P{n:02d}" for n in range(4, -1, -1)]
    assert "Page 1 of 2 · 30 shipments" in first
    assert 'href="?status=delivered&amp;page=2"' in first


def test_the_list_costs_the_same_queries_for_5_or_25_rows(member):
    client = client_for(member)
    for _ in range(5):
        shipment_of(member.account, tracking_number="T", tracking_url="https://example.com/t")
    with CaptureQueriesContext(connection) as few:
        client.get("/shipping/")
    for _ in range(20):
        shipment_of(member.account, tracking_number="T", tracking_url="https://example.com/t")
    with CaptureQueriesContext(connection) as many:
        client.get("/shipping/")
    assert len(many) == len(few)


def test_the_empty_page_asks_for_a_carrier_account_then_says_labels_come(member):
    client = client_for(member)
    # given no carrier account
    html = client.get("/shipping/").content.decode()
    assert "Add a carrier account" in html and 'href="/shipping/settings/"' in html
    assert 'href="/shipping/" aria-current="page"' in html
    # given one
    carrier_account_create(account=member.account, actor=None, provider="sandbox", name="Sandbox")
    html = client.get("/shipping/").content.decode()
    assert "Add a carrier account" not in html and "Labels appear here" in html


def test_the_list_needs_sign_in():
    response = Client().get("/shipping/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- downloads -----------------------------------------------------------------------------------


def test_a_pdf_label_opens_inline(member):
    shipment = shipment_of(member.account, tracking_number="9400 111/..", label=PDF_BYTES)
    response = client_for(member).get(f"/shipping/shipments/{shipment.pk}/label/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="label-9400111.pdf"'
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_a_zpl_label_downloads_as_text(member):
    shipment = shipment_of(member.account, tracking_number="1Z1", label=ZPL_BYTES, label_format="zpl")
    response = client_for(member).get(f"/shipping/shipments/{shipment.pk}/label/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"] == 'attachment; filename="label-1Z1.zpl"'
    assert b"".join(response.streaming_content) == ZPL_BYTES


def test_a_shipment_without_a_label_file_is_404(member):
    shipment = shipment_of(member.account, status=ShipmentStatus.PENDING)
    assert client_for(member).get(f"/shipping/shipments/{shipment.pk}/label/").status_code == 404


def test_the_label_of_another_account_is_404(member):
    shipment = shipment_of(member.account, label=PDF_BYTES)
    assert_other_account_gets_404(f"/shipping/shipments/{shipment.pk}/label/", owner=member)


def test_the_packing_slip_is_a_pdf_of_the_order(member):
    from pypdf import PdfReader

    # given
    order = OrderFactory(
        shop__account=member.account, tiktok_order_id="577123456", buyer_message="Gift wrap please"
    )
    OrderItemFactory(order=order, seller_sku="GLOW-50", product_name="Glow serum", quantity=2)

    # when
    response = client_for(member).get(f"/shipping/orders/{order.pk}/packing-slip.pdf")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="packing-slip-577123456.pdf"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "577123456" in text and "GLOW-50" in text


def test_the_packing_slip_of_another_account_is_404(member):
    order = OrderFactory(shop__account=member.account)
    assert_other_account_gets_404(f"/shipping/orders/{order.pk}/packing-slip.pdf", owner=member)


def test_downloads_need_sign_in(member):
    shipment = shipment_of(member.account, label=PDF_BYTES)
    for url in (
        f"/shipping/shipments/{shipment.pk}/label/",
        f"/shipping/orders/{shipment.order_id}/packing-slip.pdf",
    ):
        response = Client().get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- the order page ------------------------------------------------------------------------------


def test_the_order_page_shows_the_live_label_with_print_and_slip_buttons(member):
    # given a voided label and the live one after it
    live = shipment_of(
        member.account,
        carrier="UPS",
        service="Ground",
        tracking_number="1Z999AA10123456784",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        label=PDF_BYTES,
    )
    Shipment.objects.create(
        account=member.account,
        order=live.order,
        status=ShipmentStatus.VOIDED,
        carrier="USPS",
        tracking_number="OLD1",
    )

    # when
    html = client_for(member).get(f"/orders/{live.order_id}/").content.decode()

    # then
    assert "Print label" in html and f'href="/shipping/shipments/{live.pk}/label/"' in html
    assert f'href="/shipping/orders/{live.order_id}/packing-slip.pdf"' in html
    assert "UPS · Ground" in html and "1Z999AA10123456784" in html
    assert "OLD1" not in html


def test_an_order_without_a_live_label_still_has_its_packing_slip(member):
    failed = shipment_of(
        member.account, status=ShipmentStatus.FAILED, tracking_number="NOPE", label=PDF_BYTES
    )
    html = client_for(member).get(f"/orders/{failed.order_id}/").content.decode()
    assert "Print label" not in html and "NOPE" not in html
    assert "No label bought yet." in html
    assert f'href="/shipping/orders/{failed.order_id}/packing-slip.pdf"' in html
