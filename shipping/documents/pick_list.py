"""The pick list as a PDF (US Letter): one row per SKU with the units to pick across a selection.

Pure: it renders a `PickList` (plain frozen values; `builders.py` sums one from orders). Rows are
walked in the order a picker meets the shelves: by bin location in natural order ("A-2" before
"A-10"), SKUs without a location last, then by seller SKU. The table repeats its header on every page.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .packing_slip import PageCountCanvas, text

MARGIN = 40


class TickBox(Flowable):
    """An empty square for the picker to tick off a row."""

    size = 9

    def wrap(self, avail_width, avail_height):
        return self.size, self.size

    def draw(self):
        self.canv.setLineWidth(0.7)
        self.canv.rect(0, 0, self.size, self.size, stroke=1, fill=0)


@dataclass(frozen=True)
class PickLine:
    seller_sku: str
    name: str
    location: str
    quantity: int  # units across the selection
    order_count: int  # how many of the selected orders need this SKU


@dataclass(frozen=True)
class PickList:
    created_at: datetime  # UTC
    order_count: int
    lines: tuple[PickLine, ...]
    title: str = "Pick list"

    @property
    def total_units(self) -> int:
        return sum(line.quantity for line in self.lines)


def _natural(value: str) -> tuple:
    """Case-insensitive, with runs of digits compared as numbers: "a-2" < "A-10"."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", value.casefold())
        if part
    )


def pick_order(line: PickLine) -> tuple:
    """The sort key of a pick row: located rows first by location, then by seller SKU."""
    location = line.location.strip()
    return (location == "", _natural(location), _natural(line.seller_sku), line.name)


def sorted_lines(lines) -> list[PickLine]:
    return sorted(lines, key=pick_order)


def pick_list_pdf(pick: PickList) -> bytes:
    """The pick list as PDF bytes (Letter, as many pages as the rows need)."""
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=11)
    cell = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5)
    right = ParagraphStyle("right", parent=cell, alignment=TA_RIGHT)
    title = ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=16, leading=20)

    made = pick.created_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = sorted_lines(pick.lines)
    summary = (
        f"Made {made} &nbsp;·&nbsp; {pick.order_count} order{'s' if pick.order_count != 1 else ''}"
        f" &nbsp;·&nbsp; {pick.total_units} unit{'s' if pick.total_units != 1 else ''}"
        f" &nbsp;·&nbsp; {len(lines)} SKU{'s' if len(lines) != 1 else ''}"
    )
    width = LETTER[0] - 2 * MARGIN
    col_widths = [22, 90, 110, width - 22 - 90 - 110 - 50 - 50, 50, 50]
    rows = [
        [
            "",
            Paragraph("<b>Location</b>", cell),
            Paragraph("<b>Seller SKU</b>", cell),
            Paragraph("<b>Name</b>", cell),
            Paragraph("<b>Units</b>", right),
            Paragraph("<b>Orders</b>", right),
        ]
    ]
    for line in lines:
        rows.append(
            [
                TickBox(),
                Paragraph(text(line.location) or "<i>no location</i>", cell),
                Paragraph(f"<b>{text(line.seller_sku) or '(no SKU)'}</b>", cell),
                Paragraph(text(line.name), cell),
                Paragraph(f"<b>{line.quantity}</b>", right),
                Paragraph(str(line.order_count), right),
            ]
        )
    table = Table(rows, colWidths=col_widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story = [
        Paragraph(text(pick.title), title),
        Paragraph(summary, body),
        Spacer(1, 10),
        table if lines else Paragraph("Nothing to pick.", body),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6,
        title=pick.title,
        invariant=True,
    )
    doc.build(
        story,
        canvasmaker=partial(
            PageCountCanvas, footer=f"{pick.title} · made {made}", footer_size=8, margin=MARGIN
        ),
    )
    return buffer.getvalue()
