"""TikTok Shop connections and what we keep of the platform: tokens, sync runs, calls, catalogue
links, pending stock pushes and video analytics.

Ids that TikTok issues are strings (they exceed 2^53). Times TikTok sends are Unix seconds; we keep
them as integers where they guard ordering (`update_time`) and as aware datetimes where people read
them. Tokens are encrypted at rest.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from creatorflow.fields import EncryptedTextField
from inventory.models import SKU, Product


class ShopAuthorization(models.Model):
    """One seller's grant to our app (the result of one OAuth exchange): its token pair.

    TikTok issues tokens per seller, not per shop; every shop the seller authorised shares them, so
    a refresh (which invalidates the old access token) happens once, here, for all of them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tiktok_authorizations")
    open_id = models.CharField(max_length=128, help_text="TikTok's id of the seller who authorised us.")
    seller_name = models.CharField(max_length=200, blank=True)
    seller_base_region = models.CharField(max_length=8, blank=True)
    user_type = models.IntegerField(default=0)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    access_token_expires_at = models.DateTimeField()
    refresh_token_expires_at = models.DateTimeField()
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "open_id"], name="tiktok_auth_account_open_id_unique")
        ]
        indexes = [models.Index(fields=["access_token_expires_at"], name="tiktok_auth_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.seller_name or self.open_id} ({self.account_id})"


class Shop(models.Model):
    """One TikTok Shop of an account. `shop_id` is TikTok's id (a string: ids exceed 2^53)."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        SYNCING = "syncing", "Syncing"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="shops")
    authorization = models.ForeignKey(
        ShopAuthorization, on_delete=models.SET_NULL, null=True, blank=True, related_name="shops"
    )
    shop_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=8, blank=True)
    seller_type = models.CharField(max_length=32, blank=True)
    code = models.CharField(max_length=64, blank=True, help_text="TikTok's shop code.")
    cipher = models.CharField(max_length=255, blank=True, help_text="shop_cipher for shop-scoped calls.")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.CONNECTED)
    status_message = models.CharField(max_length=500, blank=True)
    # Incremental order poll: the highest update_time (Unix s) we have seen; the next poll asks from
    # a little before it (see sync.ORDER_POLL_OVERLAP).
    order_cursor = models.BigIntegerField(default=0)
    catalog_cursor = models.BigIntegerField(default=0)
    last_order_sync_at = models.DateTimeField(null=True, blank=True)
    last_catalog_sync_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["shop_id"], name="tiktok_shop_id_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.shop_id})"

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.DISCONNECTED and self.authorization_id is not None


class SyncRun(models.Model):
    """One sync job of a shop, with the progress the dashboard shows while it runs."""

    class Kind(models.TextChoices):
        FULL_IMPORT = "full_import", "First import"
        RESYNC = "resync", "Resync"
        ORDER_POLL = "order_poll", "Order poll"
        CATALOG = "catalog", "Catalogue sync"
        RECONCILE = "reconcile", "Reconciliation"
        VIDEOS = "videos", "Video analytics"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0, help_text="Items expected, when known (progress bar).")
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    # Reconciliation: orders compared, found different from TikTok, and fixed; details name them.
    checked = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    fixed = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["shop", "kind", "-started_at"], name="tiktok_syncrun_shop_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.shop_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.done / self.total))


class ApiCall(models.Model):
    """One request the client made (each attempt), for the health panel and support."""

    shop = models.ForeignKey(Shop, on_delete=models.SET_NULL, null=True, blank=True, related_name="api_calls")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=200, help_text="The path template, ids replaced by {id}.")
    code = models.IntegerField(null=True, blank=True, help_text="The envelope's code; empty when none came.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="tiktok_apicall_created_idx"),
            models.Index(fields=["shop", "-created_at"], name="tiktok_apicall_shop_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.code}"

    @property
    def ok(self) -> bool:
        return self.code == 0


class CatalogLink(models.Model):
    """Which shop lists one of our products, under which TikTok product id, as of which update."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="catalog_links")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="tiktok_links")
    tiktok_product_id = models.CharField(max_length=64)
    tiktok_status = models.CharField(max_length=40, blank=True)
    update_time = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "tiktok_product_id"], name="tiktok_link_shop_product_unique"
            )
        ]
        indexes = [models.Index(fields=["product"], name="tiktok_link_product_idx")]

    def __str__(self) -> str:
        return f"{self.tiktok_product_id} in {self.shop_id}"


class PendingStockPush(models.Model):
    """A SKU whose available quantity changed and is due to be pushed to TikTok (the debounce).

    One row per SKU however many changes happen: a burst of reservations becomes one push.
    """

    sku = models.OneToOneField(SKU, on_delete=models.CASCADE, related_name="pending_tiktok_push")
    requested_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="tiktok_push_due_idx")]

    def __str__(self) -> str:
        return f"push {self.sku_id} at {self.due_at:%H:%M:%S}"


class Video(models.Model):
    """A shop video and its latest performance figures (snapshots keep the history)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tiktok_videos")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="videos")
    video_id = models.CharField(max_length=64)
    title = models.CharField(max_length=300, blank=True)
    username = models.CharField(max_length=120, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    views = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    shares = models.BigIntegerField(default=0)
    comments = models.BigIntegerField(default=0)
    gmv_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    gmv_currency = models.CharField(max_length=3, default="USD")
    sku_orders = models.PositiveIntegerField(default=0)
    units_sold = models.PositiveIntegerField(default=0)
    click_through_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    products = models.ManyToManyField(Product, through="VideoProduct", related_name="tiktok_videos")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-views"]
        constraints = [models.UniqueConstraint(fields=["shop", "video_id"], name="tiktok_video_shop_unique")]

    def __str__(self) -> str:
        return self.title or self.video_id


class VideoProduct(models.Model):
    """A product a video features. `product` is empty while the product is not in our catalogue."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="product_links")
    tiktok_product_id = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["video", "tiktok_product_id"], name="tiktok_videoproduct_unique")
        ]

    def __str__(self) -> str:
        return f"{self.video_id} features {self.tiktok_product_id}"


class VideoSnapshot(models.Model):
    """A video's cumulative figures at one moment: the series spike detection reads."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="snapshots")
    captured_at = models.DateTimeField(default=timezone.now)
    views = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    shares = models.BigIntegerField(default=0)
    comments = models.BigIntegerField(default=0)
    units_sold = models.PositiveIntegerField(default=0)
    gmv_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["-captured_at"]
        indexes = [models.Index(fields=["video", "-captured_at"], name="tiktok_snapshot_video_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(views__gte=0), name="tiktok_snapshot_views_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} @ {self.captured_at:%Y-%m-%d %H:%M}: {self.views} views"


class PendingOrderFetch(models.Model):
    """An order a webhook said changed, waiting to be fetched with others (up to 50 ids a call).

    A burst of webhooks becomes a few batched fetches; a fetch that fails leaves the rows in place
    for the next run, so a change announced by a webhook is never lost.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="pending_order_fetches")
    order_id = models.CharField(max_length=64)
    update_time = models.BigIntegerField(default=0, help_text="The webhook's update_time, when it gave one.")
    requested_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "order_id"], name="tiktok_pending_fetch_unique")
        ]
        indexes = [models.Index(fields=["shop", "requested_at"], name="tiktok_pending_fetch_idx")]

    def __str__(self) -> str:
        return f"fetch {self.order_id} of {self.shop_id}"
