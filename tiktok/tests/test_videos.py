"""Video analytics from the sandbox: videos, the products they feature, one snapshot per poll."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tiktok.models import SyncRun, Video, VideoProduct, VideoSnapshot
from tiktok.services.catalog import catalog_sync
from tiktok.services.videos import videos_poll
from tiktok.tests.connected import connect_sandbox_shop

pytestmark = pytest.mark.django_db


def test_videos_are_stored_with_their_products_and_one_snapshot_per_poll(tiktok_sandbox):
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    ours = tiktok_sandbox.add_product(
        sb_shop["id"], title="Glow Serum", skus=[{"seller_sku": "GS-1", "quantity": 5}]
    )
    catalog_sync(shop=shop, full=True)
    elsewhere = tiktok_sandbox.add_product(sb_shop["id"], title="Not imported", skus=[{"seller_sku": "NI-1"}])
    viral = tiktok_sandbox.add_video(
        sb_shop["id"], title="GRWM with Glow Serum", product_ids=[ours["id"], elsewhere["id"]], views=24000
    )
    quiet = tiktok_sandbox.add_video(sb_shop["id"], title="Desk tour", views=600)

    run = videos_poll(shop=shop)

    assert run.kind == SyncRun.Kind.VIDEOS and run.status == SyncRun.Status.DONE
    assert (run.created, run.updated) == (2, 0)
    video = Video.objects.get(shop=shop, video_id=viral["id"])
    assert video.account == shop.account and video.title == "GRWM with Glow Serum"
    assert (video.views, video.likes, video.shares, video.comments) == (24000, 2000, 160, 266)
    assert video.click_through_rate == Decimal(viral["click_through_rate"])
    assert video.posted_at is not None and video.posted_at.timestamp() == viral["video_post_time"]
    links = {vp.tiktok_product_id: vp for vp in VideoProduct.objects.filter(video=video)}
    assert links[ours["id"]].product.tiktok_product_id == ours["id"]
    assert links[elsewhere["id"]].product is None and links[elsewhere["id"]].name == "Not imported"
    assert VideoSnapshot.objects.filter(video=video).count() == 1
    assert Video.objects.get(video_id=quiet["id"]).views == 600

    tiktok_sandbox.bump_video(viral["id"], views=6000, likes=900)
    again = videos_poll(shop=shop)

    assert (again.created, again.updated) == (0, 2)
    assert Video.objects.filter(shop=shop).count() == 2
    assert VideoProduct.objects.filter(video=video).count() == 2
    series = list(
        VideoSnapshot.objects.filter(video=video).order_by("captured_at").values_list("views", "likes")
    )
    assert series == [(24000, 2000), (30000, 2900)]
    assert VideoSnapshot.objects.count() == 4


def test_a_video_that_loses_a_product_loses_the_link(tiktok_sandbox):
    sb_shop, shop = connect_sandbox_shop(tiktok_sandbox)
    product = tiktok_sandbox.add_product(sb_shop["id"], title="Balm", skus=[{"seller_sku": "B-1"}])
    video = tiktok_sandbox.add_video(sb_shop["id"], title="Balm review", product_ids=[product["id"]])
    videos_poll(shop=shop)
    assert VideoProduct.objects.count() == 1
    with tiktok_sandbox.state.lock:
        tiktok_sandbox.state.videos[video["id"]].product_ids = []

    videos_poll(shop=shop)

    assert VideoProduct.objects.count() == 0
    assert Video.objects.count() == 1
