"""The demo ships with the built-in sandbox carrier: its orders get labels on their own."""

import pytest
from django.core.management import call_command

from accounts.models import Account
from creatorflow.outbox.models import OutboxMessage
from orders.models import Order, OrderStatus
from shipping.models import CarrierAccount, PackagePreset, ShippingProfile
from shipping.services.purchase import shipment_purchase

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_sandbox_carrier_and_a_new_ready_order_is_bought_automatically():
    call_command("load_demo", stdout=open("/dev/null", "w"))
    call_command("load_demo", stdout=open("/dev/null", "w"))
    account = Account.objects.get(name__contains="demo")

    carrier = CarrierAccount.objects.get(account=account)
    assert carrier.provider == "sandbox" and carrier.enabled
    profile = ShippingProfile.objects.get(account=account)
    assert profile.ship_from is not None and profile.ship_from.postal_code
    assert PackagePreset.objects.filter(account=account).count() == 4
    # the seeded ready orders are the pipeline's like live ones: each has its purchase queued
    seeded = Order.objects.filter(account=account, status=OrderStatus.READY).first()
    assert seeded is not None and seeded.auto_ship
    assert OutboxMessage.objects.filter(
        task="shipping.purchase_label", kwargs={"order_id": str(seeded.pk)}
    ).exists()
    result = shipment_purchase(order_id=seeded.pk)
    assert result.ok, result.error
    seeded.refresh_from_db()
    assert seeded.status == OrderStatus.LABEL_PURCHASED
