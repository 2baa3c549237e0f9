"""The demo's shipping for `manage.py load_demo`: the built-in sandbox carrier, a profile and boxes.

Loaded before the demo's orders, so the seeded `ready` orders flow through the same pipeline as
live ones: each gets a label from the sandbox carrier, is marked shipped at the TikTok sandbox
(which knows the seeded orders: `tiktok.sandbox.demo`) and then moves on to delivered by the
carrier's webhooks, all on their own. Idempotent.
"""

from __future__ import annotations

from django.db import transaction

from inventory.models import Warehouse

from .models import CarrierAccount, PackagePreset, RatePolicy, ShippingProfile

PRESETS = (
    ("Poly mailer S", 230, 150, 30, 15),
    ("Padded mailer", 300, 220, 50, 40),
    ("Box 8x6x4", 203, 152, 102, 110),
    ("Box 12x9x6", 305, 229, 152, 240),
)


def load_demo_shipping(*, account) -> dict[str, int]:
    with transaction.atomic():
        if CarrierAccount.objects.filter(account=account).exists():
            return {"carriers": 0, "presets": 0}
        CarrierAccount.objects.create(
            account=account, provider="sandbox", name="Sandbox carrier (USPS, UPS, FedEx)", preference=0
        )
        warehouse = Warehouse.objects.filter(account=account).order_by("-is_default", "name").first()
        ShippingProfile.objects.update_or_create(
            account=account, defaults={"rate_policy": RatePolicy.CHEAPEST_ON_TIME, "ship_from": warehouse}
        )
        created = 0
        for name, length, width, height, tare in PRESETS:
            _, made = PackagePreset.objects.get_or_create(
                account=account,
                name=name,
                defaults={"length_mm": length, "width_mm": width, "height_mm": height, "tare_grams": tare},
            )
            created += made
    return {"carriers": 1, "presets": created}
