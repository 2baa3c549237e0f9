"""TikTok order documents -> our own plain values (pure: no database, no Django models).

Why a separate, pure module: intake, the sync and the tests all need the same reading of TikTok's
wire format (CONTRACT.md section 4), and keeping it free of the ORM makes it cheap to test and safe
to call outside a transaction. The rules it encodes:

- ids are strings, even when a JSON number above 2^53 comes in (`json` gives Python an exact int;
  a float would already have lost digits, so it is refused rather than silently rounded);
- money is `Decimal` (never float), times are UTC-aware datetimes from Unix seconds;
- each TikTok line item is ONE unit: line items are aggregated per (sku_id, is_gift) into one
  `MappedItem` whose `quantity` is their count and whose `line_item_ids` keeps every id;
- TikTok's `CANCEL` (webhooks) means `CANCELLED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .lifecycle import normalise_tiktok_status


class MappingError(ValueError):
    """The document is not a TikTok order we can read (missing id, a float id, bad money...)."""


@dataclass(frozen=True)
class MappedItem:
    tiktok_sku_id: str
    seller_sku: str
    tiktok_product_id: str
    product_name: str
    sku_name: str
    quantity: int
    unit_price: Decimal
    original_price: Decimal
    currency: str
    line_item_ids: tuple[str, ...]
    is_gift: bool


@dataclass(frozen=True)
class MappedOrder:
    tiktok_order_id: str
    tiktok_status: str
    update_time: int
    placed_at: datetime | None
    paid_at: datetime | None
    rts_sla_time: datetime | None
    tts_sla_time: datetime | None
    shipping_due_time: datetime | None
    collection_due_time: datetime | None
    delivery_due_time: datetime | None
    cancel_order_sla_time: datetime | None
    currency: str
    subtotal: Decimal
    shipping_fee: Decimal
    tax: Decimal
    total: Decimal
    buyer_email: str
    buyer_message: str
    recipient_name: str
    recipient: dict
    country: str
    state: str
    postal_code: str
    delivery_option_id: str
    delivery_option_name: str
    shipping_type: str
    is_on_hold: bool
    is_sample: bool
    warehouse_id: str
    items: tuple[MappedItem, ...] = field(default_factory=tuple)

    @property
    def ship_by(self) -> datetime | None:
        """TikTok's shipping due time, else the ready-to-ship SLA."""
        return self.shipping_due_time or self.rts_sla_time

    def order_fields(self) -> dict:
        """The Order model fields this document sets (everything but items and our own decisions)."""
        return {
            "tiktok_status": self.tiktok_status,
            "tiktok_update_time": self.update_time,
            "placed_at": self.placed_at,
            "paid_at": self.paid_at,
            "rts_sla_time": self.rts_sla_time,
            "tts_sla_time": self.tts_sla_time,
            "shipping_due_time": self.shipping_due_time,
            "collection_due_time": self.collection_due_time,
            "delivery_due_time": self.delivery_due_time,
            "cancel_order_sla_time": self.cancel_order_sla_time,
            "ship_by": self.ship_by,
            "currency": self.currency,
            "subtotal": self.subtotal,
            "shipping_fee": self.shipping_fee,
            "tax": self.tax,
            "total": self.total,
            "buyer_email": self.buyer_email,
            "buyer_message": self.buyer_message,
            "recipient_name": self.recipient_name,
            "recipient": self.recipient,
            "country": self.country,
            "state": self.state,
            "postal_code": self.postal_code,
            "delivery_option_id": self.delivery_option_id,
            "delivery_option_name": self.delivery_option_name,
            "shipping_type": self.shipping_type,
            "is_on_hold": self.is_on_hold,
            "is_sample": self.is_sample,
            "warehouse_id": self.warehouse_id,
        }


def tiktok_id(value) -> str:
    """An id as a string. Ints (exact, even above 2^53) are accepted; floats have lost digits."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or isinstance(value, float):
        raise MappingError(f"id {value!r} is not a string or an integer (precision lost)")
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def money(value, *, what: str = "amount") -> Decimal:
    """A money string (or number) as a 2-place Decimal; empty means zero."""
    if value is None or value == "":
        return Decimal("0.00")
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise MappingError(f"{what} {value!r} is not a decimal amount") from exc


def utc_time(value) -> datetime | None:
    """Unix seconds (int or numeric string) as a UTC-aware datetime; missing/0 means None."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MappingError(f"time {value!r} is not Unix seconds") from exc


def _district(address: dict, level: str) -> str:
    for part in address.get("district_info") or []:
        if part.get("address_level") == level:
            return str(part.get("address_name") or "")
    return ""


def map_items(line_items: list[dict]) -> tuple[MappedItem, ...]:
    """Aggregate one-unit line items per (sku_id, is_gift), in first-seen order."""
    groups: dict[tuple[str, bool], list[dict]] = {}
    for line in line_items or []:
        key = (tiktok_id(line.get("sku_id")), bool(line.get("is_gift")))
        groups.setdefault(key, []).append(line)
    items = []
    for (sku_id, is_gift), lines in groups.items():
        first = lines[0]
        items.append(
            MappedItem(
                tiktok_sku_id=sku_id,
                seller_sku=str(first.get("seller_sku") or "").strip(),
                tiktok_product_id=tiktok_id(first.get("product_id")),
                product_name=str(first.get("product_name") or "")[:255],
                sku_name=str(first.get("sku_name") or "")[:255],
                quantity=len(lines),
                unit_price=money(first.get("sale_price"), what="sale_price"),
                original_price=money(first.get("original_price"), what="original_price"),
                currency=str(first.get("currency") or "USD")[:3],
                line_item_ids=tuple(tiktok_id(line.get("id")) for line in lines),
                is_gift=is_gift,
            )
        )
    return tuple(items)


def map_order(doc: dict) -> MappedOrder:
    """Read one order document of `GET /order/202309/orders` (or the sandbox's)."""
    order_id = tiktok_id(doc.get("id"))
    if not order_id:
        raise MappingError("order document has no id")
    payment = doc.get("payment") or {}
    address = doc.get("recipient_address") or {}
    return MappedOrder(
        tiktok_order_id=order_id,
        tiktok_status=normalise_tiktok_status(doc.get("status") or ""),
        update_time=int(doc.get("update_time") or 0),
        placed_at=utc_time(doc.get("create_time")),
        paid_at=utc_time(doc.get("paid_time")),
        rts_sla_time=utc_time(doc.get("rts_sla_time")),
        tts_sla_time=utc_time(doc.get("tts_sla_time")),
        shipping_due_time=utc_time(doc.get("shipping_due_time")),
        collection_due_time=utc_time(doc.get("collection_due_time")),
        delivery_due_time=utc_time(doc.get("delivery_due_time")),
        cancel_order_sla_time=utc_time(doc.get("cancel_order_sla_time")),
        currency=str(payment.get("currency") or "USD")[:3],
        subtotal=money(payment.get("sub_total"), what="sub_total"),
        shipping_fee=money(payment.get("shipping_fee"), what="shipping_fee"),
        tax=money(payment.get("tax"), what="tax"),
        total=money(payment.get("total_amount"), what="total_amount"),
        buyer_email=str(doc.get("buyer_email") or "")[:254],
        buyer_message=str(doc.get("buyer_message") or ""),
        recipient_name=str(address.get("name") or "")[:200],
        recipient=dict(address),
        country=str(address.get("region_code") or "")[:2],
        state=_district(address, "L1")[:100],
        postal_code=str(address.get("postal_code") or "")[:20],
        delivery_option_id=tiktok_id(doc.get("delivery_option_id"))[:64],
        delivery_option_name=str(doc.get("delivery_option_name") or "")[:120],
        shipping_type=str(doc.get("shipping_type") or "")[:10],
        is_on_hold=bool(doc.get("is_on_hold_order"))
        or normalise_tiktok_status(doc.get("status")) == "ON_HOLD",
        is_sample=bool(doc.get("is_sample_order")),
        warehouse_id=tiktok_id(doc.get("warehouse_id"))[:64],
        items=map_items(doc.get("line_items") or []),
    )
