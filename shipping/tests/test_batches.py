"""Label batches: creating one, buying every item, the merge, failures and retries.

The service tests run each step in the test's thread (the outbox messages are captured, not sent);
the tests marked postgres+redis run the same batch through a real Celery worker, and the race test
finishes items from real threads at the same time.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from creatorflow.core.errors import Conflict, DomainError, NotFound
from creatorflow.core.testing_celery import wait_for
from creatorflow.outbox.models import OutboxMessage
from creatorflow.outbox.services import outbox_run
from orders.models import Order, OrderStatus
from shipping import tasks_batches  # noqa: F401 - registers the batch tasks with Celery
from shipping.documents.builders import packing_slip_for_order
from shipping.models import LabelBatch, LabelBatchItem, Shipment, ShipmentStatus, ShippingProfile
from shipping.services.batches import (
    BUSY_PATIENCE,
    batch_item_purchase,
    batch_merge,
    batch_progress,
    batch_zpl_count,
    label_batch_create,
    label_batch_retry_failed,
)
from shipping.services.fulfil import shipment_complete

from .batch_setup import RECIPIENT, on_tiktok, pdf_pages, ready_order, shipping_creator

Item = LabelBatchItem.Status


def _messages(task: str, **kwargs):
    queryset = OutboxMessage.objects.filter(task=task)
    for name, value in kwargs.items():
        queryset = queryset.filter(**{f"kwargs__{name}": value})
    return queryset


def _run_items(batch: LabelBatch) -> list[str]:
    return [batch_item_purchase(item_id=pk) for pk in batch.items.order_by("id").values_list("pk", flat=True)]


def _expected_pages(batch: LabelBatch) -> int:
    """Label pages plus packing-slip pages of the batch's bought items, counted one by one."""
    pages = 0
    for item in batch.items.filter(status__in=[Item.DONE, Item.LABELLED]).select_related("shipment", "order"):
        if item.shipment.label_format == "pdf":
            with item.shipment.label_file.open("rb") as handle:
                pages += pdf_pages(handle.read())
        pages += pdf_pages(packing_slip_for_order(item.order))
    return pages


# --- creating a batch --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_a_batch_queues_one_purchase_per_order_in_the_selection_order(
    django_capture_on_commit_callbacks,
):
    # given three ready orders
    membership, shop, _ = shipping_creator()
    orders = [ready_order(shop) for _ in range(3)]
    selection = [orders[2].pk, orders[0].pk, orders[1].pk, orders[0].pk]  # a duplicate is dropped

    # when the creator makes a batch of them
    with django_capture_on_commit_callbacks() as callbacks:
        batch = label_batch_create(account=membership.account, order_ids=selection, actor=membership.user)

    # then it runs, holds the three orders in the order chosen, and one message per item is sent
    assert (batch.status, batch.total, batch.created_by) == (LabelBatch.Status.RUNNING, 3, membership.user)
    items = list(batch.items.order_by("id"))
    assert [item.order_id for item in items] == [orders[2].pk, orders[0].pk, orders[1].pk]
    assert {item.status for item in items} == {Item.PENDING}
    messages = _messages("shipping.batch_item_purchase")
    assert sorted(m.key for m in messages) == sorted(f"batch-item:{item.pk}" for item in items)
    assert {m.queue for m in messages} == {"integrations"}
    assert len(callbacks) == 3


@pytest.mark.django_db
def test_more_than_500_orders_is_refused_with_a_clear_error():
    # given 501 orders of the account
    membership, shop, _ = shipping_creator()
    orders = Order.objects.bulk_create(
        Order(account=membership.account, shop=shop, tiktok_order_id=str(9_000_000 + n), tiktok_status="X")
        for n in range(501)
    )

    # when they are all put in one batch
    with pytest.raises(DomainError) as refused:
        label_batch_create(
            account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
        )

    # then it is refused, saying the limit and how many were selected, and nothing is written
    assert refused.value.code == "batch_too_large"
    assert "at most 500" in refused.value.message and "501" in refused.value.message
    assert not LabelBatch.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_an_empty_selection_is_refused():
    membership, _, _ = shipping_creator()
    with pytest.raises(DomainError) as refused:
        label_batch_create(account=membership.account, order_ids=[], actor=membership.user)
    assert refused.value.code == "batch_empty"


@pytest.mark.django_db
def test_another_accounts_order_reads_as_missing_and_nothing_is_created():
    # given an order of ours and one of another account
    membership, shop, _ = shipping_creator()
    _, other_shop, _ = shipping_creator()
    ours, theirs = ready_order(shop), ready_order(other_shop)

    # when both are selected, or a malformed id is
    for selection in ([ours.pk, theirs.pk], [ours.pk, "not-a-uuid"], [uuid.uuid4()]):
        with pytest.raises(NotFound):
            label_batch_create(account=membership.account, order_ids=selection, actor=membership.user)

    # then no batch exists
    assert not LabelBatch.objects.exists()


@pytest.mark.django_db
def test_an_order_already_in_a_running_batch_is_refused():
    # given a running batch with an order
    membership, shop, _ = shipping_creator()
    first, second = ready_order(shop), ready_order(shop)
    label_batch_create(account=membership.account, order_ids=[first.pk], actor=membership.user)

    # when another batch includes it
    with pytest.raises(Conflict) as refused:
        label_batch_create(account=membership.account, order_ids=[second.pk, first.pk], actor=membership.user)

    # then it is refused, naming the order
    assert refused.value.code == "batch_order_busy"
    assert first.tiktok_order_id in refused.value.message
    assert LabelBatch.objects.count() == 1


# --- buying and merging --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_buys_every_label_and_merges_labels_and_slips_into_one_pdf():
    # given a batch of three ready orders (one with two SKUs)
    membership, shop, _ = shipping_creator()
    orders = [ready_order(shop), ready_order(shop, units=(2, 1)), ready_order(shop)]
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )

    # when every item is bought
    outcomes = _run_items(batch)

    # then each has its label (TikTok is told next: not shipped yet), and the last one queued the
    # merge (once)
    assert outcomes == ["labelled", "labelled", "labelled"]
    items = list(batch.items.select_related("shipment").order_by("id"))
    assert all(item.shipment.status == ShipmentStatus.PURCHASED for item in items)
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {
        OrderStatus.LABEL_PURCHASED
    }
    merges = _messages("shipping.batch_merge", batch_id=str(batch.pk))
    assert merges.count() == 1
    assert batch_progress(batch) == {
        "total": 3, "done": 0, "labelled": 3, "bought": 3, "waiting": 0, "failed": 0, "pending": 0,
        "percent": 100, "merging": True,
    }  # fmt: skip

    # when the merge runs
    assert batch_merge(batch_id=batch.pk) == "merged"

    # then the batch is done with one PDF: each label followed by its slip
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.DONE and batch.finished_at is not None
    with batch.merged_pdf.open("rb") as handle:
        merged = handle.read()
    assert batch.merged_pages == pdf_pages(merged) == _expected_pages(batch) >= 6

    # and a second delivery of the merge changes nothing
    assert batch_merge(batch_id=batch.pk) == "skipped"


@pytest.mark.django_db
def test_a_redelivered_item_message_buys_nothing_more_and_queues_no_second_merge():
    membership, shop, _ = shipping_creator()
    batch = label_batch_create(
        account=membership.account, order_ids=[ready_order(shop).pk], actor=membership.user
    )
    item = batch.items.get()
    assert batch_item_purchase(item_id=item.pk) == "labelled"

    assert batch_item_purchase(item_id=item.pk) == "skipped"
    assert Shipment.objects.filter(order_id=item.order_id).count() == 1
    assert _messages("shipping.batch_merge").count() == 1


@pytest.mark.django_db
def test_an_order_without_an_address_fails_with_its_reason_and_a_retry_buys_it():
    # given a batch where one order has no ship-to address
    membership, shop, _ = shipping_creator()
    good = ready_order(shop)
    bad = ready_order(shop, with_address=False)
    batch = label_batch_create(account=membership.account, order_ids=[good.pk, bad.pk], actor=membership.user)

    # when it runs
    assert _run_items(batch) == ["labelled", "failed"]
    batch_merge(batch_id=batch.pk)

    # then the batch is partial, the failure says why, and the PDF holds the good order only
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.PARTIAL
    failed = batch.items.get(status=Item.FAILED)
    assert failed.order_id == bad.pk
    assert "address" in failed.error.lower()
    assert batch.merged_pages == _expected_pages(batch)
    first_pdf = batch.merged_pdf.name

    # when the address is fixed and the failures are retried
    Order.objects.filter(pk=bad.pk).update(
        recipient_name="Ada Buyer", recipient=RECIPIENT, country="US", state="NY", postal_code="10118"
    )
    assert label_batch_retry_failed(batch=batch, actor=membership.user) == 1

    # then the batch runs again with the item re-queued under a new key
    assert batch.status == LabelBatch.Status.RUNNING and batch.finished_at is None
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Item.PENDING, "")
    keys = set(_messages("shipping.batch_item_purchase", item_id=failed.pk).values_list("key", flat=True))
    assert len(keys) == 2 and f"batch-item:{failed.pk}" in keys

    # and when it runs again, the order is bought and a new PDF holds both orders
    assert batch_item_purchase(item_id=failed.pk) == "labelled"
    assert _messages("shipping.batch_merge", batch_id=str(batch.pk)).count() == 2
    assert batch_merge(batch_id=batch.pk) == "merged"
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.DONE
    assert batch.merged_pdf.name != first_pdf
    assert not batch.merged_pdf.storage.exists(first_pdf)
    assert batch.merged_pages == _expected_pages(batch)


@pytest.mark.django_db
def test_a_carrier_answering_500_leaves_every_item_waiting_for_the_carrier_with_its_error():
    membership, shop, _ = shipping_creator(carrier_options={"fault": "5xx"})
    orders = [ready_order(shop), ready_order(shop)]
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )

    # a 500 may pass: nothing is parked, each purchase is retried on its own
    assert _run_items(batch) == ["waiting", "waiting"]
    assert batch_merge(batch_id=batch.pk) == "merged"

    batch.refresh_from_db()
    assert (batch.status, batch.merged_pages, batch.merged_pdf.name) == (LabelBatch.Status.PARTIAL, 0, "")
    assert all("500" in error for error in batch.items.values_list("error", flat=True))
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        OrderStatus.READY
    }
    retries = _messages("shipping.purchase_label").filter(key__startswith="purchase-retry:")
    assert retries.count() == 2
    assert all(m.next_attempt_at > timezone.now() for m in retries)


@pytest.mark.django_db
def test_retry_is_refused_while_running_and_when_nothing_failed():
    membership, shop, _ = shipping_creator()
    batch = label_batch_create(
        account=membership.account, order_ids=[ready_order(shop).pk], actor=membership.user
    )
    with pytest.raises(Conflict):
        label_batch_retry_failed(batch=batch, actor=membership.user)
    _run_items(batch)
    batch_merge(batch_id=batch.pk)
    with pytest.raises(DomainError) as refused:
        label_batch_retry_failed(batch=batch, actor=membership.user)
    assert refused.value.code == "batch_nothing_to_retry"


@pytest.mark.django_db
def test_zpl_labels_stay_out_of_the_merged_pdf_and_are_counted():
    # given an account printing ZPL labels
    membership, shop, _ = shipping_creator()
    ShippingProfile.objects.create(account=membership.account, label_format="zpl")
    orders = [ready_order(shop), ready_order(shop)]
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )

    # when it runs
    _run_items(batch)
    batch_merge(batch_id=batch.pk)

    # then the PDF holds the packing slips only, and the ZPL labels are counted for the page to say so
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.DONE
    assert batch.merged_pages == sum(pdf_pages(packing_slip_for_order(o)) for o in orders)
    assert batch_zpl_count(batch) == 2


@pytest.mark.django_db
def test_an_order_another_worker_is_buying_waits_then_fails_after_a_while(django_capture_on_commit_callbacks):
    # given a batch item whose order another worker is buying right now
    membership, shop, _ = shipping_creator()
    order = ready_order(shop)
    Shipment.objects.create(
        account=membership.account, order=order, claimed_until=timezone.now() + timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks():
        batch = label_batch_create(account=membership.account, order_ids=[order.pk], actor=membership.user)
    item = batch.items.get()
    message = _messages("shipping.batch_item_purchase").get()

    # when its message runs (as a worker runs it, through the outbox)
    result = outbox_run(message_id=message.pk)

    # then the task asks to be retried shortly and the item still waits
    assert result.outcome == "failed" and result.retry_in is not None
    item.refresh_from_db()
    assert item.status == Item.PENDING

    # when the other worker still holds it after BUSY_PATIENCE
    LabelBatchItem.objects.filter(pk=item.pk).update(updated_at=timezone.now() - BUSY_PATIENCE)
    assert batch_item_purchase(item_id=item.pk) == "failed"

    # then the item fails with a reason, and the batch can still finish
    item.refresh_from_db()
    assert "another worker" in item.error.lower()
    assert batch_merge(batch_id=batch.pk) == "merged"


@pytest.mark.django_db
def test_progress_counts_and_percent():
    membership, shop, _ = shipping_creator()
    orders = [ready_order(shop), ready_order(shop, with_address=False), ready_order(shop), ready_order(shop)]
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )
    ids = list(batch.items.order_by("id").values_list("pk", flat=True))

    batch_item_purchase(item_id=ids[0])
    batch_item_purchase(item_id=ids[1])

    # one bought (TikTok not told yet), one failed (no address), two still being bought
    assert batch_progress(batch) == {
        "total": 4, "done": 0, "labelled": 1, "bought": 1, "waiting": 0, "failed": 1, "pending": 2,
        "percent": 50, "merging": False,
    }  # fmt: skip


@pytest.mark.django_db
def test_an_item_is_done_only_once_tiktok_accepted_and_a_refusal_after_the_merge_makes_the_batch_partial(
    tiktok_sandbox,
):
    # given a batch of two orders of a connected shop: one TikTok knows, one TikTok has never heard of
    membership, shop, _ = shipping_creator(tiktok=tiktok_sandbox)
    known = on_tiktok(tiktok_sandbox, ready_order(shop))
    unknown = ready_order(shop)
    batch = label_batch_create(
        account=membership.account, order_ids=[known.pk, unknown.pk], actor=membership.user
    )

    # when both labels are bought and the PDF is merged (before TikTok was told)
    assert _run_items(batch) == ["labelled", "labelled"]
    assert batch_merge(batch_id=batch.pk) == "merged"
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.DONE and batch.merged_pages == _expected_pages(batch)

    # and each label is handed to TikTok
    for item in batch.items.order_by("id"):
        shipment_complete(shipment_id=item.shipment_id)

    # then the known order is done (shipped), the other failed with TikTok's refusal in words, and
    # the finished batch is now partial
    items = {item.order_id: item for item in batch.items.all()}
    assert items[known.pk].status == Item.DONE
    assert items[unknown.pk].status == Item.FAILED
    assert items[unknown.pk].error.startswith("Label bought, TikTok refused:")
    batch.refresh_from_db()
    assert batch.status == LabelBatch.Status.PARTIAL
    progress = batch_progress(batch)
    assert (progress["done"], progress["failed"], progress["labelled"]) == (1, 1, 0)


# --- PostgreSQL: real threads, a real worker ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_items_finishing_at_the_same_time_queue_exactly_one_merge(redis_client):
    # given a batch of eight orders (its messages wait in the broker: no worker runs)
    membership, shop, _ = shipping_creator()
    orders = [ready_order(shop) for _ in range(8)]
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )
    item_ids = list(batch.items.values_list("pk", flat=True))

    # when four threads buy two items each, all starting together
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(share):
        try:
            start.wait()
            for pk in share:
                batch_item_purchase(item_id=pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(item_ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then every item has its label (TikTok is told next) and exactly one merge was queued
    assert errors == []
    assert set(batch.items.values_list("status", flat=True)) == {Item.LABELLED}
    assert _messages("shipping.batch_merge", batch_id=str(batch.pk)).count() == 1


def _finished(batch: LabelBatch) -> LabelBatch | None:
    batch.refresh_from_db()
    return batch if batch.status != LabelBatch.Status.RUNNING else None


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_batch_to_one_merged_pdf_and_every_order_ships(celery_worker, tiktok_sandbox):
    # given four ready orders of a shop connected to TikTok
    membership, shop, _ = shipping_creator(tiktok=tiktok_sandbox)
    orders = [on_tiktok(tiktok_sandbox, ready_order(shop, units=(1 + n % 2,))) for n in range(4)]

    # when a batch of them is created (its messages go to the worker on commit)
    batch = label_batch_create(
        account=membership.account, order_ids=[o.pk for o in orders], actor=membership.user
    )

    # then the worker buys every label and merges the PDF
    wait_for(lambda: _finished(batch), timeout=60, message="the batch to finish")
    assert batch.status == LabelBatch.Status.DONE
    with batch.merged_pdf.open("rb") as handle:
        assert pdf_pages(handle.read()) == batch.merged_pages == _expected_pages(batch)

    # and each item is done once TikTok accepted its package (the order is shipped there and here)
    wait_for(
        lambda: set(batch.items.values_list("status", flat=True)) == {Item.DONE},
        timeout=60,
        message="TikTok to accept every package",
    )
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {OrderStatus.SHIPPED}
    assert {tiktok_sandbox.get_order(o.tiktok_order_id)["status"] for o in orders} == {"AWAITING_COLLECTION"}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_lists_a_failure_and_retry_failed_requeues_it(celery_worker, tiktok_sandbox):
    # given a batch where one order has no address
    membership, shop, _ = shipping_creator(tiktok=tiktok_sandbox)
    good = on_tiktok(tiktok_sandbox, ready_order(shop))
    bad = on_tiktok(tiktok_sandbox, ready_order(shop, with_address=False))
    batch = label_batch_create(account=membership.account, order_ids=[good.pk, bad.pk], actor=membership.user)

    # then it ends partial with the failure's reason
    wait_for(lambda: _finished(batch), timeout=60, message="the batch to finish")
    assert batch.status == LabelBatch.Status.PARTIAL
    failed = batch.items.get(status=Item.FAILED)
    assert failed.order_id == bad.pk and "address" in failed.error.lower()

    # when the address is fixed and "Retry failed" is used
    Order.objects.filter(pk=bad.pk).update(
        recipient_name="Ada Buyer", recipient=RECIPIENT, country="US", state="NY", postal_code="10118"
    )
    label_batch_retry_failed(batch=batch, actor=membership.user)

    # then the worker buys it and the batch ends done with both orders in the PDF
    wait_for(lambda: _finished(batch), timeout=60, message="the retried batch to finish")
    assert batch.status == LabelBatch.Status.DONE
    assert batch.merged_pages == _expected_pages(batch)
