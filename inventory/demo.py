"""The demo catalogue for `manage.py load_demo`: a cosmetics brand with a month of sales.

`load_demo_inventory(account=..., actor=...)` is idempotent: warehouses, suppliers, products and
SKUs are found by their codes, and a SKU's history (receipts, orders, open reservations) is written
only when the SKU itself is created, so a second run changes nothing.

How the history is written, and why not every row goes through the services:
- the opening stock is received with `stock_receive` (IN ledger rows), then dated 31 days back;
- a month of shipped orders (~3,000 lines) is written in bulk: consumed `Reservation` rows and
  their OUT ledger rows, each with the level before and after, in time order per warehouse, and the
  counters moved by the same total with one UPDATE per stock level. Going through
  `stock_reserve` + `reservation_consume` for each would take ~30 s on SQLite; the bulk rows are
  exactly what those two functions write, so `ledger_reconcile` finds no drift;
- the orders of the last few hours are still open: `stock_reserve`, then dated back;
- one large recount goes through `stock_adjust` and so waits for staff approval;
- finally the 30-day sales rate is refreshed and alerts are evaluated, as the nightly jobs would.
Randomness is seeded, so every install gets the same shop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import (
    SKU,
    Adjustment,
    InventoryTransaction,
    Product,
    Reservation,
    StockLevel,
    Supplier,
    TransactionType,
    Warehouse,
)

SEED = 20240601
HISTORY_DAYS = 30
OPEN_ORDER_HOURS = 5  # orders placed this recently are not shipped yet

WAREHOUSES = (
    {
        "code": "LA1",
        "name": "Los Angeles",
        "is_default": True,
        "contact_name": "Glow Lab Fulfilment",
        "phone": "+1 213 555 0142",
        "address_line1": "1450 E 7th St",
        "address_line2": "Unit 4",
        "city": "Los Angeles",
        "state": "CA",
        "postal_code": "90021",
    },
    {
        "code": "NJ1",
        "name": "New Jersey",
        "is_default": False,
        "contact_name": "East Coast Dock",
        "phone": "+1 201 555 0187",
        "address_line1": "300 Meadowlands Pkwy",
        "city": "Secaucus",
        "state": "NJ",
        "postal_code": "07094",
    },
)
SUPPLIERS = (
    {
        "name": "Shenzhen Bloom Cosmetics Co.",
        "email": "orders@bloom-cosmetics.example.com",
        "lead_time_days": 21,
    },
    {"name": "PureLab Packaging & Fill (NJ)", "email": "po@purelab.example.com", "lead_time_days": 7},
)

# (product, code, [(variant, code)], price, cost, grams, supplier index, units a day per variant)
CATALOGUE = (
    (
        "Cloud Jelly Lip Oil",
        "LO",
        [("Berry", "BER"), ("Peach", "PCH"), ("Clear", "CLR"), ("Cherry", "CHY"), ("Mocha", "MOC")],
        "14.00",
        "3.20",
        28,
        0,
        6.0,
    ),
    ("Dewy Skin Glow Serum", "GS", [("30 ml", "30"), ("50 ml", "50")], "28.00", "6.90", 95, 1, 5.0),
    (
        "Velvet Matte Lipstick",
        "VL",
        [("Rosewood", "RSW"), ("Brick", "BRK"), ("Nude Rose", "NDR"), ("Ruby", "RBY")],
        "18.00",
        "3.80",
        35,
        0,
        2.0,
    ),
    ("Barrier Repair Moisturizer", "BM", [("50 ml", "50")], "32.00", "7.40", 120, 1, 3.0),
    (
        "Cloud Blush Stick",
        "BS",
        [("Pink Cloud", "PNK"), ("Apricot", "APR"), ("Berry Crush", "BRY")],
        "22.00",
        "4.60",
        40,
        0,
        2.5,
    ),
    (
        "Brow Sculpt Gel",
        "BG",
        [("Clear", "CLR"), ("Taupe", "TAU"), ("Brown", "BRN"), ("Dark Brown", "DBR")],
        "16.00",
        "2.90",
        30,
        0,
        1.5,
    ),
    ("Lash Lift Mascara", "LM", [("Black", "BLK"), ("Brown Black", "BBK")], "19.00", "3.60", 32, 0, 3.0),
    ("Hydra Setting Spray", "SS", [("100 ml", "100"), ("Travel 30 ml", "30")], "24.00", "4.20", 140, 1, 2.0),
    (
        "Glow Drops Highlighter",
        "GD",
        [("Champagne", "CHP"), ("Rose Gold", "RGD"), ("Bronze", "BRZ")],
        "26.00",
        "5.10",
        60,
        0,
        1.5,
    ),
    ("Pore Blur Primer", "PB", [("30 ml", "30")], "24.00", "5.00", 70, 1, 2.0),
    (
        "Skin Tint SPF 30",
        "ST",
        [
            ("Fair", "FAI"),
            ("Light", "LGT"),
            ("Light Medium", "LMD"),
            ("Medium", "MED"),
            ("Tan", "TAN"),
            ("Deep", "DEP"),
        ],
        "30.00",
        "6.40",
        65,
        1,
        1.5,
    ),
    ("Hydrating Cleansing Balm", "CB", [("100 g", "100")], "26.00", "5.60", 150, 1, 1.2),
    ("Overnight Lip Mask", "OM", [("Berry", "BER"), ("Vanilla", "VAN")], "18.00", "3.10", 25, 0, 1.8),
    (
        "Concealer Pen",
        "CP",
        [("Fair", "FAI"), ("Light", "LGT"), ("Medium", "MED"), ("Tan", "TAN"), ("Deep", "DEP")],
        "20.00",
        "3.90",
        22,
        0,
        1.0,
    ),
    ("Vitamin C Brightening Toner", "VT", [("150 ml", "150")], "22.00", "4.30", 190, 1, 1.0),
    (
        "Precision Lip Liner",
        "LL",
        [("Nude", "NUD"), ("Rose", "RSE"), ("Berry", "BER")],
        "12.00",
        "1.70",
        12,
        0,
        0.8,
    ),
    ("Makeup Sponge Duo", "SP", [("", "")], "10.00", "1.40", 30, 0, 0.6),
    ("Jade Facial Roller", "JR", [("", "")], "24.00", "5.80", 180, 0, 0.0),
)
# Days of cover left after the month, by position in the catalogue: some out, some low, most fine.
COVER_PLAN = (9, 14, 2.0, 25, 40, 18, 60, 30, 12, 0, 45, 22, 35, 8, 50, 16, 1.5, 28, 20, 33, 11, 0, 26, 4, 19)
# A SKU meant to be fine keeps at least this much, above the default low-stock threshold (10).
FINE_MINIMUM = 14
# The viral SKU sells this many times its usual rate over the last two days.
VIRAL_SKU = "GL-LO-BER"
VIRAL_FACTOR = 4.0
PENDING_RECOUNT_SKU = "GL-GS-50"
NO_SALES_STOCK = 60


@dataclass
class _Plan:
    sku: SKU
    per_day: float
    cover_days: float


def _catalogue_rows():
    for product, code, variants, price, cost, grams, supplier, per_day in CATALOGUE:
        for variant, variant_code in variants:
            seller_sku = f"GL-{code}-{variant_code}" if variant_code else f"GL-{code}"
            name = f"{product} {variant}".strip() if variant else product
            yield product, variant, seller_sku, name, Decimal(price), Decimal(cost), grams, supplier, per_day


def load_demo_inventory(*, account, actor) -> dict[str, int]:
    """Create the demo catalogue and its history for `account` (idempotent). Returns counts created."""
    from .services.alerts import alerts_evaluate
    from .velocity import refresh_avg_monthly_sales

    now = timezone.now()
    rng = random.Random(SEED)
    with transaction.atomic():
        warehouses = [
            Warehouse.objects.get_or_create(account=account, code=w["code"], defaults=w)[0]
            for w in WAREHOUSES
        ]
        suppliers = [
            Supplier.objects.get_or_create(account=account, name=s["name"], defaults=s)[0] for s in SUPPLIERS
        ]
        products: dict[str, Product] = {}
        plans: list[_Plan] = []
        for index, (product, variant, seller_sku, name, price, cost, grams, supplier, per_day) in enumerate(
            _catalogue_rows()
        ):
            if product not in products:
                products[product] = Product.objects.get_or_create(account=account, name=product)[0]
            sku, created = SKU.objects.get_or_create(
                account=account,
                seller_sku=seller_sku,
                defaults={
                    "product": products[product],
                    "name": name,
                    "variant": variant,
                    "price": price,
                    "cost": cost,
                    "weight_grams": grams,
                    "length_mm": 90,
                    "width_mm": 50,
                    "height_mm": 40,
                    "location": f"A{index // 10 + 1}-{index % 10 + 1:02d}",
                    "supplier": suppliers[supplier],
                },
            )
            if created:
                # vary the rate a little between variants so the list does not look generated
                spread = per_day * rng.uniform(0.6, 1.4) if per_day else 0.0
                plans.append(_Plan(sku, spread, COVER_PLAN[index % len(COVER_PLAN)]))
        if not plans:
            return {"skus": 0, "orders": 0}
        orders = _write_history(plans=plans, warehouses=warehouses, actor=actor, rng=rng, now=now)
        _request_recount(account=account, actor=actor)
        refresh_avg_monthly_sales(account=account, now=now)
        alerts_evaluate(sku_ids=[plan.sku.pk for plan in plans])
    return {"skus": len(plans), "orders": orders}


def _order_times(plan: _Plan, rng: random.Random, now) -> list:
    """When this SKU's order lines were placed over the last 30 days, busier in the evening (UTC)."""
    times = []
    for day in range(HISTORY_DAYS):
        rate = plan.per_day
        if plan.sku.seller_sku == VIRAL_SKU and day < 2:
            rate *= VIRAL_FACTOR
        units = sum(1 for _ in range(int(rate * 3)) if rng.random() < 1 / 3)
        for _ in range(units):
            hour = rng.choice((1, 2, 3, 4, 5, 15, 17, 18, 19, 20, 21, 22, 23, 23, 0, 1, 2))
            moment = (now - timedelta(days=day)).replace(hour=hour, minute=rng.randrange(60))
            if moment < now and moment > now - timedelta(days=HISTORY_DAYS):
                times.append(moment)
    return sorted(times)


def _write_history(*, plans: list[_Plan], warehouses: list[Warehouse], actor, rng: random.Random, now) -> int:
    from .services.stock import ReservationLine, stock_receive, stock_reserve

    la, nj = warehouses
    opened = now - timedelta(days=HISTORY_DAYS + 1)
    reservations: list[Reservation] = []
    ledger: list[InventoryTransaction] = []
    open_orders: list[tuple[SKU, Warehouse, int, object]] = []
    shipped_totals: dict[tuple, int] = {}
    sequence = 0
    for plan in plans:
        sku = plan.sku
        lines = []  # (placed_at, warehouse, quantity)
        for placed_at in _order_times(plan, rng, now):
            quantity = 2 if rng.random() < 0.15 else 1
            lines.append((placed_at, la if rng.random() < 0.75 else nj, quantity))
        open_lines = [line for line in lines if line[0] > now - timedelta(hours=OPEN_ORDER_HOURS)]
        if not plan.per_day:
            left = NO_SALES_STOCK
        elif plan.cover_days < 3:  # meant to be out or critically low
            left = round(plan.per_day * plan.cover_days)
        else:
            left = max(round(plan.per_day * plan.cover_days), FINE_MINIMUM)
        # opening stock per warehouse = what it shipped + what it holds + its share of what is left
        opening = {la.pk: round(left * 0.7), nj.pk: left - round(left * 0.7)}
        for _, warehouse, quantity in lines:
            opening[warehouse.pk] += quantity
        for warehouse in (la, nj):
            if opening[warehouse.pk] > 0:
                stock_receive(
                    sku=sku,
                    warehouse=warehouse,
                    quantity=opening[warehouse.pk],
                    reference="demo:opening",
                    reason="Opening stock",
                    actor=actor,
                )
        level = dict(opening)
        shipped: list[InventoryTransaction] = []
        for placed_at, warehouse, quantity in lines:
            sequence += 1
            order_ref = f"order:DEMO-{sequence:05d}"
            if (placed_at, warehouse, quantity) in open_lines:
                open_orders.append((sku, warehouse, quantity, placed_at, order_ref))
                continue
            shipped_at = min(placed_at + timedelta(hours=rng.uniform(3, 20)), now - timedelta(minutes=5))
            reservations.append(
                Reservation(
                    account_id=sku.account_id,
                    sku=sku,
                    warehouse=warehouse,
                    order_ref=order_ref,
                    quantity=quantity,
                    status=Reservation.Status.CONSUMED,
                    created_at=placed_at,
                    closed_at=shipped_at,
                    close_reason="shipped",
                )
            )
            shipped.append(
                InventoryTransaction(
                    account_id=sku.account_id,
                    sku=sku,
                    warehouse=warehouse,
                    type=TransactionType.OUT,
                    quantity=-quantity,
                    previous_level=0,  # set below, in time order
                    new_level=0,
                    reason="Shipped",
                    reference=order_ref,
                    actor_label="system",
                    created_at=shipped_at,
                )
            )
            shipped_totals[(sku.pk, warehouse.pk)] = shipped_totals.get((sku.pk, warehouse.pk), 0) + quantity
        shipped.sort(key=lambda e: e.created_at)  # ids follow time, as when written one by one
        for entry in shipped:
            entry.previous_level = level[entry.warehouse_id]
            entry.new_level = entry.previous_level + entry.quantity
            level[entry.warehouse_id] = entry.new_level
        ledger.extend(shipped)
    InventoryTransaction.objects.filter(sku__in=[p.sku for p in plans], reference="demo:opening").update(
        created_at=opened
    )
    Reservation.objects.bulk_create(reservations, batch_size=1000)
    InventoryTransaction.objects.bulk_create(ledger, batch_size=1000)
    for (sku_id, warehouse_id), total in shipped_totals.items():
        StockLevel.objects.filter(sku_id=sku_id, warehouse_id=warehouse_id).update(
            on_hand=F("on_hand") - total, version=F("version") + 1
        )
    for sku, warehouse, quantity, placed_at, order_ref in open_orders:
        stock_reserve(
            account=sku.account,
            order_ref=order_ref,
            lines=[ReservationLine(sku_id=sku.pk, quantity=quantity, warehouse_id=warehouse.pk)],
            actor=actor,
        )
        Reservation.objects.filter(order_ref=order_ref).update(created_at=placed_at)
    return len(reservations) + len(open_orders)


def _request_recount(*, account, actor) -> None:
    """One recount above the approval limit, waiting for staff (once per account)."""
    from .services.stock import stock_adjust

    sku = SKU.objects.filter(account=account, seller_sku=PENDING_RECOUNT_SKU).first()
    if sku is None or Adjustment.objects.filter(sku=sku, status=Adjustment.Status.PENDING).exists():
        return
    stock_adjust(
        sku=sku,
        quantity=150,
        reason="Cycle count: found a carton of 150 in NJ overflow racking",
        actor=actor,
        warehouse=Warehouse.objects.get(account=account, code="NJ1"),
    )
