"""Reads for the Shops page: an account's shops with their latest runs and webhook figures, and the
account's recent TikTok webhook events. Every function takes the account; events are scoped by the
`source` the webhook view stored (the TikTok shop id), so one creator never sees another's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from creatorflow.inbox.facade import WebhookStats, webhook_stats
from creatorflow.inbox.models import InboundEvent

from .models import Shop, SyncRun

PROVIDER = "tiktok"
EVENTS_SHOWN = 50
STATS_WINDOW = timedelta(hours=24)
# The runs that carry a progress bar on the page; polls and reconciliations finish in seconds.
PROGRESS_KINDS = (SyncRun.Kind.FULL_IMPORT, SyncRun.Kind.RESYNC)

# TikTok's webhook types (CONTRACT.md §4), by the number they arrive with.
EVENT_TYPE_NAMES = {
    "1": "ORDER_STATUS_CHANGE",
    "2": "REVERSE_STATUS_UPDATE",
    "3": "RECIPIENT_ADDRESS_UPDATE",
    "4": "PACKAGE_UPDATE",
    "5": "PRODUCT_STATUS_CHANGE",
    "6": "SELLER_DEAUTHORIZATION",
    "7": "UPCOMING_AUTHORIZATION_EXPIRATION",
    "11": "CANCELLATION_STATUS_CHANGE",
    "12": "RETURN_STATUS_CHANGE",
    "27": "INVENTORY_STATUS_CHANGE",
}


def event_type_name(event_type: str) -> str:
    return EVENT_TYPE_NAMES.get(str(event_type), f"type {event_type}")


@dataclass(frozen=True)
class ShopCard:
    """What one shop's card shows."""

    shop: Shop
    run: SyncRun | None
    reconcile: SyncRun | None
    stats: WebhookStats
    token_expires_at: datetime | None


def shop_list(*, account) -> QuerySet[Shop]:
    return Shop.objects.filter(account=account).select_related("authorization").order_by("name", "pk")


def shop_ids(*, account) -> list[str]:
    """Every TikTok shop id of the account, connected or not (old events stay visible)."""
    return list(Shop.objects.filter(account=account).values_list("shop_id", flat=True))


def latest_progress_run(*, shop: Shop) -> SyncRun | None:
    return SyncRun.objects.filter(shop=shop, kind__in=PROGRESS_KINDS).order_by("-started_at").first()


def latest_reconcile(*, shop: Shop) -> SyncRun | None:
    return SyncRun.objects.filter(shop=shop, kind=SyncRun.Kind.RECONCILE).order_by("-started_at").first()


def shop_cards(*, account, now: datetime | None = None) -> list[ShopCard]:
    """One card per shop of the account: a handful of small indexed queries per shop (an account
    has a few shops, not hundreds)."""
    since = (now or timezone.now()) - STATS_WINDOW
    cards = []
    for shop in shop_list(account=account):
        cards.append(
            ShopCard(
                shop=shop,
                run=latest_progress_run(shop=shop),
                reconcile=latest_reconcile(shop=shop),
                stats=webhook_stats(since=since, provider=PROVIDER, sources=[shop.shop_id]),
                token_expires_at=shop.authorization.access_token_expires_at if shop.authorization else None,
            )
        )
    return cards


def recent_events(*, account, limit: int = EVENTS_SHOWN) -> list[InboundEvent]:
    """The account's latest TikTok webhook events, newest first, without their bodies."""
    ids = shop_ids(account=account)
    if not ids:
        return []
    return list(
        InboundEvent.objects.filter(provider=PROVIDER, source__in=ids)
        .defer("body", "headers")
        .order_by("-received_at", "-id")[:limit]
    )


def event_for_account(*, account, event_id) -> InboundEvent:
    """One of the account's TikTok events, else Http404 (a foreign id looks like an unknown one)."""
    try:
        pk = int(event_id)
    except (TypeError, ValueError) as exc:
        raise Http404("Not found.") from exc
    if not 0 < pk < 2**63:  # beyond a bigint the database would raise, not miss
        raise Http404("Not found.")
    event = (
        InboundEvent.objects.filter(pk=pk, provider=PROVIDER, source__in=shop_ids(account=account))
        .defer("body")
        .first()
    )
    if event is None:
        raise Http404("Not found.")
    return event
