"""Seller tokens: store a grant, refresh before expiry, and refresh once for all workers.

TikTok invalidates the old access token when it issues a new one, so two workers refreshing the same
seller at once would leave one of them holding a dead token. `authorization_refresh` therefore runs
one refresh per seller at a time (a cache lock, Redis SET NX in production); a worker that finds the
lock taken waits for the new token to appear in the database instead of refreshing again. The
network call happens with no database transaction open.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .client import TokenGrant, token_refresh
from .models import ShopAuthorization

logger = logging.getLogger(__name__)

# Refresh when the access token has less than this left (the beat job runs hourly, so a day's
# margin means a token is always renewed well before TikTok would answer 105002).
REFRESH_MARGIN = timedelta(days=1)
# In the middle of a call, only a token about to lapse is refreshed inline.
INLINE_MARGIN = timedelta(minutes=5)
LOCK_SECONDS = 30
WAIT_SECONDS = 15.0


def needs_refresh(authorization: ShopAuthorization, *, margin: timedelta = INLINE_MARGIN) -> bool:
    return authorization.access_token_expires_at <= timezone.now() + margin


def grant_fields(grant: TokenGrant) -> dict:
    return {
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "access_token_expires_at": grant.access_token_expires_at,
        "refresh_token_expires_at": grant.refresh_token_expires_at,
    }


def authorization_store(*, account, grant: TokenGrant) -> ShopAuthorization:
    """Create or update the account's authorization for the grant's seller (idempotent on open_id)."""
    with transaction.atomic():
        authorization, _ = ShopAuthorization.objects.select_for_update().update_or_create(
            account=account,
            open_id=grant.open_id,
            defaults={
                **grant_fields(grant),
                "seller_name": grant.seller_name,
                "seller_base_region": grant.seller_base_region,
                "user_type": grant.user_type,
            },
        )
    return authorization


def _refreshed_by_another(current: ShopAuthorization, seen_token: str | None) -> bool:
    return seen_token is not None and current.access_token != seen_token and not needs_refresh(current)


def authorization_refresh(
    *, authorization: ShopAuthorization, seen_token: str | None = None
) -> ShopAuthorization:
    """Return the authorization with a fresh access token, refreshing at most once across workers.

    `seen_token` is the token the caller found stale or rejected: if the stored token already
    differs, someone else refreshed and that token is used without another call.
    """
    key = f"tiktok:refresh:{authorization.pk}"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        current = ShopAuthorization.objects.get(pk=authorization.pk)
        if _refreshed_by_another(current, seen_token):
            return current
        if cache.add(key, "1", LOCK_SECONDS):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("another worker is refreshing this seller's token and has not finished")
        time.sleep(0.2)
    try:
        current = ShopAuthorization.objects.get(pk=authorization.pk)
        if _refreshed_by_another(current, seen_token):
            return current
        grant = token_refresh(current.refresh_token)  # network, outside any transaction
        ShopAuthorization.objects.filter(pk=current.pk).update(
            **grant_fields(grant), refreshed_at=timezone.now()
        )
        logger.info("tiktok: refreshed the token of seller %s", current.open_id)
        return ShopAuthorization.objects.get(pk=current.pk)
    finally:
        cache.delete(key)


def refresh_expiring(*, margin: timedelta = REFRESH_MARGIN) -> dict:
    """Beat: refresh every connected seller whose access token expires within `margin`.

    A failure is logged and counted; the shops keep working on the old token until it lapses and
    the next run tries again. Refresh tokens that have lapsed cannot be refreshed: those shops need
    the creator to connect again (they were notified by the type-7 webhook).
    """
    now = timezone.now()
    due = ShopAuthorization.objects.filter(
        access_token_expires_at__lte=now + margin, refresh_token_expires_at__gt=now, shops__isnull=False
    ).distinct()
    refreshed = failed = 0
    for authorization in due:
        try:
            authorization_refresh(authorization=authorization, seen_token=authorization.access_token)
            refreshed += 1
        except Exception:
            failed += 1
            logger.warning("tiktok: token refresh failed for seller %s", authorization.open_id, exc_info=True)
    return {"refreshed": refreshed, "failed": failed}
