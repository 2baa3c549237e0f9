"""A carrier that is down, as the creator sees it: the order says "Waiting for carrier" with the
carrier's answer and the next try (no button to press, nothing parked), and a label batch lists
each order's outcome — at 1280 px and on a 390 px phone, with no console error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shipping.services.batches import batch_item_purchase, label_batch_create
from shipping.services.purchase import shipment_purchase
from shipping.tests.batch_setup import ready_order, shipping_creator
from tests.e2e.browsing import console_errors, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_an_order_whose_carrier_is_down_says_it_waits_and_when_it_tries_again(live_server, page, width):
    # given a creator whose only carrier answers 500, with one order that has tried once
    membership, shop, _ = shipping_creator(carrier_options={"fault": "5xx"})
    order = ready_order(shop)
    assert shipment_purchase(order_id=order.pk).state == "waiting"
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, membership)

    # when they open the order
    page.goto(f"{live_server.url}{reverse('orders:detail', args=[order.pk])}")

    # then the label card says it waits for the carrier, why, and when it tries again, in words
    card = page.locator(".ship-order-panel")
    card.wait_for()
    assert card.get_by_text("Waiting for carrier").first.is_visible()
    assert card.get_by_text("nothing for you to do").is_visible()
    assert "500" in card.locator(".ship-wait-reason").first.inner_text()
    assert card.locator("time").first.is_visible()  # the next try
    assert order.tiktok_order_id in page.content()
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_batch_lists_each_orders_outcome_while_its_carrier_is_down(live_server, page, width):
    # given a batch of two orders bought while the carrier answered 500
    membership, shop, _ = shipping_creator(carrier_options={"fault": "5xx"})
    orders = [ready_order(shop), ready_order(shop)]
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )
    for item in batch.items.all():
        batch_item_purchase(item_id=item.pk)
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, membership)

    # when they open the batch
    page.goto(f"{live_server.url}{reverse('shipping:batch-detail', args=[batch.pk])}")

    # then no order counts as shipped, and each is listed as waiting for the carrier, with the reason
    counts = page.locator(".batch-counts")
    counts.wait_for()
    assert "0 shipped" in counts.inner_text() and "2 waiting for carrier" in counts.inner_text()
    rows = page.locator("tr.batch-waiting")
    assert rows.count() == 2
    for order in orders:
        row = rows.filter(has_text=order.tiktok_order_id)
        assert row.count() == 1 and "500" in row.inner_text()
        assert row.get_by_text("Waiting for carrier").is_visible()
    assert errors == []
