"""Under the Content-Security-Policy, the dashboard's behaviours still work from the static script:
a cancel asks first, a rule row is removed, and no page logs a console error (a refused inline
script or style would), at 1280 px and on a 390 px phone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Order
from shipping.tests.batch_setup import ready_order, shipping_creator
from tests.e2e.browsing import console_errors, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_carry_the_policy_and_log_no_error(live_server, page, width):
    # given a creator with a shop, a carrier and an order
    membership, shop, _ = shipping_creator()
    ready_order(shop)
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, membership)

    for path in [
        "/",
        reverse("orders:list"),
        reverse("orders:rule-new"),
        "/shipping/settings/",
        "/accounts/tokens/",
    ]:
        # when they open the page
        response = page.goto(f"{live_server.url}{path}")

        # then the document came with the policy, and nothing was refused or failed
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        assert page.locator("h1").first.is_visible(), path
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_cancelling_orders_asks_first_and_a_no_cancels_nothing(live_server, page, width):
    # given a creator with one order selected on the orders page
    membership, shop, _ = shipping_creator()
    order = ready_order(shop)
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, membership)
    page.goto(f"{live_server.url}{reverse('orders:list')}")
    page.check(f"input[name=ids][value='{order.pk}']")
    asked: list[str] = []

    def answer_no(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer_no)

    # when they press Cancel and answer no
    page.click("#bulk-form button[value=cancel]")

    # then they were asked, and the order is untouched
    assert asked == ["Cancel the selected orders?"]
    page.wait_for_timeout(300)
    assert Order.objects.get(pk=order.pk).status == order.status
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_rule_condition_row_can_be_added_and_removed(live_server, page, width):
    # given a creator on the new-rule form
    membership, _shop, _ = shipping_creator()
    errors = console_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, membership)
    page.goto(f"{live_server.url}{reverse('orders:rule-new')}")
    rows = page.locator("#condition-rows .rule-row")
    before = rows.count()

    # when they add a condition (htmx) and then remove it again
    page.click("text=Add condition")
    page.wait_for_function(f"document.querySelectorAll('#condition-rows .rule-row').length === {before + 1}")
    rows.last.get_by_label("Remove condition").click()

    # then the row is gone, with no error
    page.wait_for_function(f"document.querySelectorAll('#condition-rows .rule-row').length === {before}")
    assert rows.count() == before
    assert errors == []
