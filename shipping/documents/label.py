"""The 4×6 in shipping label as a PDF (288 × 432 points), the tracking number as a Code128 barcode.

The sandbox carrier prints its labels with this; EasyPost and Shippo send their own files.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics.barcode import code128
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas

PAGE = (4 * inch, 6 * inch)  # 288 x 432 points


@dataclass(frozen=True)
class LabelData:
    tracking_number: str
    carrier: str
    service: str
    from_lines: tuple[str, ...]
    to_lines: tuple[str, ...]
    reference: str = ""
    weight_text: str = ""


def _lines(c: canvas.Canvas, x: float, y: float, lines, *, font="Helvetica", size=9, leading=11) -> float:
    c.setFont(font, size)
    for line in lines:
        c.drawString(x, y, str(line)[:60])
        y -= leading
    return y


def label_pdf(data: LabelData) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=PAGE)
    c.setTitle(f"{data.carrier} {data.tracking_number}")
    width, height = PAGE
    margin = 12

    # carrier and service banner
    c.setFont("Helvetica-Bold", 20)
    c.drawString(margin, height - 32, data.carrier.upper()[:18])
    c.setFont("Helvetica-Bold", 11)
    c.drawRightString(width - margin, height - 30, data.service[:30])
    c.line(margin, height - 42, width - margin, height - 42)

    _lines(c, margin, height - 56, ("FROM:", *data.from_lines), size=7, leading=9)
    c.line(margin, height - 118, width - margin, height - 118)
    _lines(c, margin + 10, height - 136, ("SHIP TO:",), font="Helvetica-Bold", size=9)
    _lines(c, margin + 10, height - 152, data.to_lines, font="Helvetica-Bold", size=12, leading=15)
    c.line(margin, 170, width - margin, 170)

    # the tracking barcode, as wide as the label allows
    barcode = code128.Code128(data.tracking_number, barHeight=70, barWidth=1.0)
    if barcode.width > width - 2 * margin:
        barcode = code128.Code128(
            data.tracking_number, barHeight=70, barWidth=(width - 2 * margin) / barcode.width
        )
    barcode.drawOn(c, (width - barcode.width) / 2, 80)
    c.setFont("Helvetica-Bold", 10)
    c.drawCentredString(width / 2, 64, f"TRACKING # {data.tracking_number}")
    c.setFont("Helvetica", 7)
    footer = "  ".join(x for x in (data.reference and f"Ref {data.reference}", data.weight_text) if x)
    c.drawCentredString(width / 2, 40, footer[:80])
    c.drawCentredString(width / 2, 20, "CreatorFlow")
    c.showPage()
    c.save()
    return buffer.getvalue()
