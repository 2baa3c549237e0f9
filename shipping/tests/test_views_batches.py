"""Batch pages and the pick list, through the web client as the creator would use them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from creatorflow.outbox.models import OutboxMessage
from inventory.tests.factories import SKUFactory
from shipping import tasks_batches  # noqa: F401 - registers the batch tasks with Celery
from shipping.models import LabelBatch, LabelBatchItem, ShippingProfile
from shipping.services.batches import batch_item_purchase, batch_merge, label_batch_create

from .batch_setup import pdf_pages, pdf_text, ready_order, shipping_creator

pytestmark = pytest.mark.django_db

BATCHES = "/shipping/batches/"
PICK_LIST = "/shipping/pick-list/"


def _finished_batch(membership, orders) -> LabelBatch:
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )
    for pk in batch.items.order_by("id").values_list("pk", flat=True):
        batch_item_purchase(item_id=pk)
    batch_merge(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def _messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- creating --------------------------------------------------------------------------------------------


def test_posting_a_selection_creates_a_batch_and_redirects_to_its_page():
    membership, shop, _ = shipping_creator()
    orders = [ready_order(shop), ready_order(shop)]

    response = client_for(membership).post(BATCHES, {"order_ids": [str(o.pk) for o in orders]})

    batch = LabelBatch.objects.get(account=membership.account)
    assert response.status_code == 302
    assert response["Location"] == reverse("shipping:batch-detail", args=[batch.pk])
    assert set(batch.items.values_list("order_id", flat=True)) == {o.pk for o in orders}
    assert OutboxMessage.objects.filter(task="shipping.batch_item_purchase").count() == 2


def test_the_orders_list_offers_buy_labels_and_pick_list_for_the_selection_and_its_checkboxes_work():
    # given the orders list of a member
    membership, shop, _ = shipping_creator()
    order = ready_order(shop)
    page = client_for(membership).get("/orders/").content.decode()

    # then its bulk form has both buttons, posting to the batch and pick-list endpoints
    assert f'formaction="{BATCHES}"' in page and ">Buy labels<" in page
    assert f'formaction="{PICK_LIST}"' in page and ">Pick list<" in page

    # and the form's own checkbox name (ids) is understood
    response = client_for(membership).post(BATCHES, {"ids": [str(order.pk)], "next": "/orders/"})
    assert response.status_code == 302
    assert LabelBatch.objects.get().items.get().order_id == order.pk


def test_more_than_500_orders_goes_back_with_a_clear_message():
    membership, shop, _ = shipping_creator()
    order = ready_order(shop)
    ids = [str(order.pk)] + [f"00000000-0000-4000-8000-{n:012d}" for n in range(500)]

    response = client_for(membership).post(BATCHES, {"order_ids": ids, "next": "/orders/?status=ready"})

    assert response.status_code == 302 and response["Location"] == "/orders/?status=ready"
    assert any("at most 500 orders; 501 were selected" in m for m in _messages_of(response))
    assert not LabelBatch.objects.exists()


def test_an_empty_selection_goes_back_with_a_message():
    membership, _, _ = shipping_creator()
    response = client_for(membership).post(BATCHES, {})
    assert response.status_code == 302
    assert any("Select at least one order" in m for m in _messages_of(response))


def test_another_accounts_order_in_the_selection_is_a_404():
    membership, shop, _ = shipping_creator()
    _, other_shop, _ = shipping_creator()
    response = client_for(membership).post(
        BATCHES, {"order_ids": [str(ready_order(shop).pk), str(ready_order(other_shop).pk)]}
    )
    assert response.status_code == 404
    assert not LabelBatch.objects.exists()


def test_a_viewer_may_look_but_not_post():
    owner, shop, _ = shipping_creator()
    viewer = MembershipFactory(account=owner.account, role="viewer")
    order = ready_order(shop)
    batch = _finished_batch(owner, [ready_order(shop, with_address=False)])
    client = client_for(viewer)

    assert client.post(BATCHES, {"order_ids": [str(order.pk)]}).status_code == 403
    assert client.post(reverse("shipping:batch-retry", args=[batch.pk])).status_code == 403
    assert client.post(PICK_LIST, {"order_ids": [str(order.pk)]}).status_code == 403
    assert client.get(BATCHES).status_code == 200
    page = client.get(reverse("shipping:batch-detail", args=[batch.pk])).content.decode()
    assert "Retry failed" not in page
    assert LabelBatch.objects.count() == 1


# --- looking at a batch ----------------------------------------------------------------------------------


def test_a_running_batch_page_polls_its_progress_every_2_seconds():
    membership, shop, _ = shipping_creator()
    batch = label_batch_create(
        account=membership.account,
        order_ids=[ready_order(shop).pk, ready_order(shop).pk],
        actor=membership.user,
    )
    batch_item_purchase(item_id=batch.items.order_by("id").first().pk)
    client = client_for(membership)

    page = client.get(reverse("shipping:batch-detail", args=[batch.pk])).content.decode()
    progress_url = reverse("shipping:batch-progress", args=[batch.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 2s"' in page
    assert 'aria-valuenow="50"' in page

    fragment = client.get(progress_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="batch-progress"') and "<html" not in html
    assert "0 shipped · 1 handing to TikTok · 0 waiting for carrier · 0 failed · 1 being bought · 50%" in html


def test_a_finished_batch_stops_polling_lists_failures_and_offers_retry_and_download():
    # given a finished batch with one failure
    membership, shop, _ = shipping_creator()
    bad = ready_order(shop, with_address=False)
    batch = _finished_batch(membership, [ready_order(shop), bad])
    client = client_for(membership)

    # then its progress fragment no longer polls, and shows the failure with its reason and the buttons
    html = client.get(reverse("shipping:batch-progress", args=[batch.pk])).content.decode()
    assert "hx-trigger" not in html
    failure = batch.items.get(status=LabelBatchItem.Status.FAILED)
    assert bad.tiktok_order_id in html and escape(failure.error) in html
    assert "Retry failed (1)" in html and "Download PDF" in html

    # when "Retry failed" is pressed
    response = client.post(reverse("shipping:batch-retry", args=[batch.pk]))

    # then the failed order is queued again and the batch runs
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.RUNNING
    assert (
        OutboxMessage.objects.filter(task="shipping.batch_item_purchase", kwargs__item_id=failure.pk).count()
        == 2
    )
    assert any("Retrying 1 order" in m for m in _messages_of(response))


def test_the_page_says_when_zpl_labels_are_not_in_the_pdf():
    membership, shop, _ = shipping_creator()
    ShippingProfile.objects.create(account=membership.account, label_format="zpl")
    batch = _finished_batch(membership, [ready_order(shop)])
    html = client_for(membership).get(reverse("shipping:batch-detail", args=[batch.pk])).content.decode()
    assert "1 label is ZPL" in html and "not in this PDF" in html


def test_the_merged_pdf_downloads_and_the_list_links_it():
    membership, shop, _ = shipping_creator()
    batch = _finished_batch(membership, [ready_order(shop), ready_order(shop)])
    client = client_for(membership)

    response = client.get(reverse("shipping:batch-pdf", args=[batch.pk]) + "?download=1")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert pdf_pages(b"".join(response.streaming_content)) == batch.merged_pages

    listing = client.get(BATCHES).content.decode()
    assert reverse("shipping:batch-detail", args=[batch.pk]) in listing
    assert "Download PDF" in listing


def test_a_running_batch_has_no_pdf_yet():
    membership, shop, _ = shipping_creator()
    batch = label_batch_create(
        account=membership.account, order_ids=[ready_order(shop).pk], actor=membership.user
    )
    assert client_for(membership).get(reverse("shipping:batch-pdf", args=[batch.pk])).status_code == 404


@pytest.mark.parametrize("name", ["batch-detail", "batch-progress", "batch-pdf"])
def test_another_accounts_batch_pages_are_404(name):
    membership, shop, _ = shipping_creator()
    batch = _finished_batch(membership, [ready_order(shop)])
    assert_other_account_gets_404(reverse(f"shipping:{name}", args=[batch.pk]), owner=membership)


def test_another_account_cannot_retry_a_batch():
    membership, shop, _ = shipping_creator()
    batch = _finished_batch(membership, [ready_order(shop, with_address=False)])
    assert_other_account_gets_404(
        reverse("shipping:batch-retry", args=[batch.pk]), owner=membership, method="post"
    )


def test_the_batch_list_shows_only_the_accounts_batches():
    membership, shop, _ = shipping_creator()
    other, other_shop, _ = shipping_creator()
    ours = _finished_batch(membership, [ready_order(shop)])
    theirs = _finished_batch(other, [ready_order(other_shop)])
    html = client_for(membership).get(BATCHES).content.decode()
    assert str(ours.pk) in html and str(theirs.pk) not in html


# --- the pick list ----------------------------------------------------------------------------------------


def test_the_pick_list_sums_units_per_sku_across_the_selection():
    # given three orders sharing SKUs
    membership, shop, _ = shipping_creator()
    lip = SKUFactory(account=membership.account, seller_sku="LIP-OIL-01", location="A-2")
    mask = SKUFactory(account=membership.account, seller_sku="MASK-07", location="B-1")
    orders = [
        ready_order(shop, units=(2, 1), skus=[lip, mask]),
        ready_order(shop, units=(3,), skus=[lip]),
        ready_order(shop, units=(4,), skus=[mask]),
    ]
    ready_order(shop, units=(9,), skus=[lip])  # not selected

    # when the pick list of the first three is asked for
    response = client_for(membership).post(PICK_LIST, {"order_ids": [str(o.pk) for o in orders]})

    # then it is an inline PDF with 5 LIP-OIL-01 and 5 MASK-07 (and the unselected order's 9 not counted)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    text = pdf_text(response.content)
    assert _pick_row(text, "LIP-OIL-01") == ("A-2", 5, 2)
    assert _pick_row(text, "MASK-07") == ("B-1", 5, 2)
    assert "3 orders  ·  10 units  ·  2 SKUs" in text


def _pick_row(text: str, seller_sku: str) -> tuple[str, int, int]:
    """(location, units, orders) of a SKU's row; pypdf gives each table cell its own line:
    location, seller SKU, name, units, orders."""
    cells = [line.strip() for line in text.splitlines()]
    at = cells.index(seller_sku)
    return cells[at - 1], int(cells[at + 2]), int(cells[at + 3])


def test_the_pick_list_needs_a_selection_and_only_the_accounts_orders():
    membership, shop, _ = shipping_creator()
    _, other_shop, _ = shipping_creator()
    client = client_for(membership)

    empty = client.post(PICK_LIST, {})
    assert empty.status_code == 400 and b"Select at least one order" in empty.content
    foreign = client.post(
        PICK_LIST, {"order_ids": [str(ready_order(shop).pk), str(ready_order(other_shop).pk)]}
    )
    assert foreign.status_code == 404
    assert client.post(PICK_LIST, {"order_ids": ["nope"]}).status_code == 404
