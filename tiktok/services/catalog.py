"""Products and SKUs from TikTok into inventory: the catalogue sync and the one-product refresh.

What is whose truth:
- TikTok says which products and SKUs exist, their titles, prices and status. An older product
  document never overwrites a newer one (the CatalogLink keeps the `update_time` applied last).
- Our stock is the truth for quantities, except once: a SKU this sync creates takes TikTok's
  quantities as its opening stock, written like any receipt (IN ledger rows, previous/new level) so
  `ledger_reconcile` finds the counters exact. For a SKU we already hold, a TikTok quantity that
  differs from our available stock asks the stock push to correct TikTok instead.

How it is fast enough (10,000 SKUs in about the time TikTok's 50 requests/s allow): a page of 100
products is applied in one transaction with a fixed handful of queries (matches preloaded, rows
written with bulk_create / bulk_update), and on PostgreSQL a fetching thread pages through TikTok
while this thread writes, the pages passing through a small bounded queue.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from functools import partial

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from inventory.models import (
    SKU,
    InventoryTransaction,
    Product,
    StockLevel,
    TransactionType,
    Warehouse,
)
from inventory.selectors import STATUS_IN, STATUS_LOW, STATUS_OUT
from inventory.services.alerts import alerts_evaluate, threshold_for

from ..client import TikTokClient
from ..models import CatalogLink, Shop, SyncRun
from .catalog_docs import ProductDoc, SkuDoc, as_int, parse_product
from .runs import failing_run, run_finish, run_progress, run_start, shop_job

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
CURSOR_OVERLAP = 300  # seconds asked again before the cursor: TikTok's clocks and commits may lag
FEED_DEPTH = 8  # pages fetched ahead of the writer at most
BATCH_PAGES = 5  # pages written in one transaction at most
INITIAL_STOCK_REASON = "Initial stock from TikTok Shop"
LEDGER_REFERENCE = "tiktok:catalog"
ACTOR_LABEL = "tiktok"

# TikTok's product statuses -> ours. Anything a buyer cannot buy is inactive; not yet live is draft.
STATUS_MAP = {
    "ACTIVATE": Product.Status.ACTIVE,
    "DRAFT": Product.Status.DRAFT,
    "PENDING": Product.Status.DRAFT,
    "FAILED": Product.Status.DRAFT,
    "SELLER_DEACTIVATED": Product.Status.INACTIVE,
    "PLATFORM_DEACTIVATED": Product.Status.INACTIVE,
    "FREEZE": Product.Status.INACTIVE,
    "DELETED": Product.Status.INACTIVE,
}


# --- warehouses ----------------------------------------------------------------------------------


class _Warehouses:
    """TikTok warehouse id -> our warehouse pk for one account, creating links as ids appear."""

    def __init__(self, account_id):
        self.account_id = account_id
        self.by_tiktok: dict[str, object] = {}
        self.created = 0
        self.reload()

    def reload(self) -> None:
        rows = Warehouse.objects.filter(account_id=self.account_id).exclude(tiktok_warehouse_id="")
        self.by_tiktok = dict(rows.values_list("tiktok_warehouse_id", "pk"))

    def resolve(self, tiktok_ids) -> None:
        """Link every unknown id: to the default warehouse while it has no TikTok id, else to a
        new warehouse. Runs inside the page's transaction (rare: a shop's first page)."""
        for tiktok_id in sorted(set(tiktok_ids) - set(self.by_tiktok)):
            known = Warehouse.objects.filter(account_id=self.account_id, tiktok_warehouse_id=tiktok_id)
            found = known.values_list("pk", flat=True).first()
            if found is None:
                found = self._link_default(tiktok_id) or self._create(tiktok_id)
            self.by_tiktok[tiktok_id] = found

    def _link_default(self, tiktok_id: str):
        default = (
            Warehouse.objects.select_for_update()
            .filter(account_id=self.account_id, is_default=True, tiktok_warehouse_id="")
            .first()
        )
        if default is None:
            return None
        Warehouse.objects.filter(pk=default.pk).update(tiktok_warehouse_id=tiktok_id)
        return default.pk

    def _create(self, tiktok_id: str):
        taken = set(Warehouse.objects.filter(account_id=self.account_id).values_list("code", flat=True))
        base = f"TT{tiktok_id[-6:]}"
        code, n = base, 1
        while code in taken:
            n += 1
            code = f"{base}-{n}"[:20]
        has_default = Warehouse.objects.filter(account_id=self.account_id, is_default=True).exists()
        warehouse = Warehouse.objects.create(
            account_id=self.account_id,
            name=f"TikTok warehouse {tiktok_id}"[:120],
            code=code,
            is_default=not has_default,
            tiktok_warehouse_id=tiktok_id,
        )
        self.created += 1
        logger.info("tiktok: new warehouse %s for TikTok warehouse %s", warehouse.pk, tiktok_id)
        return warehouse.pk


# --- applying documents --------------------------------------------------------------------------


@dataclass
class PageResult:
    products: int = 0
    skipped_older: int = 0
    skus_created: int = 0
    skus_updated: int = 0
    max_update_time: int = 0
    conflicts: list[str] = field(default_factory=list)


@dataclass
class _Writes:
    new_products: list = field(default_factory=list)
    changed_products: list = field(default_factory=list)
    new_links: list = field(default_factory=list)
    changed_links: list = field(default_factory=list)
    new_skus: list = field(default_factory=list)
    changed_skus: list = field(default_factory=list)
    levels: list = field(default_factory=list)
    ledger: list = field(default_factory=list)
    push: list = field(default_factory=list)


class _Page:
    """One batch of product documents applied in one transaction (see `apply_products`)."""

    def __init__(self, shop, warehouses: _Warehouses, docs: list[ProductDoc]):
        self.shop = shop
        self.account_id = shop.account_id
        self.warehouses = warehouses
        newest: dict[str, ProductDoc] = {}
        for doc in docs:  # a product listed twice in a batch: its newest document
            if doc.tiktok_id not in newest or newest[doc.tiktok_id].update_time < doc.update_time:
                newest[doc.tiktok_id] = doc
        self.docs = list(newest.values())
        self.result = PageResult(products=len(self.docs))
        self.result.max_update_time = max((d.update_time for d in self.docs), default=0)
        self.writes = _Writes()
        self.new_product_pks: set = set()
        self.now = timezone.now()

    # reads: a fixed number of queries for the whole page
    def _preload(self) -> list[ProductDoc]:
        pids = [d.tiktok_id for d in self.docs]
        self.links = {
            link.tiktok_product_id: link
            for link in CatalogLink.objects.filter(shop=self.shop, tiktok_product_id__in=pids)
        }
        fresh = [
            d for d in self.docs if d.tiktok_id not in self.links or self.links[d.tiktok_id].update_time <= d.update_time
        ]  # fmt: skip
        self.result.skipped_older = len(self.docs) - len(fresh)
        sku_ids = [s.tiktok_id for d in fresh for s in d.skus]
        seller_skus = [self._seller_sku_of(s) for d in fresh for s in d.skus]
        matched = list(
            SKU.objects.filter(account_id=self.account_id).filter(
                Q(tiktok_sku_id__in=sku_ids) | Q(seller_sku__in=seller_skus)
            )
        )
        self.sku_by_tiktok = {s.tiktok_sku_id: s for s in matched if s.tiktok_sku_id}
        self.sku_by_seller = {s.seller_sku: s for s in matched}
        product_pks = {link.product_id for link in self.links.values()} | {s.product_id for s in matched}
        products = list(
            Product.objects.filter(account_id=self.account_id).filter(
                Q(tiktok_product_id__in=[d.tiktok_id for d in fresh]) | Q(pk__in=product_pks)
            )
        )
        self.product_by_pk = {p.pk: p for p in products}
        self.product_by_tiktok = {p.tiktok_product_id: p for p in products if p.tiktok_product_id}
        self.available: dict[tuple, int] = {}
        for sku_id, warehouse_id, on_hand, reserved in StockLevel.objects.filter(
            sku_id__in=[s.pk for s in matched]
        ).values_list("sku_id", "warehouse_id", "on_hand", "reserved"):
            self.available[(sku_id, warehouse_id)] = on_hand - reserved
        self.warehouses.resolve({wh for d in fresh for s in d.skus for wh, _ in s.inventory})
        return fresh

    @staticmethod
    def _seller_sku_of(sku_doc: SkuDoc) -> str:
        return sku_doc.seller_sku or f"TT-{sku_doc.tiktok_id}"[:100]

    def _product_for(self, doc: ProductDoc, claimed: set):
        """Ours for this TikTok product: the linked one, the one carrying its id, or the product of
        a SKU we already hold (a demo or CSV product gets adopted); else a new one."""
        link = self.links.get(doc.tiktok_id)
        product = self.product_by_pk.get(link.product_id) if link else None
        product = product or self.product_by_tiktok.get(doc.tiktok_id)
        if product is None:
            for sku_doc in doc.skus:
                held = self.sku_by_tiktok.get(sku_doc.tiktok_id) or self.sku_by_seller.get(
                    self._seller_sku_of(sku_doc)
                )
                candidate = self.product_by_pk.get(held.product_id) if held else None
                if candidate is not None and candidate.pk not in claimed and not candidate.tiktok_product_id:
                    product = candidate
                    break
        if product is None:
            product = Product(
                account_id=self.account_id, name=doc.title or doc.tiktok_id, status=Product.Status.DRAFT
            )
            product.tiktok_product_id = doc.tiktok_id
            self.writes.new_products.append(product)
            self.new_product_pks.add(product.pk)
            self.product_by_pk[product.pk] = product
            self.product_by_tiktok[doc.tiktok_id] = product
        claimed.add(product.pk)
        return product

    def _plan_product(self, doc: ProductDoc, claimed: set, used_skus: set, new_seller_skus: set) -> None:
        product = self._product_for(doc, claimed)
        status = STATUS_MAP.get(doc.status, product.status)
        name = doc.title or product.name
        if product.pk in self.new_product_pks:
            product.name, product.status = name, status
        elif (product.name, product.status, product.tiktok_product_id) != (name, status, doc.tiktok_id):
            product.name, product.status, product.tiktok_product_id = name, status, doc.tiktok_id
            product.updated_at = self.now
            self.writes.changed_products.append(product)
        link = self.links.get(doc.tiktok_id)
        if link is None:
            self.writes.new_links.append(
                CatalogLink(
                    shop=self.shop,
                    product_id=product.pk,
                    tiktok_product_id=doc.tiktok_id,
                    tiktok_status=doc.status[:40],
                    update_time=doc.update_time,
                    synced_at=self.now,
                )
            )
        else:
            link.product_id, link.tiktok_status = product.pk, doc.status[:40]
            link.update_time, link.synced_at = doc.update_time, self.now
            self.writes.changed_links.append(link)
        for sku_doc in doc.skus:
            self._plan_sku(doc, sku_doc, product, used_skus, new_seller_skus)

    def _plan_sku(self, doc, sku_doc: SkuDoc, product, used_skus: set, new_seller_skus: set) -> None:
        seller_sku = self._seller_sku_of(sku_doc)
        sku = self.sku_by_tiktok.get(sku_doc.tiktok_id)
        if sku is None:
            held = self.sku_by_seller.get(seller_sku)
            if held is not None and held.tiktok_sku_id not in ("", sku_doc.tiktok_id):
                # The seller reused a seller SKU for another TikTok SKU: ours stays with the first.
                logger.warning(
                    "tiktok: seller SKU %s is TikTok SKU %s here but %s in the catalogue; skipped",
                    seller_sku, held.tiktok_sku_id, sku_doc.tiktok_id,
                )  # fmt: skip
                self.result.conflicts.append(seller_sku)
                return
            sku = held
        if sku is not None and sku.pk in used_skus:
            self.result.conflicts.append(seller_sku)
            return
        if sku is None:
            self._new_sku(doc, sku_doc, product, seller_sku, new_seller_skus)
            return
        used_skus.add(sku.pk)
        wanted = (sku_doc.tiktok_id, product.pk, sku_doc.price, sku_doc.currency)
        if (sku.tiktok_sku_id, sku.product_id, sku.price, sku.currency) != wanted:
            sku.tiktok_sku_id, sku.product_id, sku.price, sku.currency = wanted
            sku.updated_at = self.now
            self.writes.changed_skus.append(sku)
        self.result.skus_updated += 1
        for tiktok_wh, quantity in sku_doc.inventory:
            ours = self.warehouses.by_tiktok[tiktok_wh]
            if self.available.get((sku.pk, ours), 0) != quantity:
                self.writes.push.append(str(sku.pk))  # our stock wins: correct TikTok
                break

    def _new_sku(self, doc, sku_doc: SkuDoc, product, seller_sku: str, new_seller_skus: set) -> None:
        if seller_sku in new_seller_skus or seller_sku in self.sku_by_seller:
            seller_sku = f"{seller_sku[:80]}-{sku_doc.tiktok_id[-12:]}"
        new_seller_skus.add(seller_sku)
        title = doc.title or product.name
        sku = SKU(
            account_id=self.account_id,
            product_id=product.pk,
            seller_sku=seller_sku,
            tiktok_sku_id=sku_doc.tiktok_id,
            name=f"{title} {sku_doc.variant}".strip()[:255],
            variant=sku_doc.variant,
            price=sku_doc.price,
            currency=sku_doc.currency,
        )
        self.writes.new_skus.append(sku)
        self.result.skus_created += 1
        for tiktok_wh, quantity in sku_doc.inventory:
            if quantity <= 0:
                continue
            warehouse_id = self.warehouses.by_tiktok[tiktok_wh]
            self.writes.levels.append(
                StockLevel(
                    sku_id=sku.pk, warehouse_id=warehouse_id, on_hand=quantity, version=1, updated_at=self.now
                )
            )
            self.writes.ledger.append(
                InventoryTransaction(
                    account_id=self.account_id,
                    sku_id=sku.pk,
                    warehouse_id=warehouse_id,
                    type=TransactionType.IN,
                    quantity=quantity,
                    previous_level=0,
                    new_level=quantity,
                    reason=INITIAL_STOCK_REASON,
                    reference=LEDGER_REFERENCE,
                    actor=None,
                    actor_label=ACTOR_LABEL,
                    created_at=self.now,
                )
            )

    def _write(self) -> None:
        w = self.writes
        Product.objects.bulk_create(w.new_products)
        if w.changed_products:
            Product.objects.bulk_update(
                w.changed_products, ["name", "status", "tiktok_product_id", "updated_at"]
            )
        CatalogLink.objects.bulk_create(w.new_links)
        if w.changed_links:
            CatalogLink.objects.bulk_update(
                w.changed_links, ["product", "tiktok_status", "update_time", "synced_at"]
            )
        SKU.objects.bulk_create(w.new_skus)
        if w.changed_skus:
            SKU.objects.bulk_update(
                w.changed_skus, ["tiktok_sku_id", "product", "price", "currency", "updated_at"]
            )
        StockLevel.objects.bulk_create(w.levels)
        InventoryTransaction.objects.bulk_create(w.ledger)

    def _opening_summary(self) -> None:
        """New SKUs' stock summary (list filters read it), set before they are inserted.

        A new SKU has no reservations and no sales history, so inventory's rule reduces to its
        opening units against the default threshold (`threshold_for`); the alert check runs after
        commit only for SKUs that open at or below it, as `stock_reserve` does.
        """
        threshold = threshold_for(low_stock_threshold=None, avg_monthly_sales=0)
        opening: dict = {}
        for level in self.writes.levels:
            opening[level.sku_id] = opening.get(level.sku_id, 0) + level.on_hand
        low = []
        for sku in self.writes.new_skus:
            units = opening.get(sku.pk, 0)
            sku.summary_available, sku.summary_days_of_cover, sku.summary_updated_at = units, None, self.now
            sku.summary_status = STATUS_OUT if units <= 0 else STATUS_LOW if units <= threshold else STATUS_IN
            if units <= threshold:
                low.append(str(sku.pk))
        if low:
            transaction.on_commit(partial(alerts_evaluate, sku_ids=low), robust=True)

    def apply(self) -> PageResult:
        with transaction.atomic():
            fresh = self._preload()
            claimed: set = set()
            used_skus: set = set()
            new_seller_skus: set = set()
            for doc in fresh:
                self._plan_product(doc, claimed, used_skus, new_seller_skus)
            self._opening_summary()
            self._write()
            if self.writes.push:
                from .stock_push import stock_changed

                transaction.on_commit(
                    partial(stock_changed, sku_ids=sorted(set(self.writes.push))), robust=True
                )
        return self.result


def apply_products(*, shop, docs: list[dict], warehouses: _Warehouses | None = None) -> PageResult:
    """Apply TikTok product documents to our catalogue in one transaction (the sync's page and the
    webhook refresh share it). A unique-constraint race with a concurrent writer of the same
    product (a webhook during the sync) is retried once: the second pass finds the winner's rows."""
    parsed = [p for p in (parse_product(d) for d in docs) if p is not None]
    if len(parsed) != len(docs):
        logger.warning("tiktok: %s product documents without an id skipped", len(docs) - len(parsed))
    warehouses = warehouses or _Warehouses(shop.account_id)
    try:
        return _Page(shop, warehouses, parsed).apply()
    except IntegrityError:
        logger.info("tiktok: catalogue write of shop %s raced another writer; retrying", shop.pk)
        warehouses.reload()
        return _Page(shop, warehouses, parsed).apply()


# --- fetching --------------------------------------------------------------------------------------


class _PageFeed:
    """Pages of `products/search`, fetched ahead by a thread while the caller writes.

    The thread has its own database connection (the client records its calls), so it is used only
    on PostgreSQL and outside a transaction: SQLite serialises writers anyway, and rows of an open
    transaction would be invisible to the thread (on PostgreSQL it would even wait for them).
    """

    def __init__(self, shop, filters: dict):
        self.shop = shop
        self.filters = filters
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self._queue: queue.Queue = queue.Queue(maxsize=FEED_DEPTH)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pages(self):
        return TikTokClient(shop=self.shop).iter_product_pages(page_size=PAGE_SIZE, **self.filters)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _fetch(self) -> None:
        try:
            for data in self._pages():
                if not self._put(("page", data)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the writer, which raises it in its own thread
            self._put(("error", exc))
        finally:
            connections.close_all()  # this thread's connections only

    def __enter__(self) -> _PageFeed:
        if self.threaded:
            self._thread = threading.Thread(
                target=self._fetch, name=f"tiktok-catalog-{self.shop.pk}", daemon=True
            )
            self._thread.start()
        return self

    def __iter__(self):
        """Batches of pages: one page while the writer keeps up, up to BATCH_PAGES when pages have
        queued (one transaction for several pages costs less than one each)."""
        if not self.threaded:
            for page in self._pages():
                yield [page]
            return
        finished, failure = False, None
        while not finished and failure is None:
            batch: list = []
            kind, item = self._take()
            while True:
                if kind == "end":
                    finished = True
                    break
                if kind == "error":
                    failure = item
                    break
                batch.append(item)
                if len(batch) >= BATCH_PAGES:
                    break
                try:
                    kind, item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch  # what arrived before a failure is still written
        if failure is not None:
            raise failure

    def _take(self):
        while True:
            try:
                return self._queue.get(timeout=1.0)
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive():
                    raise RuntimeError("the catalogue fetch thread ended without a word") from None

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


# --- the services ------------------------------------------------------------------------------------


def catalog_sync(*, shop, full: bool = False, run=None) -> SyncRun:
    """Bring the shop's products and SKUs into inventory; progress on `run` (else a CATALOG run).

    Incremental unless `full` (or no cursor yet): asks for products updated since the cursor minus
    CURSOR_OVERLAP. A run passed in belongs to the caller (the first import), who finishes it.
    When another catalogue sync of the shop holds the lock, nothing runs and the run in progress
    (or the one passed in) is returned.
    """
    with shop_job(shop, "catalog") as acquired:
        if not acquired:
            logger.info("tiktok: catalogue sync of shop %s already running; skipped", shop.pk)
            running = SyncRun.objects.filter(
                shop=shop, kind=SyncRun.Kind.CATALOG, status=SyncRun.Status.RUNNING
            )
            return run or running.first()
        own_run = run is None
        if own_run:
            run = run_start(shop=shop, kind=SyncRun.Kind.CATALOG)
        filters = {}
        if not full and shop.catalog_cursor > 0:
            filters["update_time_ge"] = max(0, shop.catalog_cursor - CURSOR_OVERLAP)
        with failing_run(run if own_run else None):  # a caller's run is finished by the caller
            summary = _sync_pages(shop=shop, run=run, filters=filters, own_run=own_run)
        cursor = max(shop.catalog_cursor, summary["max_update_time"])
        now = timezone.now()
        Shop.objects.filter(pk=shop.pk).update(catalog_cursor=cursor, last_catalog_sync_at=now)
        shop.catalog_cursor, shop.last_catalog_sync_at = cursor, now
        if own_run:
            run_finish(run, details=summary)
    return run


def _sync_pages(*, shop, run, filters: dict, own_run: bool) -> dict:
    warehouses = _Warehouses(shop.account_id)
    summary = {"pages": 0, "products": 0, "skipped_older": 0, "max_update_time": 0, "sku_conflicts": []}
    base_total = 0 if own_run else run.total
    with _PageFeed(shop, filters) as feed:
        for pages in feed:
            docs = [doc for data in pages for doc in data.get("products") or []]
            total = None
            if summary["pages"] == 0 and pages[0].get("total_count") is not None:
                total = base_total + as_int(pages[0].get("total_count"))
            result = apply_products(shop=shop, docs=docs, warehouses=warehouses) if docs else PageResult()
            summary["pages"] += len(pages)
            summary["products"] += result.products
            summary["skipped_older"] += result.skipped_older
            summary["max_update_time"] = max(summary["max_update_time"], result.max_update_time)
            summary["sku_conflicts"].extend(result.conflicts[:20])
            run_progress(
                run,
                done=result.products,
                created=result.skus_created,
                updated=result.skus_updated,
                total=total,
            )
    summary["sku_conflicts"] = summary["sku_conflicts"][:50]
    summary["warehouses_created"] = warehouses.created
    return summary


def product_refresh(*, shop, product_id: str, update_time: int = 0) -> None:
    """A webhook said the product changed (types 5 and 27): fetch it and apply it like a sync page.

    Skipped when what we applied last is at least as new as the webhook's `update_time`.
    """
    product_id = str(product_id)
    if update_time > 0:
        stored = (
            CatalogLink.objects.filter(shop=shop, tiktok_product_id=product_id)
            .values_list("update_time", flat=True)
            .first()
        )
        if stored is not None and stored >= update_time:
            logger.info("tiktok: product %s already applied at %s >= %s", product_id, stored, update_time)
            return
    doc = TikTokClient(shop=shop).get_product(product_id)
    apply_products(shop=shop, docs=[doc])
