"""A shop of ours connected to a running sandbox shop, without going through the OAuth pages.

    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox, account=account)

creates the shop in the sandbox (unless `sb_shop` is given), takes the tokens the sandbox issued for
it and stores them the way a real connection does (encrypted, with their expiry).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import AccountFactory
from tiktok.models import Shop, ShopAuthorization


def connect_sandbox_shop(sandbox, *, account=None, sb_shop: dict | None = None, name: str = "Glow Lab"):
    account = account or AccountFactory()
    sb_shop = sb_shop or sandbox.add_shop(name=name, region="US", seller=f"seller-{account.pk}")
    tokens = sandbox.tokens_for(sb_shop["id"])
    now = timezone.now()
    authorization, _ = ShopAuthorization.objects.update_or_create(
        account=account,
        open_id=f"openid-{sb_shop['id']}",
        defaults={
            "seller_name": name,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "access_token_expires_at": now + timedelta(days=7),
            "refresh_token_expires_at": now + timedelta(days=30),
        },
    )
    shop = Shop.objects.create(
        account=account,
        authorization=authorization,
        shop_id=sb_shop["id"],
        name=sb_shop.get("name", name),
        region="US",
        cipher=sb_shop["cipher"],
        status=Shop.Status.CONNECTED,
        connected_at=now,
    )
    return sb_shop, shop
