"""The purchase order PDF and CSV: what a supplier reads, money in Decimal, read back with pypdf."""

import csv
import io
from datetime import date
from decimal import Decimal

from pypdf import PdfReader

from inventory.purchase_order_pdf import (
    DocumentLine,
    PurchaseOrderDocument,
    render_purchase_order_csv,
    render_purchase_order_pdf,
)


def document(**overrides) -> PurchaseOrderDocument:
    fields = {
        "number": "PO-00042",
        "issued_on": date(2026, 3, 2),
        "expected_on": date(2026, 3, 16),
        "currency": "USD",
        "buyer_name": "Glow Labs",
        "supplier_name": "Shenzhen Pack & Co <Ltd>",
        "supplier_email": "orders@pack.example.com",
        "ship_to": ("LA Fulfilment", "Attn: Shipping Desk", "100 Commerce St", "Los Angeles CA 90012", "US"),
        "notes": "Cartons of 24, please.",
        "lines": (
            DocumentLine("GL-CC-50", "Cloud Cream 50 ml", 120, Decimal("3.335")),
            DocumentLine("=GL-LO", "Berry Lip Oil", 7, Decimal("1.10")),
        ),
    }
    return PurchaseOrderDocument(**{**fields, **overrides})


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_shows_parties_lines_and_total():
    # given an order of two lines (one unit cost with a fraction of a cent)
    # when it is rendered
    content = render_purchase_order_pdf(document())

    # then it is a PDF with the number, date, both parties, the ship-to address and every line
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (
        "PO-00042",
        "2026-03-02",
        "2026-03-16",
        "Glow Labs",
        "Shenzhen Pack & Co <Ltd>",  # markup in names is shown, not interpreted
        "orders@pack.example.com",
        "100 Commerce St",
        "Los Angeles CA 90012",
        "GL-CC-50",
        "Cloud Cream 50 ml",
        "120",
        "3.34 USD",  # unit cost rounded to the cent
        "400.20 USD",  # 120 × 3.335 = 400.20 (Decimal, half-even on the line)
        "7.70 USD",
        "407.90 USD",  # the total
        "Cartons of 24",
    ):
        assert expected in text, expected
    # and the page stream is uncompressed, so even a plain byte search finds the number
    assert b"PO-00042" in content


def test_a_long_order_runs_over_several_pages():
    # given 80 lines
    lines = tuple(DocumentLine(f"SKU-{n:03d}", f"Item {n}", n + 1, Decimal("2.00")) for n in range(80))
    # when rendered
    reader = PdfReader(io.BytesIO(render_purchase_order_pdf(document(lines=lines))))
    # then every line and the total are there, on more than one page
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) > 1
    assert "SKU-000" in text and "SKU-079" in text
    assert "6,480.00 USD" in text  # 2 × (1 + … + 80)


def test_the_csv_has_the_same_lines_and_is_safe_in_a_spreadsheet():
    # when the same order is rendered as CSV
    rows = list(csv.reader(io.StringIO(render_purchase_order_csv(document()).decode("utf-8"))))

    # then a header and one row per line, with the same money
    assert rows[0] == ["po_number", "seller_sku", "name", "quantity", "unit_cost", "line_total", "currency"]
    assert rows[1] == ["PO-00042", "GL-CC-50", "Cloud Cream 50 ml", "120", "3.34", "400.20", "USD"]
    # and a cell that a spreadsheet would run as a formula is defused
    assert rows[2] == ["PO-00042", "'=GL-LO", "Berry Lip Oil", "7", "1.10", "7.70", "USD"]
    assert len(rows) == 3
