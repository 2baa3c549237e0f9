import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.mapping import MappingError, map_order
from orders.tests.tiktok_docs import tiktok_order


def test_line_items_of_one_sku_aggregate_into_one_item_keeping_every_id():
    # given two units of A, one of B, and a gift unit of A
    doc = tiktok_order(items=[("111", "A", 2), ("222", "B", 1)])
    gift = dict(doc["line_items"][0], id="999", is_gift=True)
    doc["line_items"].append(gift)

    # when
    mapped = map_order(doc)

    # then
    by_key = {(i.tiktok_sku_id, i.is_gift): i for i in mapped.items}
    assert by_key[("111", False)].quantity == 2
    assert by_key[("111", False)].line_item_ids == tuple(li["id"] for li in doc["line_items"][:2])
    assert by_key[("222", False)].quantity == 1
    assert by_key[("111", True)].quantity == 1 and by_key[("111", True)].line_item_ids == ("999",)


def test_ids_stay_exact_strings_even_as_json_numbers_above_2_53():
    # given a document whose ids arrive as JSON numbers
    raw = json.dumps(tiktok_order(items=[("1", "A", 1)]))
    raw = raw.replace('"sku_id": "1"', '"sku_id": 1729592969712207123')
    doc = json.loads(raw)
    doc["id"] = json.loads("576653688135258178")

    # when
    mapped = map_order(doc)

    # then
    assert mapped.tiktok_order_id == "576653688135258178"
    assert mapped.items[0].tiktok_sku_id == "1729592969712207123"


def test_a_float_id_is_refused_rather_than_rounded():
    doc = tiktok_order()
    doc["id"] = 5.766536881352582e17
    with pytest.raises(MappingError):
        map_order(doc)


def test_money_is_decimal_and_times_are_utc():
    # given
    doc = tiktok_order(items=[("1", "A", 3)], price="19.99", create_time=1_718_305_585)

    # when
    mapped = map_order(doc)

    # then
    assert mapped.subtotal == Decimal("59.97") and isinstance(mapped.total, Decimal)
    assert mapped.total == Decimal("64.96")
    assert mapped.items[0].unit_price == Decimal("19.99")
    assert mapped.placed_at == datetime(2024, 6, 13, 19, 6, 25, tzinfo=UTC)
    assert mapped.ship_by == datetime.fromtimestamp(doc["shipping_due_time"], tz=UTC)
    assert mapped.state == "California" and mapped.country == "US" and mapped.postal_code == "94103"


def test_cancel_means_cancelled_and_on_hold_is_flagged():
    assert map_order(tiktok_order(status="CANCEL")).tiktok_status == "CANCELLED"
    on_hold = map_order(tiktok_order(status="ON_HOLD"))
    assert on_hold.is_on_hold and on_hold.recipient_name == ""
