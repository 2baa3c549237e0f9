"""The demo orders for `manage.py load_demo`: Glow Lab's TikTok Shop on a busy day.

`load_demo_orders(account=..., actor=...)` runs after the inventory demo (it sells the demo
catalogue) and is idempotent: the shop is found by its TikTok id, rules by name, and the orders are
written only when the shop has none yet, so a second run changes nothing.

Orders arrive the way real ones do: as TikTok order documents (`GET /order/202309/orders` shape,
built by `tiktok_order_document` below) fed through `order_upsert_from_tiktok`, so intake reserves
stock, scores priority and applies the rules. A few are then moved on as TikTok or a person would:
TikTok updates ship some, the creator holds and cancels one each. Randomness is seeded, so every
install gets the same day.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tiktok.sandbox.demo import DEMO_DELIVERY_OPTION_ID, remember_demo_orders

SEED = 20240602
SHOP_ID = "7495540735365777507"
SHOP_NAME = "Glow Lab Official"
ORDER_COUNT = 90
HOURS = 24
ORDER_ID_BASE = 576_461_413_038_700_000
TIKTOK_SKU_ID_BASE = 1_729_592_969_712_200_000
TIKTOK_PRODUCT_ID_BASE = 1_729_582_718_312_300_000
WAREHOUSE_ID = "7068517275539719942"
VIRAL_SKU = "GL-LO-BER"
OUT_OF_STOCK_SKU = "GL-VL-NDR"  # the inventory demo leaves it at zero
UNKNOWN_SKU = ("1729592969799999999", "GL-LO-GLITTER", "Cloud Jelly Lip Oil", "Glitter (new shade)")

RULES = (
    {
        "name": "Hold orders over $150 for review",
        "match": "all",
        "conditions": [{"field": "total", "op": "gt", "value": "150"}],
        "actions": [{"type": "hold", "reason": "Order over $150: check before shipping"}],
    },
    {
        "name": "Tag sample orders",
        "match": "all",
        "conditions": [{"field": "sample_order", "op": "is", "value": True}],
        "actions": [{"type": "add_tag", "tag": "sample"}],
    },
)

FIRST_NAMES = (
    "Jamie", "Priya", "Marcus", "Sofia", "Aaliyah", "Ethan", "Mei", "Olivia", "Diego", "Hannah",
    "Tyler", "Zoe", "Imani", "Lucas", "Ava", "Noah", "Chloe", "Jordan", "Maya", "Kai",
)  # fmt: skip
LAST_NAMES = (
    "Rivera", "Natarajan", "Johnson", "Garcia", "Williams", "Nguyen", "Chen", "Brown", "Lopez",
    "Kim", "Patel", "Davis", "Martinez", "Okafor", "Wilson", "Anderson", "Thompson", "Moore",
)  # fmt: skip
ADDRESSES = (
    ("1200 Market St", "San Francisco", "California", "CA", "94103"),
    ("455 W 34th St", "New York", "New York", "NY", "10001"),
    ("2100 Ross Ave", "Dallas", "Texas", "TX", "75201"),
    ("77 W Wacker Dr", "Chicago", "Illinois", "IL", "60601"),
    ("1500 Broadway", "Denver", "Colorado", "CO", "80202"),
    ("900 Ocean Dr", "Miami Beach", "Florida", "FL", "33139"),
    ("400 Pine St", "Seattle", "Washington", "WA", "98101"),
    ("221 Peachtree St NE", "Atlanta", "Georgia", "GA", "30303"),
)


def tiktok_order_document(
    *,
    order_id: str,
    status: str,
    lines: list[tuple[str, str, str, str, Decimal, int]],
    create_time: int,
    update_time: int,
    buyer: str,
    address: tuple[str, str, str, str, str],
    ship_within_hours: float = 48,
    shipping_fee: Decimal = Decimal("4.99"),
    is_sample: bool = False,
    delivery_option_name: str = "Standard shipping",
) -> dict:
    """One order as TikTok sends it: ids and money are strings, times Unix seconds, and each line
    item is ONE unit. `lines` is [(tiktok_sku_id, seller_sku, product, variant, price, units)]."""
    line_items = []
    for tiktok_sku_id, seller_sku, product, variant, price, units in lines:
        for _unit in range(units):
            line_items.append(
                {
                    "id": f"{order_id[:-3]}{len(line_items):03d}",
                    "sku_id": tiktok_sku_id,
                    "product_id": str(int(tiktok_sku_id) - TIKTOK_SKU_ID_BASE + TIKTOK_PRODUCT_ID_BASE),
                    "product_name": product,
                    "sku_name": variant or "Default",
                    "seller_sku": seller_sku,
                    "sale_price": "0.00" if is_sample else f"{price:.2f}",
                    "original_price": f"{price:.2f}",
                    "currency": "USD",
                    "display_status": status,
                    "package_id": "",
                    "is_gift": False,
                }
            )
    subtotal = sum((Decimal(line["sale_price"]) for line in line_items), Decimal("0.00"))
    shipping = Decimal("0.00") if is_sample else shipping_fee
    unpaid = status == "UNPAID"
    hidden = status in ("UNPAID", "ON_HOLD")  # TikTok masks the address until the order is released
    street, city, state_name, state_code, postal = address
    due = int(create_time + ship_within_hours * 3600)
    return {
        "id": order_id,
        "status": status,
        "create_time": create_time,
        "update_time": update_time,
        "paid_time": None if unpaid else create_time + 40,
        "buyer_email": f"{order_id[-6:]}buyer@scs.tiktokw.us",
        "buyer_message": "",
        "payment": {
            "currency": "USD",
            "sub_total": f"{subtotal:.2f}",
            "shipping_fee": f"{shipping:.2f}",
            "tax": "0.00",
            "total_amount": f"{subtotal + shipping:.2f}",
        },
        "recipient_address": {
            "name": "" if hidden else buyer,
            "phone_number": "" if hidden else "(+1)555*****42",
            "full_address": "" if hidden else f"{street}, {city}, {state_code} {postal}",
            "address_line1": "" if hidden else street,
            "address_line2": "",
            "address_line3": "",
            "address_line4": "",
            "postal_code": "" if hidden else postal,
            "region_code": "US",
            "district_info": []
            if hidden
            else [
                {"address_level": "L0", "address_name": "United States"},
                {"address_level": "L1", "address_name": state_name},
                {"address_level": "L3", "address_name": city},
            ],
        },
        "line_items": line_items,
        "delivery_option_id": DEMO_DELIVERY_OPTION_ID,
        "delivery_option_name": delivery_option_name,
        "shipping_type": "SELLER",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "rts_sla_time": due,
        "tts_sla_time": due + 86400,
        "shipping_due_time": due,
        "collection_due_time": due + 86400,
        "delivery_due_time": due + 5 * 86400,
        "cancel_order_sla_time": create_time + 3600,
        "is_on_hold_order": status == "ON_HOLD",
        "is_sample_order": is_sample,
        "tracking_number": "",
        "shipping_provider_id": "",
        "warehouse_id": WAREHOUSE_ID,
    }


def load_demo_orders(*, account, actor) -> dict[str, int]:
    """The demo shop, its rules and a day of orders for `account` (idempotent). Returns counts created."""
    from tiktok.models import Shop

    from .models import Order

    with transaction.atomic():
        shop, _ = Shop.objects.get_or_create(
            shop_id=SHOP_ID, defaults={"account": account, "name": SHOP_NAME, "region": "US"}
        )
        if shop.account_id != account.pk:  # TikTok's shop id is unique: it belongs to someone else
            return {"rules": 0, "orders": 0}
        rules = _create_rules(account=account, actor=actor)
        if Order.objects.filter(shop=shop).exists():
            return {"rules": rules, "orders": 0}
        catalogue = _link_catalogue(account)
        if not catalogue:
            return {"rules": rules, "orders": 0}
        orders = _write_orders(shop=shop, catalogue=catalogue, actor=actor)
    return {"rules": rules, "orders": orders}


def _create_rules(*, account, actor) -> int:
    from .models import AutomationRule
    from .rules import rule_create

    created = 0
    for spec in RULES:
        if not AutomationRule.objects.filter(account=account, name=spec["name"]).exists():
            rule_create(account=account, actor=actor, stop_processing=False, **spec)
            created += 1
    return created


def _link_catalogue(account) -> list[tuple[str, str, str, str, Decimal]]:
    """The demo SKUs as the shop lists them: (tiktok_sku_id, seller_sku, product, variant, price).

    The inventory demo does not know TikTok's ids; the connected shop does, so give each demo SKU a
    stable one (only where it has none yet).
    """
    from inventory.models import SKU

    rows = []
    for index, sku in enumerate(
        SKU.objects.filter(account=account, seller_sku__startswith="GL-", is_active=True)
        .select_related("product")
        .order_by("seller_sku")
    ):
        if not sku.tiktok_sku_id:
            sku.tiktok_sku_id = str(TIKTOK_SKU_ID_BASE + index)
            sku.save(update_fields=["tiktok_sku_id"])
        rows.append((sku.tiktok_sku_id, sku.seller_sku, sku.product.name, sku.variant, sku.price))
    return rows


def _available(account) -> dict[str, int]:
    """Units each demo SKU can still sell from its best-stocked warehouse (an order ships from one)."""
    from inventory.models import StockLevel

    available: dict[str, int] = {}
    for seller_sku, on_hand, reserved in StockLevel.objects.filter(sku__account=account).values_list(
        "sku__seller_sku", "on_hand", "reserved"
    ):
        available[seller_sku] = max(available.get(seller_sku, 0), on_hand - reserved)
    return available


def _pick_lines(rng, catalogue, *, available, viral) -> list:
    """One to three SKUs that are in stock (the explicit backorders come separately)."""
    lines = []

    def take(row, units) -> None:
        if available.get(row[1], 0) - units >= 2 and all(line[1] != row[1] for line in lines):
            available[row[1]] -= units
            lines.append((*row, units))

    if viral is not None:
        take(viral, rng.choice((1, 1, 1, 2)))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        take(rng.choice(catalogue), rng.choice((1, 1, 1, 2)))
    if not lines:  # everything picked was short: the best-stocked SKU
        take(max(catalogue, key=lambda r: available.get(r[1], 0)), 1)
    return lines


def _write_orders(*, shop, catalogue, actor) -> int:
    from .facade import order_cancel, order_hold, order_upsert_from_tiktok
    from .models import Order, OrderStatus

    rng = random.Random(SEED)
    now = int(timezone.now().timestamp())
    by_sku = {row[1]: row for row in catalogue}
    viral = by_sku.get(VIRAL_SKU)
    available = _available(shop.account)
    placed = sorted(now - rng.randrange(60, HOURS * 3600) for _ in range(ORDER_COUNT))
    documents = []  # (document, what happens next at TikTok)
    for number, create_time in enumerate(placed):
        age_hours = (now - create_time) / 3600
        if age_hours > 18 and number % 3 == 0:
            follow = rng.choice(("AWAITING_COLLECTION", "IN_TRANSIT", "IN_TRANSIT"))
        else:
            follow = None
        status = "AWAITING_SHIPMENT"
        if age_hours < 0.5 and number % 4 == 1:
            status = "UNPAID"
        elif number % 23 == 5:
            status = "ON_HOLD"
        elif number % 31 == 7:
            status = "CANCELLED"
        documents.append(
            (
                _document(
                    rng,
                    order_id=str(ORDER_ID_BASE + number * 1000),
                    status=status,
                    lines=_pick_lines(
                        rng, catalogue, available=available, viral=viral if rng.random() < 0.4 else None
                    ),
                    create_time=create_time,
                    ship_within_hours=rng.choice((24, 48, 48, 72)),
                ),
                follow if status == "AWAITING_SHIPMENT" else None,
            )
        )
    # the review queue's regulars
    extras = (
        {"lines": [(*by_sku.get("GL-GS-50", catalogue[1]), 5), (*by_sku.get("GL-BM-50", catalogue[2]), 1)]},
        {"lines": _pick_lines(rng, catalogue, available=available, viral=None)[:1], "is_sample": True},
        {"lines": [(*by_sku.get("GL-LM-BLK", catalogue[4]), 1), (*UNKNOWN_SKU, Decimal("14.00"), 1)]},
        {"lines": [(*by_sku.get(OUT_OF_STOCK_SKU, catalogue[5]), 2)]},
        {
            "lines": [(*by_sku.get(OUT_OF_STOCK_SKU, catalogue[5]), 1), (*catalogue[6], 1)],
            "ship_within_hours": 6,
        },
    )
    for offset, extra in enumerate(extras):
        create_time = now - (offset + 1) * 1500
        documents.append(
            (
                _document(
                    rng,
                    order_id=str(ORDER_ID_BASE + (ORDER_COUNT + offset) * 1000),
                    status="AWAITING_SHIPMENT",
                    create_time=create_time,
                    **extra,
                ),
                None,
            )
        )

    orders = []
    at_tiktok = {}  # order id -> the seed entry as TikTok has it last
    for seed, follow in documents:
        document = seed["document"]
        result = order_upsert_from_tiktok(shop=shop, payload=document)
        orders.append(result.order)
        at_tiktok[document["id"]] = seed
        if follow and result.order.status == OrderStatus.READY:
            steps = ("AWAITING_COLLECTION", "IN_TRANSIT")[: 2 if follow == "IN_TRANSIT" else 1]
            for step, status in enumerate(steps):
                update = dict(
                    document, status=status, update_time=document["update_time"] + 3600 * (step + 1)
                )
                order_upsert_from_tiktok(shop=shop, payload=update)
                at_tiktok[document["id"]] = dict(seed, document=update)

    ready = list(Order.objects.filter(shop=shop, status=OrderStatus.READY).order_by("placed_at")[:2])
    if len(ready) >= 2:
        order_hold(
            order=ready[0], actor=actor, reason="Customer messaged to change the shade: wait for reply"
        )
        order_cancel(order=ready[1], actor=actor, reason="Duplicate order: customer asked to cancel")
        seed = at_tiktok[ready[1].tiktok_order_id]
        document = seed["document"]
        at_tiktok[ready[1].tiktok_order_id] = dict(
            seed, document=dict(document, status="CANCELLED", update_time=document["update_time"] + 60)
        )
    # TikTok (the sandbox under `make run`) starts with exactly these orders
    remember_demo_orders(list(at_tiktok.values()))
    # the orders were placed over the day, not all at once
    Order.objects.filter(shop=shop, placed_at__isnull=False).update(created_at=F("placed_at"))
    return len(orders)


def _document(rng, *, order_id, status="AWAITING_SHIPMENT", lines, create_time, **extra) -> dict:
    """One seeded order as TikTok sends it, with (under `_seed`) the buyer and address TikTok knows
    even while the document masks them: what the sandbox's book is seeded with."""
    buyer = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    address = rng.choice(ADDRESSES)
    document = tiktok_order_document(
        order_id=order_id,
        status=status,
        lines=lines,
        create_time=create_time,
        update_time=create_time + 60,
        buyer=buyer,
        address=address,
        **extra,
    )
    return {"document": document, "address": list(address), "buyer": buyer}
