"""The packing slip as a PDF: 4×6 in (288 × 432 points) by default, US Letter on request.

Pure: it renders a `PackingSlip` (plain frozen values; `builders.py` makes one from an order) and
touches no database. Layout is reportlab's platypus, so long item lists and long buyer messages flow
onto further pages instead of being cut off; every page carries "page n of m" and the TikTok order id,
so loose pages can be matched to their parcel.

Text uses the PDF standard fonts (Helvetica), which cover Western European scripts only: other
characters print as a blank box rather than failing the document.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

PAGE_4X6 = (4 * inch, 6 * inch)  # 288 x 432 points
PAGE_SIZES = {"4x6": PAGE_4X6, "letter": LETTER}


@dataclass(frozen=True)
class SlipItem:
    seller_sku: str
    name: str
    quantity: int
    variant: str = ""
    location: str = ""  # bin or shelf
    is_gift: bool = False


@dataclass(frozen=True)
class PackingSlip:
    shop_name: str
    reference: str  # our order reference
    tiktok_order_id: str
    order_date: datetime | None
    ship_to: tuple[str, ...]
    items: tuple[SlipItem, ...]
    buyer_message: str = ""

    @property
    def total_units(self) -> int:
        return sum(item.quantity for item in self.items)


class PageCountCanvas(canvas.Canvas):
    """A canvas that holds its pages back until the end, so each page's footer can say
    "page n of m". `footer` is drawn bottom-left and the page count bottom-right."""

    def __init__(self, *args, footer: str = "", footer_size: float = 6.5, margin: float = 14, **kwargs):
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._footer_size = footer_size
        self._footer_margin = margin
        self._held_pages: list[dict] = []

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        width = self._pagesize[0]
        y = self._footer_margin / 2
        self.saveState()
        self.setFont("Helvetica", self._footer_size)
        self.setFillColor(colors.black)
        count = f"page {number} of {total}"
        self.drawRightString(width - self._footer_margin, y, count)
        room = width - 2 * self._footer_margin - stringWidth(count + "    ", "Helvetica", self._footer_size)
        footer = self._footer
        while footer and stringWidth(footer, "Helvetica", self._footer_size) > room:
            footer = footer[:-2] + "…"
        self.drawString(self._footer_margin, y, footer)
        self.restoreState()


def text(value) -> str:
    """Plain text made safe for a platypus Paragraph (which reads a little XML)."""
    return escape(str(value or ""))


def fitted_code128(value: str, *, max_width: float, bar_height: float) -> Code128:
    """A Code128 barcode of `value` (quiet zones included) with its bars as wide as fits, at most
    1.3 pt each. The caller prints the value beneath it: reportlab's own caption touches the bars."""
    probe = Code128(value, barWidth=1.0, barHeight=bar_height)
    barcode = Code128(value, barWidth=min(1.3, max_width / probe.width), barHeight=bar_height)
    barcode.hAlign = "CENTER"
    return barcode


@dataclass(frozen=True)
class _Layout:
    page: tuple[float, float]
    margin: float
    base: float  # body font size
    barcode_height: float

    @property
    def frame_width(self) -> float:
        return self.page[0] - 2 * self.margin


_LAYOUTS = {
    "4x6": _Layout(page=PAGE_4X6, margin=14, base=8, barcode_height=32),
    "letter": _Layout(page=LETTER, margin=40, base=10, barcode_height=40),
}


def _styles(base: float) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=base, leading=base * 1.25)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=base - 1, leading=(base - 1) * 1.25),
        "shop": ParagraphStyle(
            "shop", parent=body, fontName="Helvetica-Bold", fontSize=base + 5, leading=(base + 5) * 1.2
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontName="Helvetica-Bold",
            spaceBefore=base * 0.6,
            spaceAfter=base * 0.2,
            keepWithNext=1,
        ),
        "caption": ParagraphStyle(
            "caption", parent=body, fontSize=base - 1, leading=(base - 1) * 1.3, alignment=TA_CENTER
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=base - 0.5, leading=(base - 0.5) * 1.2),
        "cell_right": ParagraphStyle(
            "cell_right", parent=body, fontSize=base - 0.5, leading=(base - 0.5) * 1.2, alignment=TA_RIGHT
        ),
        "total": ParagraphStyle(
            "total", parent=body, fontName="Helvetica-Bold", alignment=TA_RIGHT, spaceBefore=4
        ),
    }


def _item_cell(item: SlipItem, styles) -> Paragraph:
    lines = [f"<b>{text(item.seller_sku) or '(no SKU)'}</b>"]
    description = item.name
    if item.variant and item.variant.lower() not in (item.name or "").lower():
        description = f"{item.name} / {item.variant}" if item.name else item.variant
    if description:
        lines.append(text(description))
    if item.is_gift:
        lines.append("<i>gift</i>")
    return Paragraph("<br/>".join(lines), styles["cell"])


def _items_table(slip: PackingSlip, layout: _Layout, styles) -> Table:
    width = layout.frame_width
    qty_w, bin_w = width * 0.13, width * 0.24
    header = [
        Paragraph("<b>Qty</b>", styles["cell_right"]),
        Paragraph("<b>Item</b>", styles["cell"]),
        Paragraph("<b>Bin</b>", styles["cell"]),
    ]
    rows = [header]
    for item in slip.items:
        rows.append(
            [
                Paragraph(f"<b>{item.quantity}</b>", styles["cell_right"]),
                _item_cell(item, styles),
                Paragraph(text(item.location) or "-", styles["cell"]),
            ]
        )
    table = Table(rows, colWidths=[qty_w, width - qty_w - bin_w, bin_w], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _header(slip: PackingSlip, layout: _Layout, styles) -> list:
    facts = [f"Order {text(slip.reference)}"]
    if slip.order_date is not None:
        facts.append(f"ordered {slip.order_date:%Y-%m-%d}")
    barcode = fitted_code128(
        slip.tiktok_order_id, max_width=layout.frame_width * 0.9, bar_height=layout.barcode_height
    )
    ship_to = "<br/>".join(text(line) for line in slip.ship_to) or "(no address yet)"
    return [
        Paragraph(text(slip.shop_name) or "Packing slip", styles["shop"]),
        Paragraph(" &nbsp;·&nbsp; ".join(facts), styles["small"]),
        Paragraph(f"TikTok order <b>{text(slip.tiktok_order_id)}</b>", styles["small"]),
        Spacer(1, layout.base * 0.6),
        barcode,
        Paragraph(text(slip.tiktok_order_id), styles["caption"]),
        Spacer(1, layout.base * 0.2),
        KeepTogether([Paragraph("Ship to", styles["heading"]), Paragraph(ship_to, styles["body"])]),
        Spacer(1, layout.base * 0.6),
    ]


def _message(slip: PackingSlip, styles) -> list:
    message = (slip.buyer_message or "").strip()
    if not message:
        return []
    flowables: list = [Paragraph("Message from the buyer", styles["heading"])]
    for paragraph in message.splitlines():
        flowables.append(Paragraph(text(paragraph) or "&nbsp;", styles["body"]))
    return flowables


def packing_slip_pdf(slip: PackingSlip, *, page: str = "4x6") -> bytes:
    """The slip as PDF bytes; `page` is "4x6" (288 × 432 pt) or "letter". The same slip always
    gives the same bytes."""
    try:
        layout = _LAYOUTS[page]
    except KeyError:
        raise ValueError(f"unknown page size {page!r}; use one of {sorted(_LAYOUTS)}") from None
    styles = _styles(layout.base)
    story = [
        *_header(slip, layout, styles),
        _items_table(slip, layout, styles),
        Paragraph(f"Total units: {slip.total_units}", styles["total"]),
        *_message(slip, styles),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=layout.page,
        leftMargin=layout.margin,
        rightMargin=layout.margin,
        topMargin=layout.margin,
        bottomMargin=layout.margin + 6,
        title=f"Packing slip {slip.tiktok_order_id}",
        author=slip.shop_name,
        invariant=True,
    )
    doc.build(
        story,
        canvasmaker=partial(
            PageCountCanvas,
            footer=f"{slip.shop_name} · TikTok order {slip.tiktok_order_id}",
            footer_size=layout.base - 1.5,
            margin=layout.margin,
        ),
    )
    return buffer.getvalue()
