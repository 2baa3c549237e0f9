"""One SKU at /inventory/skus/<id>/: stock per warehouse, ledger, reservations, velocity, and the
HTMX adjust form at /inventory/skus/<id>/adjust/."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from inventory.models import Adjustment, InventoryTransaction, Reservation, StockLevel
from inventory.services.stock import ReservationLine, reservation_consume, stock_receive, stock_reserve
from inventory.tests.factories import WarehouseFactory, stocked_sku

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "adjust-form"}


@pytest.fixture
def member():
    return MembershipFactory(role="member")


@pytest.fixture
def sku(member):
    return stocked_sku(
        account=member.account, on_hand=20, name="Cloud Jelly Lip Oil Berry", seller_sku="GL-LO-BER"
    )


def on_hand(sku) -> int:
    return sum(StockLevel.objects.filter(sku=sku).values_list("on_hand", flat=True))


def adjust(client, sku, **data):
    return client.post(f"/inventory/skus/{sku.pk}/adjust/", data, headers=HTMX)


def test_the_sku_page_shows_warehouses_ledger_reservations_and_velocity(member, sku):
    # given stock in two warehouses, two shipped orders (1 h ago and 3 h ago) and one open order
    nj = WarehouseFactory(account=member.account, name="New Jersey", code="NJ1")
    stock_receive(sku=sku, warehouse=nj, quantity=12, reference="po:PO-00001", reason="PO-00001 received")
    for ref, hours_ago, units in (("order:A-1", 3, 2), ("order:A-2", 1, 3)):
        stock_reserve(
            account=member.account, order_ref=ref, lines=[ReservationLine(sku_id=sku.pk, quantity=units)]
        )
        Reservation.objects.filter(order_ref=ref).update(
            created_at=timezone.now() - timedelta(hours=hours_ago)
        )
        reservation_consume(order_ref=ref)
    stock_reserve(
        account=member.account, order_ref="order:OPEN-7", lines=[ReservationLine(sku_id=sku.pk, quantity=4)]
    )

    # when
    response = client_for(member).get(f"/inventory/skus/{sku.pk}/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cloud Jelly Lip Oil Berry" in html and "New Jersey" in html
    # stock: 20 + 12 received - 5 shipped = 27 on hand, 4 reserved, 23 available
    totals = dict(re.findall(r"<dt>(\w[\w ]*)</dt><dd>([^<]+)<", html))
    assert (totals["On hand"], totals["Reserved"], totals["Available"]) == ("27", "4", "23")
    # ledger: newest first, type, change, previous → new, reason or reference
    ledger = re.search(r'<section id="ledger".*?</section>', html, re.S).group(0)
    changes = re.findall(r'data-label="Change" class="num"><strong>([+-]\d+)</strong>', ledger)
    assert changes == ["-3", "-2", "+12"]
    assert "PO-00001 received" in ledger and "0 → 12" in ledger and "order:A-2" in ledger
    # open reservations
    assert "order:OPEN-7" in html
    # velocity: 9 units reserved in the last 48 h, a sparkline with tooltips
    assert "9 sold in the last 48 h" in html
    assert '<svg class="chart chart-sparkline"' in html and "<title>3 units sold, 1 h ago</title>" in html
    assert "Runs out" in html and "Reorder" in html
    # and a member sees the adjust form with the warehouse choice
    assert 'id="adjust-form"' in html and 'name="warehouse"' in html


def test_the_ledger_pages_through_htmx(member, sku):
    # given 25 movements after the initial stock
    for n in range(25):
        stock_receive(
            sku=sku, warehouse=sku.stock_levels.get().warehouse, quantity=1, reference=f"return:{n}"
        )
    client = client_for(member)

    # when
    page_two = client.get(
        f"/inventory/skus/{sku.pk}/?ledger_page=2", headers={"HX-Request": "true", "HX-Target": "ledger"}
    )

    # then only the ledger comes back, with the oldest five
    html = page_two.content.decode()
    assert html.lstrip().startswith('<section id="ledger"') and "<html" not in html
    assert html.count('data-label="Change"') == 5 and "Page 2 of 2" in html and "return:4" in html


def test_adjusting_updates_the_stock_and_the_ledger_in_place(member, sku):
    # when a member removes 3 damaged units through the form
    response = adjust(client_for(member), sku, quantity="-3", reason="Damaged in transit")

    # then stock and ledger change
    assert response.status_code == 200
    assert on_hand(sku) == 17
    entry = InventoryTransaction.objects.get(sku=sku, type="ADJUSTMENT")
    assert (entry.quantity, entry.previous_level, entry.new_level, entry.reason, entry.actor) == (
        -3,
        20,
        17,
        "Damaged in transit",
        member.user,
    )
    # and the response is the emptied form with the notice, plus the stock panel and the ledger out of band
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="adjust-form"')
    assert "Adjusted by -3. New stock level: 17." in html
    assert 'id="stock-panel" class="card" aria-labelledby="stock-title" hx-swap-oob="true"' in html
    assert 'id="ledger" class="card" aria-labelledby="ledger-title" hx-swap-oob="true"' in html
    assert "<dt>On hand</dt><dd>17</dd>" in html and "Damaged in transit" in html
    assert 'value="-3"' not in html


@pytest.mark.parametrize(
    ("quantity", "reason", "field"),
    [
        ("0", "Recount", "quantity"),
        ("10001", "Recount", "quantity"),
        ("-10001", "Recount", "quantity"),
        ("twelve", "Recount", "quantity"),
        ("", "Recount", "quantity"),
        ("5", "", "reason"),
        ("5", "   ", "reason"),
        ("5", "x" * 501, "reason"),
    ],
)
def test_invalid_input_is_shown_inline_and_changes_nothing(member, sku, quantity, reason, field):
    # when
    response = adjust(client_for(member), sku, quantity=quantity, reason=reason)

    # then 200 (so htmx swaps it in) with the error under the field, and the stock is untouched
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="adjust-form"') and "hx-swap-oob" not in html
    assert f'<ul class="errorlist" id="id_{field}-errors">' in html
    assert on_hand(sku) == 20 and not InventoryTransaction.objects.filter(type="ADJUSTMENT").exists()
    # what was typed stays in the form
    if quantity.strip():
        assert f'value="{quantity}"' in html


def test_more_than_100_units_waits_for_staff_approval(member, sku):
    # when
    response = adjust(client_for(member), sku, quantity="150", reason="Found a pallet in overflow")

    # then
    html = response.content.decode()
    assert "Waiting for staff approval (more than 100 units)" in html
    assert on_hand(sku) == 20
    pending = Adjustment.objects.get(sku=sku)
    assert (pending.status, pending.quantity, pending.requested_by) == ("pending", 150, member.user)
    assert "Waiting for staff approval" in re.search(
        r'<section id="stock-panel".*?</section>', html, re.S
    ).group(0)


def test_taking_more_than_is_available_is_refused_inline(member, sku):
    # given 15 of the 20 units are held for an order
    stock_reserve(
        account=member.account, order_ref="order:HOLD", lines=[ReservationLine(sku_id=sku.pk, quantity=15)]
    )

    # when the member tries to write off 8
    response = adjust(client_for(member), sku, quantity="-8", reason="Lost")

    # then the form says why and nothing changes
    html = response.content.decode()
    assert response.status_code == 200
    assert '<ul class="errorlist nonfield">' in html and "5 available, 8 requested" in html
    assert on_hand(sku) == 20


def test_without_htmx_the_form_redirects_with_a_message(member, sku):
    # when
    client = client_for(member)
    response = client.post(f"/inventory/skus/{sku.pk}/adjust/", {"quantity": "4", "reason": "Recount"})

    # then
    assert response.status_code == 302 and response.url == f"/inventory/skus/{sku.pk}/"
    assert "Adjusted by +4" in client.get(response.url).content.decode()


def test_a_viewer_sees_no_form_and_cannot_post(sku):
    # given a viewer of the same account
    viewer = MembershipFactory(account=sku.account, role="viewer")
    client = client_for(viewer)

    # when / then
    page = client.get(f"/inventory/skus/{sku.pk}/").content.decode()
    assert 'id="adjust-form"' not in page and "Cloud Jelly Lip Oil Berry" in page
    assert adjust(client, sku, quantity="-1", reason="Nope").status_code == 403
    assert on_hand(sku) == 20


def test_an_htmx_post_without_the_csrf_token_is_refused(member, sku):
    # given a signed-in client that enforces CSRF, as a browser would
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user, backend="django.contrib.auth.backends.ModelBackend")
    token = client.get(f"/inventory/skus/{sku.pk}/").cookies["csrftoken"].value

    # when / then: without the header, refused; with the X-CSRFToken header htmx sends, accepted
    url = f"/inventory/skus/{sku.pk}/adjust/"
    assert client.post(url, {"quantity": "1", "reason": "Recount"}, headers=HTMX).status_code == 403
    accepted = client.post(
        url, {"quantity": "1", "reason": "Recount"}, headers={**HTMX, "X-CSRFToken": token}
    )
    assert accepted.status_code == 200 and on_hand(sku) == 21


def test_the_page_and_the_adjust_form_are_tenant_scoped(member, sku):
    assert_other_account_gets_404(f"/inventory/skus/{sku.pk}/", owner=member)
    assert_other_account_gets_404(
        f"/inventory/skus/{sku.pk}/adjust/",
        owner=member,
        method="post",
        data={"quantity": "1", "reason": "x"},
    )
    assert on_hand(sku) == 21  # only the owner's post went through


def test_an_unknown_sku_is_404(member):
    client = client_for(member)
    assert client.get("/inventory/skus/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/inventory/skus/not-a-uuid/").status_code == 404
