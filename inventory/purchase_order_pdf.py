"""A purchase order as a document: the PDF and CSV a supplier receives, and the page downloads.

`purchase_order_document(po)` is the one function that reads the database: it turns an order into
a frozen `PurchaseOrderDocument`. The renderers are pure functions of that document, so the email,
the download and the tests all produce byte-for-byte the same files for the same order.

Money is `Decimal` throughout, rounded to cents per line (quantity × unit cost) and summed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CENT = Decimal("0.01")
CSV_HEADER = ["po_number", "seller_sku", "name", "quantity", "unit_cost", "line_total", "currency"]
# A cell starting with one of these is a formula to a spreadsheet: CSV injection.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class DocumentLine:
    seller_sku: str
    name: str
    quantity: int
    unit_cost: Decimal

    @property
    def total(self) -> Decimal:
        return (self.unit_cost * self.quantity).quantize(CENT)


@dataclass(frozen=True)
class PurchaseOrderDocument:
    number: str
    issued_on: date
    expected_on: date | None
    currency: str
    buyer_name: str
    supplier_name: str
    supplier_email: str
    ship_to: tuple[str, ...]
    notes: str
    lines: tuple[DocumentLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))


def purchase_order_document(po) -> PurchaseOrderDocument:
    """Everything the PDF and CSV show, read from the order (two queries at most)."""
    warehouse = po.warehouse
    city_line = " ".join(part for part in (warehouse.city, warehouse.state, warehouse.postal_code) if part)
    ship_to = tuple(
        part
        for part in (
            warehouse.name,
            f"Attn: {warehouse.contact_name}" if warehouse.contact_name else "",
            warehouse.address_line1,
            warehouse.address_line2,
            city_line,
            warehouse.country,
            f"Tel: {warehouse.phone}" if warehouse.phone else "",
        )
        if part
    )
    lines = tuple(
        DocumentLine(
            seller_sku=line.sku.seller_sku,
            name=line.sku.name,
            quantity=line.quantity_ordered,
            unit_cost=Decimal(line.unit_cost),
        )
        for line in po.lines.select_related("sku").order_by("sku__seller_sku", "pk")
    )
    issued = po.sent_at or po.created_at
    return PurchaseOrderDocument(
        number=po.number,
        issued_on=issued.date(),
        expected_on=po.expected_at,
        currency=po.currency,
        buyer_name=po.account.name,
        supplier_name=po.supplier.name,
        supplier_email=po.supplier.email,
        ship_to=ship_to,
        notes=po.notes,
        lines=lines,
    )


def money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(CENT):,.2f} {currency}"


def render_purchase_order_pdf(document: PurchaseOrderDocument) -> bytes:
    """One letter-size PDF (more pages for long orders, header row repeated).

    Uncompressed page streams: a few kilobytes more, and the text stays searchable by tools
    that do not inflate streams. `invariant` makes the bytes depend only on the document.
    """
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Purchase order {document.number}",
        author=document.buyer_name,
        pageCompression=0,
        invariant=1,
    )
    styles = getSampleStyleSheet()
    normal, heading = styles["Normal"], styles["Heading1"]

    def para(text: str, style=normal) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    meta = [
        f"PO number: {document.number}",
        f"Date: {document.issued_on.isoformat()}",
    ]
    if document.expected_on:
        meta.append(f"Expected by: {document.expected_on.isoformat()}")
    parties = Table(
        [
            [
                para("From (buyer)", styles["Heading4"]),
                para("To (supplier)", styles["Heading4"]),
                para("Ship to", styles["Heading4"]),
            ],
            [
                para(document.buyer_name),
                para("\n".join(part for part in (document.supplier_name, document.supplier_email) if part)),
                para("\n".join(document.ship_to)),
            ],
        ],
        colWidths=[58 * mm, 58 * mm, 58 * mm],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    rows = [["SKU", "Name", "Qty", "Unit cost", "Line total"]]
    for line in document.lines:
        rows.append(
            [
                para(line.seller_sku),
                para(line.name),
                str(line.quantity),
                money(line.unit_cost, document.currency),
                money(line.total, document.currency),
            ]
        )
    rows.append(["", "", "", "Total", money(document.total, document.currency)])
    table = Table(rows, colWidths=[32 * mm, 66 * mm, 16 * mm, 30 * mm, 30 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1f5f9")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.HexColor("#94a3b8")),
                ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.HexColor("#94a3b8")),
                ("FONTNAME", (3, -1), (-1, -1), "Helvetica-Bold"),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        para(f"Purchase order {document.number}", heading),
        para("\n".join(meta)),
        Spacer(1, 6 * mm),
        parties,
        Spacer(1, 8 * mm),
        table,
    ]
    if document.notes:
        story += [Spacer(1, 6 * mm), para("Notes", styles["Heading4"]), para(document.notes)]
    doc.build(story)
    return buffer.getvalue()


def _cell(value: str) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def render_purchase_order_csv(document: PurchaseOrderDocument) -> bytes:
    """The order's lines as UTF-8 CSV with a header row, for a supplier's spreadsheet or ERP.

    Text cells that a spreadsheet would run as a formula are prefixed with an apostrophe.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in document.lines:
        writer.writerow(
            [
                document.number,
                _cell(line.seller_sku),
                _cell(line.name),
                line.quantity,
                f"{line.unit_cost.quantize(CENT)}",
                f"{line.total}",
                document.currency,
            ]
        )
    return buffer.getvalue().encode("utf-8")
