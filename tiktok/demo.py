"""The demo shop's connection for `manage.py load_demo`: the sandbox's demo seller, already authorised.

`make run` starts the sandbox (`manage.py tiktok_sandbox`) seeded with the same shop id, cipher and
long-lived tokens (`tiktok.sandbox.demo`), so the demo creator sees orders arrive by webhook and poll
without clicking through OAuth. Idempotent: a second run only makes sure the connection is there.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import Shop, ShopAuthorization
from .sandbox import demo


def connect_demo_shop(*, account) -> Shop | None:
    """Attach the sandbox demo seller's tokens to the account's demo shop. None if it is not theirs."""
    with transaction.atomic():
        shop = Shop.objects.select_for_update().filter(shop_id=demo.DEMO_SHOP_ID, account=account).first()
        if shop is None:
            return None
        now = timezone.now()
        authorization, _ = ShopAuthorization.objects.get_or_create(
            account=account,
            open_id=f"openid-{demo.DEMO_SELLER}",
            defaults={
                "seller_name": demo.DEMO_SHOP_NAME,
                "seller_base_region": "US",
                "access_token": demo.DEMO_ACCESS_TOKEN,
                "refresh_token": demo.DEMO_REFRESH_TOKEN,
                "access_token_expires_at": now + timedelta(seconds=demo.DEMO_TOKEN_TTL),
                "refresh_token_expires_at": now + timedelta(seconds=demo.DEMO_TOKEN_TTL),
            },
        )
        if shop.authorization_id != authorization.pk:
            shop.authorization = authorization
            shop.cipher = demo.DEMO_SHOP_CIPHER
            shop.name = demo.DEMO_SHOP_NAME
            shop.status = Shop.Status.CONNECTED
            shop.connected_at = now
            shop.save(update_fields=["authorization", "cipher", "name", "status", "connected_at"])
    return shop
