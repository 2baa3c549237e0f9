"""Video analytics: the shop's videos, the products they feature, and a snapshot per poll.

The viral detector reads the snapshot series (views, likes, shares over time), so every poll writes
exactly one snapshot per video it saw, while videos and their product links are upserted (a re-run
adds a point to the series and nothing else). Engagement (likes, shares, comments) costs one call
per video, so it is fetched only for the videos that can still take off: those posted in the last
ENGAGEMENT_RECENT_DAYS days, and the ENGAGEMENT_TOP by views.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from inventory.models import Product

from ..client import TikTokClient
from ..models import CatalogLink, SyncRun, Video, VideoProduct, VideoSnapshot
from ..wire import TikTokError
from .runs import failing_run, run_finish, run_start, shop_job

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
PAGE_SIZE = 50
ENGAGEMENT_RECENT_DAYS = 7
ENGAGEMENT_TOP = 20
MAX_GMV = Decimal("999999999999.99")
MAX_CTR = Decimal("999.9999")


def _int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _decimal(value, places: str, cap: Decimal) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(Decimal(places))
    except (InvalidOperation, ValueError):
        return Decimal("0")
    if not number.is_finite() or number < 0 or number > cap:
        return Decimal("0")
    return number


def _posted_at(value):
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def _fetch(client: TikTokClient, today) -> list[dict]:
    start = (today - timedelta(days=WINDOW_DAYS)).isoformat()
    end = (today + timedelta(days=1)).isoformat()
    videos, token = [], ""
    while True:
        data = client.video_performance_page(
            start_date=start, end_date=end, page_size=PAGE_SIZE, page_token=token
        )
        videos.extend(v for v in data.get("videos") or [] if isinstance(v, dict) and v.get("id"))
        token = data.get("next_page_token") or ""
        if not token:
            return videos


def _engagement(client: TikTokClient, docs: list[dict], now) -> dict[str, dict]:
    """Engagement of the videos worth following; one that TikTok refuses is skipped, not fatal."""
    recent_since = now - timedelta(days=ENGAGEMENT_RECENT_DAYS)
    by_views = sorted(docs, key=lambda d: _int(d.get("views")), reverse=True)
    wanted = [str(d["id"]) for d in by_views[:ENGAGEMENT_TOP]]
    wanted += [str(d["id"]) for d in docs if (_posted_at(d.get("video_post_time")) or now) >= recent_since]
    found: dict[str, dict] = {}
    for video_id in dict.fromkeys(wanted):
        try:
            data = client.video_performance(video_id)
        except TikTokError as exc:
            if exc.retryable:
                raise
            logger.warning("tiktok: engagement of video %s refused: %s", video_id, exc)
            continue
        engagement = data.get("engagement_data")
        if isinstance(engagement, dict):
            found[video_id] = engagement
    return found


def _products_by_tiktok_id(shop, tiktok_ids) -> dict:
    """Our Product for each TikTok product id we know: through the shop's link, else by its id."""
    ids = list(set(tiktok_ids))
    known = dict(
        Product.objects.filter(account_id=shop.account_id, tiktok_product_id__in=ids).values_list(
            "tiktok_product_id", "pk"
        )
    )
    known.update(
        CatalogLink.objects.filter(shop=shop, tiktok_product_id__in=ids).values_list(
            "tiktok_product_id", "product_id"
        )
    )
    return known


def _store(shop, docs: list[dict], engagement: dict[str, dict], now) -> tuple[int, int]:
    """Upsert videos and their products and add one snapshot each, in one transaction."""
    ids = list(dict.fromkeys(str(d["id"]) for d in docs))
    docs_by_id = {str(d["id"]): d for d in docs}
    product_ids = [
        str(p["id"]) for d in docs for p in d.get("products") or [] if isinstance(p, dict) and p.get("id")
    ]
    with transaction.atomic():
        existing = {v.video_id: v for v in Video.objects.filter(shop=shop, video_id__in=ids)}
        ours = _products_by_tiktok_id(shop, product_ids)
        new, changed = [], []
        for video_id in ids:
            doc = docs_by_id[video_id]
            video = existing.get(video_id) or Video(account_id=shop.account_id, shop=shop, video_id=video_id)
            gmv = doc.get("gmv") if isinstance(doc.get("gmv"), dict) else {}
            video.title = str(doc.get("title") or "")[:300]
            video.username = str(doc.get("username") or "")[:120]
            video.posted_at = _posted_at(doc.get("video_post_time")) or video.posted_at
            video.views = _int(doc.get("views"))
            video.gmv_amount = _decimal(gmv.get("amount"), "0.01", MAX_GMV)
            video.gmv_currency = str(gmv.get("currency") or video.gmv_currency or "USD").upper()[:3]
            video.sku_orders = _int(doc.get("sku_orders"))
            video.units_sold = _int(doc.get("units_sold"))
            video.click_through_rate = _decimal(doc.get("click_through_rate"), "0.0001", MAX_CTR)
            stats = engagement.get(video_id)
            if stats:
                video.likes = _int(stats.get("total_likes"))
                video.shares = _int(stats.get("total_shares"))
                video.comments = _int(stats.get("total_comments"))
                video.views = max(video.views, _int(stats.get("total_views")))
            video.updated_at = now
            (changed if video_id in existing else new).append(video)
        Video.objects.bulk_create(new)
        if changed:
            Video.objects.bulk_update(
                changed,
                ["title", "username", "posted_at", "views", "likes", "shares", "comments", "gmv_amount",
                 "gmv_currency", "sku_orders", "units_sold", "click_through_rate", "updated_at"],
            )  # fmt: skip
        videos = {v.video_id: v for v in new + changed}
        _store_products(videos, docs_by_id, ours)
        VideoSnapshot.objects.bulk_create(
            [
                VideoSnapshot(
                    video=v,
                    captured_at=now,
                    views=v.views,
                    likes=v.likes,
                    shares=v.shares,
                    comments=v.comments,
                    units_sold=v.units_sold,
                    gmv_amount=v.gmv_amount,
                )  # fmt: skip
                for v in videos.values()
            ]
        )
    return len(new), len(changed)


def _store_products(videos: dict, docs_by_id: dict, ours: dict) -> None:
    """A video's product list as TikTok gives it now: new links added, names and matches kept
    current, links TikTok no longer lists removed."""
    current = {}
    for link in VideoProduct.objects.filter(video__in=list(videos.values())):
        current[(link.video_id, link.tiktok_product_id)] = link
    wanted, add, update = set(), [], []
    for video_id, video in videos.items():
        for raw in docs_by_id[video_id].get("products") or []:
            if not isinstance(raw, dict) or not raw.get("id"):
                continue
            key = (video.pk, str(raw["id"]))
            wanted.add(key)
            name, product_id = str(raw.get("name") or "")[:255], ours.get(key[1])
            link = current.get(key)
            if link is None:
                add.append(
                    VideoProduct(video=video, tiktok_product_id=key[1], product_id=product_id, name=name)
                )
                current[key] = add[-1]
            elif (link.name, link.product_id) != (name, product_id):
                link.name, link.product_id = name, product_id
                update.append(link)
    VideoProduct.objects.bulk_create(add)
    if update:
        VideoProduct.objects.bulk_update(update, ["name", "product"])
    stale = [link.pk for key, link in current.items() if key not in wanted and link.pk]
    if stale:
        VideoProduct.objects.filter(pk__in=stale).delete()


def videos_poll(*, shop) -> SyncRun:
    """Poll the last WINDOW_DAYS of the shop's videos and record one snapshot per video (a VIDEOS run).

    Network first, then one short transaction. When a poll of this shop is already running,
    nothing runs and that poll's run is returned.
    """
    with shop_job(shop, "videos") as acquired:
        if not acquired:
            return SyncRun.objects.filter(
                shop=shop, kind=SyncRun.Kind.VIDEOS, status=SyncRun.Status.RUNNING
            ).first()
        run = run_start(shop=shop, kind=SyncRun.Kind.VIDEOS)
        with failing_run(run):
            now = timezone.now()
            client = TikTokClient(shop=shop)
            docs = _fetch(client, now.date())
            engagement = _engagement(client, docs, now)
            created, updated = _store(shop, docs, engagement, now)
        return run_finish(
            run, total=len(docs), done=len(docs), created=created, updated=updated,
            details={"engagement_fetched": len(engagement)},
        )  # fmt: skip
