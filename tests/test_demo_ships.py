"""The demo's own orders ship the way live ones do (issue: seeded orders carried delivery options
the TikTok sandbox did not know, so every label bought for them ended in needs_attention, and the
72 seeded ready orders never got a label on their own).

`load_demo` against real PostgreSQL and Redis, the TikTok sandbox seeded as `make run` seeds it,
a real Celery worker and the relay: the seeded ready orders get their labels automatically and
TikTok accepts every package; a held order approved by the creator, and one sent in a batch, ship
the same way.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import Account
from creatorflow.core.testing_celery import wait_for
from inventory.models import InventoryTransaction, TransactionType
from orders.facade import order_approve
from orders.models import Order, OrderStatus
from shipping.models import LabelBatchItem, Shipment
from shipping.services.batches import label_batch_create
from tiktok.sandbox import demo
from tiktok.sandbox.core import Sandbox

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SHIPPED = {OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED}


@pytest.fixture
def demo_stack(settings, tmp_path, celery_worker, dispatch_relay):
    """The demo loaded, and the TikTok sandbox started the way `make run` starts it (seed_demo)."""
    settings.TIKTOK_SANDBOX_DEMO_ORDERS = str(tmp_path / "sandbox-demo-orders.json")
    settings.TIKTOK_APP_KEY, settings.TIKTOK_APP_SECRET = demo.DEMO_APP_KEY, demo.DEMO_APP_SECRET
    settings.TIKTOK_SERVICE_ID = demo.DEMO_SERVICE_ID
    call_command("load_demo", stdout=io.StringIO())
    with Sandbox(
        app_key=demo.DEMO_APP_KEY, app_secret=demo.DEMO_APP_SECRET, service_id=demo.DEMO_SERVICE_ID
    ) as sb:
        demo.seed_demo(sb)
        settings.TIKTOK_API_BASE_URL = sb.base_url
        settings.TIKTOK_AUTH_BASE_URL = sb.base_url
        yield sb, Account.objects.get(name__contains="demo")


def _status_at_tiktok(sb, order) -> str:
    return sb.get_order(order.tiktok_order_id)["status"]


def test_the_seeded_ready_orders_ship_on_their_own_and_tiktok_takes_every_package(demo_stack):
    sb, account = demo_stack
    seeded_ready = list(Order.objects.filter(account=account, status=OrderStatus.READY))
    assert len(seeded_ready) >= 50

    # TikTok knows every seeded order, with the delivery option the order carries
    for order in seeded_ready:
        assert sb.get_order(order.tiktok_order_id)["delivery_option_id"] == order.delivery_option_id

    # then each ready order gets its label and TikTok accepts its package, with nobody touching it
    ids = [o.pk for o in seeded_ready]
    wait_for(
        lambda: set(Order.objects.filter(pk__in=ids).values_list("status", flat=True)) <= SHIPPED,
        timeout=240,
        message="every seeded ready order to ship",
    )
    assert (
        not Order.objects.filter(account=account, status=OrderStatus.NEEDS_ATTENTION)
        .exclude(attention_reason__icontains="sku")
        .exists()
    )
    for order in Order.objects.filter(pk__in=ids):
        assert Shipment.objects.filter(order=order).count() == 1
        assert _status_at_tiktok(sb, order) == "AWAITING_COLLECTION"
        assert not order.touched_by_human
        assert InventoryTransaction.objects.filter(
            type=TransactionType.OUT, reference=order.reservation_ref
        ).exists()


def test_a_held_seeded_order_approved_and_one_sent_in_a_batch_ship_like_live_ones(demo_stack):
    sb, account = demo_stack
    user = account.memberships.first().user
    held = list(Order.objects.filter(account=account, status=OrderStatus.HELD).order_by("placed_at"))
    assert len(held) >= 2
    approved, batched = held[0], held[1]

    # when the creator approves one and prints the other in a batch
    order_approve(order=approved, actor=user)
    batch = label_batch_create(account=account, order_ids=[batched.pk], actor=user)

    # then both ship: TikTok has both packages, and the batch counts its order done
    wait_for(
        lambda: (
            set(Order.objects.filter(pk__in=[approved.pk, batched.pk]).values_list("status", flat=True))
            <= SHIPPED
        ),
        timeout=120,
        message="both orders to ship",
    )
    assert _status_at_tiktok(sb, approved) == _status_at_tiktok(sb, batched) == "AWAITING_COLLECTION"
    wait_for(
        lambda: batch.items.get().status == LabelBatchItem.Status.DONE,
        timeout=30,
        message="the batch item done",
    )
