"""Shipping documents read back as a person's printer would get them: page sizes, the text on the
pages (pypdf), page counts of merged files, and the ZPL a thermal printer receives."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader
from reportlab.graphics.barcode import code128

from inventory.tests.factories import SKUFactory
from orders.models import Order
from orders.tests.factories import OrderFactory, OrderItemFactory
from shipping.documents import (
    LabelData,
    PackingSlip,
    PickLine,
    PickList,
    SlipItem,
    label_pdf,
    label_zpl,
    merge_pdfs,
    packing_slip_for_order,
    packing_slip_pdf,
    packing_slips_for_orders,
    pick_list_for_orders,
    pick_list_pdf,
    prefetch_for_slips,
    ship_to_lines,
)
from tiktok.tests.factories import ShopFactory


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def all_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def page_size(pdf: bytes, index: int = 0) -> tuple[float, float]:
    box = read(pdf).pages[index].mediabox
    return float(box.width), float(box.height)


def slip(**overrides) -> PackingSlip:
    values = {
        "shop_name": "Glow Shop",
        "reference": "3f2c9a1e-0000-4000-8000-000000000001",
        "tiktok_order_id": "577000000000000123",
        "order_date": datetime(2024, 6, 13, 18, 4, tzinfo=UTC),
        "ship_to": ("Jamie Rivera", "1200 Market St", "San Francisco, California 94103"),
        "items": (
            SlipItem(seller_sku="SERUM-30", name="Glow serum", variant="30 ml", quantity=2, location="A-3"),
            SlipItem(seller_sku="MASK-01", name="Sheet mask", quantity=5, location=""),
        ),
        "buyer_message": "Please pack it as a birthday present.",
    }
    values.update(overrides)
    return PackingSlip(**values)


# ---- packing slip (pure)


def test_packing_slip_is_4x6_and_shows_the_order_items_and_message():
    # when
    pdf = packing_slip_pdf(slip())

    # then
    assert page_size(pdf) == (288, 432)
    text = all_text(pdf)
    for expected in (
        "Glow Shop",
        "577000000000000123",
        "3f2c9a1e-0000-4000-8000-000000000001",
        "2024-06-13",
        "Jamie Rivera",
        "1200 Market St",
        "SERUM-30",
        "Glow serum / 30 ml",
        "A-3",
        "MASK-01",
        "Total units: 7",
        "Please pack it as a birthday present.",
    ):
        assert expected in text, expected
    quantities = re.findall(r"^\s*(\d+)\s*$", text, flags=re.M)
    assert "2" in quantities and "5" in quantities


def test_packing_slip_on_letter_paper():
    pdf = packing_slip_pdf(slip(), page="letter")

    assert page_size(pdf) == (612, 792)
    assert "577000000000000123" in all_text(pdf)


def test_packing_slip_refuses_an_unknown_page_size():
    with pytest.raises(ValueError, match="a5"):
        packing_slip_pdf(slip(), page="a5")


def test_a_60_item_slip_flows_onto_several_pages_with_every_sku():
    # given
    items = tuple(
        SlipItem(seller_sku=f"LINE-{n:03d}", name=f"Product {n}", quantity=n % 3 + 1, location=f"B-{n}")
        for n in range(60)
    )

    # when
    pdf = packing_slip_pdf(slip(items=items))

    # then
    pages = read(pdf).pages
    assert len(pages) >= 3
    assert all((float(p.mediabox.width), float(p.mediabox.height)) == (288, 432) for p in pages)
    text = all_text(pdf)
    assert all(f"LINE-{n:03d}" in text for n in range(60))
    assert f"Total units: {sum(n % 3 + 1 for n in range(60))}" in text
    assert f"page {len(pages)} of {len(pages)}" in pages[-1].extract_text()


def test_a_long_buyer_message_is_never_cut_off():
    # given: a message far longer than one 4x6 page holds, ending in a word we look for
    message = " ".join(f"word{n}" for n in range(900)) + " THE-END"

    # when
    pdf = packing_slip_pdf(slip(buyer_message=message))

    # then
    assert len(read(pdf).pages) >= 2
    words = all_text(pdf).split()
    assert "word0" in words and "word899" in words and "THE-END" in words


def test_markup_like_text_is_printed_as_written():
    # Shop and buyers type what they like; none of it may be read as markup or break the PDF.
    pdf = packing_slip_pdf(slip(shop_name="Tom & Jo's <Shop>", buyer_message="2 < 3 & <b>thanks</b>"))

    text = all_text(pdf)
    assert "Tom & Jo's <Shop>" in text and "2 < 3 & <b>thanks</b>" in text


def decode_code128(content: bytes) -> str:
    """Read back the Code128 barcode drawn on a page: its bars are filled rectangles; their widths
    and the gaps between them, in modules, spell the symbols (reportlab's pattern table: capitals
    are bars, lower case spaces, A/a one module wide ... D/d four)."""
    bars = [(float(x), float(w)) for x, w in re.findall(rb"n ([\d.]+) 0 ([\d.]+) [\d.]+ re f\*", content)]
    assert bars, "no barcode bars on the page"
    module = min(w for _, w in bars)
    widths: list[int] = []
    for (x, w), following in zip(bars, [*bars[1:], None], strict=True):
        widths.append(round(w / module))
        if following is not None:
            widths.append(round((following[0] - x - w) / module))
    by_pattern = {pattern: value for value, pattern in code128._patterns.items()}
    symbols = []
    while len(widths) > 7:
        chunk, widths = widths[:6], widths[6:]
        symbols.append(
            by_pattern["".join("ABCD"[n - 1] if i % 2 == 0 else "abcd"[n - 1] for i, n in enumerate(chunk))]
        )
    start, *data, check = symbols
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check, "bad check symbol"
    switches = {"A": {99: "C", 100: "B"}, "B": {99: "C", 101: "A"}, "C": {100: "B", 101: "A"}}
    subset, out = {103: "A", 104: "B", 105: "C"}[start], []
    for value in data:
        if value in switches[subset]:
            subset = switches[subset][value]
        elif subset == "C":
            out.append(f"{value:02d}")
        else:
            out.append(chr(value + 32))
    return "".join(out)


def test_the_slip_carries_a_code128_barcode_of_the_tiktok_order_id():
    for order_id in ("577000000000000123", "5770000000000001234", "TT-ABC-42"):
        pdf = packing_slip_pdf(slip(tiktok_order_id=order_id))

        assert decode_code128(read(pdf).pages[0].get_contents().get_data()) == order_id


# ---- pick list (pure)


def test_pick_list_rows_follow_the_shelves_with_unlocated_skus_last():
    # given
    pick = PickList(
        created_at=datetime(2024, 6, 13, 9, 30, tzinfo=UTC),
        order_count=4,
        lines=(
            PickLine(seller_sku="NOBIN-1", name="Loose", location="", quantity=1, order_count=1),
            PickLine(seller_sku="Z-SKU", name="Zed", location="A-10", quantity=2, order_count=1),
            PickLine(seller_sku="B-SKU", name="Bee", location="A-2", quantity=3, order_count=2),
            PickLine(seller_sku="A-SKU", name="Ay", location="A-2", quantity=4, order_count=2),
            PickLine(seller_sku="C-SKU", name="Cee", location="B-1", quantity=5, order_count=3),
        ),
    )

    # when
    pdf = pick_list_pdf(pick)

    # then
    assert page_size(pdf) == (612, 792)
    text = all_text(pdf)
    positions = [text.index(sku) for sku in ("A-SKU", "B-SKU", "Z-SKU", "C-SKU", "NOBIN-1")]
    assert positions == sorted(positions)
    assert "2024-06-13 09:30 UTC" in text
    assert "4 orders" in text and "15 units" in text


def test_a_long_pick_list_paginates():
    lines = tuple(
        PickLine(seller_sku=f"S-{n:03d}", name=f"Item {n}", location=f"R{n:03d}", quantity=1, order_count=1)
        for n in range(150)
    )
    pdf = pick_list_pdf(PickList(created_at=datetime(2024, 6, 13, tzinfo=UTC), order_count=150, lines=lines))

    pages = read(pdf).pages
    assert len(pages) >= 3
    text = all_text(pdf)
    assert all(f"S-{n:03d}" in text for n in range(150))
    assert "Location" in pages[1].extract_text()  # the header repeats


# ---- merge


def test_merged_pdf_has_every_page_in_order():
    # given
    parts = [
        packing_slip_pdf(slip(tiktok_order_id="111")),
        packing_slip_pdf(slip(tiktok_order_id="222", items=(SlipItem("X", "x", 1),) * 40)),
        packing_slip_pdf(slip(tiktok_order_id="333"), page="letter"),
    ]
    expected = sum(len(read(part).pages) for part in parts)

    # when
    merged, pages = merge_pdfs(parts)

    # then
    assert pages == expected == len(read(merged).pages)
    texts = [page.extract_text() for page in read(merged).pages]
    assert "111" in texts[0] and "333" in texts[-1]
    assert page_size(merged, pages - 1) == (612, 792)


@pytest.mark.parametrize("bad", [b"", b"not a pdf at all", b"%PDF-1.4\nnothing else"])
def test_merge_names_the_part_that_is_not_a_pdf(bad):
    good = packing_slip_pdf(slip())

    with pytest.raises(ValueError, match=r"part 2\b"):
        merge_pdfs([good, good, bad, good])


def test_merge_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        merge_pdfs([])


# ---- ZPL label

LABEL = LabelData(
    tracking_number="9400111899223197428490",
    carrier="USPS",
    service="Priority Mail",
    from_lines=("Glow Shop", "100 Commerce St", "Los Angeles, CA 90012"),
    to_lines=("Jamie Rivera", "1200 Market St", "San Francisco, CA 94103"),
    reference="ORDER^1~x",
    weight_text="12.3 oz",
)


def test_zpl_label_is_one_format_with_a_code128_tracking_barcode():
    zpl = label_zpl(LABEL).decode("utf-8")

    assert zpl.startswith("^XA") and zpl.endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert "^PW812" in zpl and "^LL1218" in zpl  # 4x6 in at 203 dpi
    barcode = re.search(r"\^BC[^\^]*\^FH\^FD([^\^]*)\^FS", zpl)
    assert barcode and barcode.group(1) == "9400111899223197428490"
    for text in ("USPS", "Priority Mail", "Glow Shop", "Los Angeles, CA 90012", "Jamie Rivera", "12.3 oz"):
        assert text in zpl, text


def test_zpl_escapes_control_characters_in_text():
    # A caret or tilde in the data would otherwise end the field and start a printer command.
    zpl = label_zpl(LABEL).decode("utf-8")

    assert "ORDER_5E1_7Ex" in zpl
    assert "ORDER^1" not in zpl and "~x" not in zpl


def test_zpl_barcode_fits_the_label_for_a_long_alphanumeric_tracking_number():
    data = LabelData(
        tracking_number="1Z999AA10123456784XYZQWERTY",
        carrier="UPS",
        service="Ground",
        from_lines=("A",),
        to_lines=("B",),
    )
    zpl = label_zpl(data).decode("utf-8")

    module, x = re.search(r"\^BY(\d+),3,\d+\^FO(\d+),", zpl).groups()
    assert 1 <= int(module) <= 4 and int(x) >= 0


def test_pdf_and_zpl_labels_take_the_same_data():
    pdf = label_pdf(LABEL)

    assert page_size(pdf) == (288, 432)
    assert LABEL.tracking_number in all_text(pdf)
    assert LABEL.tracking_number in label_zpl(LABEL).decode()


# ---- ship-to lines


def test_ship_to_lines_from_tiktoks_recipient_address():
    recipient = {
        "name": "Jamie Rivera",
        "phone_number": "(+1)555*****21",
        "full_address": "1200 Market St, San Francisco, CA 94103, United States",
        "address_line1": "1200 Market St",
        "address_line2": "Apt 4",
        "address_line3": "",
        "address_line4": "",
        "postal_code": "94103",
        "region_code": "US",
        "district_info": [
            {"address_level": "L0", "address_name": "United States"},
            {"address_level": "L1", "address_name": "California"},
            {"address_level": "L3", "address_name": "San Francisco"},
        ],
    }

    assert ship_to_lines("Jamie Rivera", recipient) == (
        "Jamie Rivera",
        "1200 Market St",
        "Apt 4",
        "San Francisco, California 94103",
        "Tel (+1)555*****21",
    )


def test_ship_to_lines_abroad_name_the_country_and_fall_back_to_full_address():
    abroad = {
        "address_line1": "10 Downing St",
        "postal_code": "SW1A 2AA",
        "region_code": "GB",
        "district_info": [
            {"address_level": "L0", "address_name": "United Kingdom"},
            {"address_level": "L2", "address_name": "London"},
        ],
    }
    only_full = {"full_address": "1 Main St, Springfield, IL 62701", "region_code": "US"}

    assert ship_to_lines("Sam", abroad) == ("Sam", "10 Downing St", "London, SW1A 2AA", "United Kingdom")
    assert ship_to_lines("Ana", only_full) == ("Ana", "1 Main St, Springfield, IL 62701")
    assert ship_to_lines("", {}) == ()


# ---- builders from our orders

RECIPIENT = {
    "name": "Jamie Rivera",
    "address_line1": "1200 Market St",
    "postal_code": "94103",
    "region_code": "US",
    "district_info": [
        {"address_level": "L1", "address_name": "California"},
        {"address_level": "L3", "address_name": "San Francisco"},
    ],
}


def order_with_items(shop, *lines, **fields):
    """An order of `shop` with one item per (sku, quantity)."""
    order = OrderFactory(shop=shop, recipient_name="Jamie Rivera", recipient=RECIPIENT, **fields)
    for sku, quantity in lines:
        OrderItemFactory(
            order=order, sku=sku, seller_sku=sku.seller_sku, product_name=sku.name, quantity=quantity
        )
    return order


@pytest.mark.django_db
def test_packing_slip_for_an_order():
    # given
    shop = ShopFactory(name="Glow Shop")
    serum = SKUFactory(
        product__account=shop.account,
        seller_sku="SERUM-30",
        variant="30 ml",
        location="A-3",
        product__name="Serum",
    )
    mask = SKUFactory(product__account=shop.account, seller_sku="MASK-01", location="C-9")
    order = order_with_items(shop, (serum, 2), (mask, 3), buyer_message="No plastic please")
    OrderItemFactory(
        order=order, sku=None, seller_sku="", product_name="Free sticker", quantity=1, is_gift=True
    )

    # when
    pdf = packing_slip_for_order(order)

    # then
    assert page_size(pdf) == (288, 432)
    text = all_text(pdf)
    for expected in (
        "Glow Shop",
        order.tiktok_order_id,
        str(order.pk),
        "San Francisco, California 94103",
        "SERUM-30",
        "Serum 30 ml",
        "A-3",
        "MASK-01",
        "C-9",
        "Free sticker",
        "Total units: 6",
        "No plastic please",
    ):
        assert expected in text, expected


@pytest.mark.django_db
def test_slips_for_many_orders_read_the_rows_in_a_fixed_number_of_queries():
    # given
    shop = ShopFactory()
    skus = [SKUFactory(product__account=shop.account) for _ in range(3)]
    ids = [order_with_items(shop, (skus[n % 3], 1), (skus[(n + 1) % 3], 2)).pk for n in range(12)]

    # when
    with CaptureQueriesContext(connection) as queries:
        orders = list(Order.objects.filter(pk__in=ids))
        prefetch_for_slips(orders)
        slips = [packing_slip_for_order(order) for order in orders]
    with CaptureQueriesContext(connection) as batch_queries:
        pairs = packing_slips_for_orders(Order.objects.filter(pk__in=ids))

    # then
    assert len(queries) == 4  # orders, shops, items, SKUs
    assert len(batch_queries) == 4
    assert len(slips) == len(pairs) == 12
    assert {pk for pk, _ in pairs} == set(ids)
    assert all("Total units: 3" in all_text(pdf) for pdf in slips)


@pytest.mark.django_db
def test_pick_list_sums_units_per_sku_across_orders_in_shelf_order():
    # given
    shop = ShopFactory()
    account = shop.account
    far = SKUFactory(product__account=account, seller_sku="FAR-1", location="C-10")
    near = SKUFactory(product__account=account, seller_sku="NEAR-1", location="A-2")
    middle = SKUFactory(product__account=account, seller_sku="MID-1", location="C-9")
    loose = SKUFactory(product__account=account, seller_sku="LOOSE-1", location="")
    orders = [
        order_with_items(shop, (near, 2), (far, 1)),
        order_with_items(shop, (near, 3), (loose, 1)),
        order_with_items(shop, (middle, 4), (near, 1)),
    ]
    unselected = order_with_items(shop, (near, 50))

    # when
    with CaptureQueriesContext(connection) as queries:
        pdf = pick_list_for_orders(Order.objects.filter(pk__in=[o.pk for o in orders]))

    # then
    assert len(queries) == 2  # the selection's ids, then every item with its SKU
    text = all_text(pdf)
    assert "3 orders" in text and "12 units" in text
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    positions = [text.index(sku) for sku in ("NEAR-1", "MID-1", "FAR-1", "LOOSE-1")]
    assert positions == sorted(positions)
    # NEAR-1: 2 + 3 + 1 units in 3 orders (the unselected order's 50 are not counted)
    near_at = rows.index("NEAR-1")
    assert rows[near_at + 1 : near_at + 4] == [near.name, "6", "3"]
    assert "56" not in rows and unselected.tiktok_order_id not in text


@pytest.mark.django_db
def test_pick_list_accepts_order_instances_and_counts_unmatched_items_by_seller_sku():
    # given
    shop = ShopFactory()
    first, second = OrderFactory(shop=shop), OrderFactory(shop=shop)
    for order in (first, second):
        OrderItemFactory(
            order=order, sku=None, seller_sku="UNLINKED-7", product_name="Mystery box", quantity=2
        )

    # when
    text = all_text(pick_list_for_orders([first, second]))

    # then
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    at = rows.index("UNLINKED-7")
    assert rows[at + 1 : at + 4] == ["Mystery box", "4", "2"]
    assert "2 orders" in text and "4 units" in text
