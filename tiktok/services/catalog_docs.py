"""TikTok product documents parsed once into plain values: ids as strings, prices as Decimal, the
quantities per TikTok warehouse. Malformed parts are dropped here so the catalogue writer (catalog.py)
only ever sees well-formed values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999.99")


@dataclass(frozen=True)
class SkuDoc:
    tiktok_id: str
    seller_sku: str
    variant: str
    price: Decimal
    currency: str
    inventory: tuple[tuple[str, int], ...]  # (TikTok warehouse id, quantity)


@dataclass(frozen=True)
class ProductDoc:
    tiktok_id: str
    title: str
    status: str
    update_time: int
    skus: tuple[SkuDoc, ...]


def as_int(value, default: int = 0) -> int:
    """An integer from a JSON value (TikTok may send numbers as strings); `default` when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _price(price) -> tuple[Decimal, str]:
    price = price if isinstance(price, dict) else {}
    currency = str(price.get("currency") or "USD").upper()[:3]
    try:
        amount = Decimal(str(price.get("sale_price"))).quantize(CENT)
    except (InvalidOperation, ValueError):
        return Decimal("0.00"), currency
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        return Decimal("0.00"), currency
    return amount, currency


def _variant(sku: dict) -> str:
    """TikTok names a variant by its sales attributes ("Berry / 30 ml"); older shapes by `name`."""
    attributes = sku.get("sales_attributes")
    if isinstance(attributes, list):
        values = [str(a.get("value_name") or "") for a in attributes if isinstance(a, dict)]
        joined = " / ".join(v for v in values if v)
        if joined:
            return joined[:120]
    return str(sku.get("name") or "")[:120]


def parse_product(doc) -> ProductDoc | None:
    """A product document as TikTok sends it -> ProductDoc; None when it names no product."""
    if not isinstance(doc, dict) or not doc.get("id"):
        return None
    skus = []
    for raw in doc.get("skus") or []:
        if not isinstance(raw, dict) or not raw.get("id"):
            continue
        amount, currency = _price(raw.get("price"))
        inventory = tuple(
            (str(row["warehouse_id"]), max(0, as_int(row.get("quantity"))))
            for row in raw.get("inventory") or []
            if isinstance(row, dict) and row.get("warehouse_id")
        )
        skus.append(
            SkuDoc(
                tiktok_id=str(raw["id"]),
                seller_sku=str(raw.get("seller_sku") or "").strip()[:100],
                variant=_variant(raw),
                price=amount,
                currency=currency,
                inventory=inventory,
            )
        )
    return ProductDoc(
        tiktok_id=str(doc["id"]),
        title=str(doc.get("title") or "")[:255],
        status=str(doc.get("status") or ""),
        update_time=as_int(doc.get("update_time")),
        skus=tuple(skus),
    )
