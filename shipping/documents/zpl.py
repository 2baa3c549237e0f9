"""The 4×6 in shipping label in ZPL II for thermal printers at 203 dpi (812 × 1218 dots).

Takes the same `LabelData` as the PDF label (`label.py`): tracking_number, carrier, service,
from_lines, to_lines, reference, weight_text. Text fields go through ^FH hex escapes, so a caret,
tilde or underscore in an address cannot end a field or start a command; ^CI28 makes the printer
read UTF-8. The tracking number is a Code128 barcode (^BC in automatic subset mode) as wide as fits.
"""

from __future__ import annotations

WIDTH_DOTS = 812  # 4 in at 203 dpi
HEIGHT_DOTS = 1218  # 6 in at 203 dpi
MARGIN = 30

_ESCAPED = {"^", "~", "_", "\\"}


def field_text(value) -> str:
    """A value for ^FH^FD...^FS: control characters dropped, ZPL's special characters as _XX."""
    out = []
    for char in str(value or ""):
        if char in _ESCAPED:
            out.append(f"_{ord(char):02X}")
        elif ord(char) >= 32 and ord(char) != 127:
            out.append(char)
    return "".join(out)


def _fit(value: str, *, height: int, width: int) -> str:
    """Cut `value` so that it fits `width` dots in font 0 at `height` dots (an average glyph of
    font 0 is a little over half its height wide)."""
    limit = max(1, int(width / (height * 0.56)))
    value = " ".join(str(value or "").split())
    return value if len(value) <= limit else value[:limit]


def _text(x: int, y: int, value: str, *, height: int, bold: bool = False) -> str:
    value = _fit(value, height=height, width=WIDTH_DOTS - x - MARGIN)
    width = int(height * (1.1 if bold else 1.0))
    return f"^FO{x},{y}^A0N,{height},{width}^FH^FD{field_text(value)}^FS"


def code128_modules(value: str) -> int:
    """Modules (narrow bar widths) of a Code128 symbol in automatic mode, quiet zones excluded:
    runs of 4+ digits pack two per symbol (subset C), everything else one per symbol (B)."""
    symbols = 0
    index = 0
    while index < len(value):
        run = 0
        while index + run < len(value) and value[index + run].isdigit():
            run += 1
        if run >= 4:
            symbols += run // 2 + run % 2 + 1  # pairs, an odd digit, a subset switch
            index += run
        else:
            symbols += 1
            index += 1
    return 11 * (symbols + 2) + 13  # start and check symbols, and the 13-module stop


def label_zpl(data) -> bytes:
    """The label as ZPL II bytes (UTF-8), one ^XA…^XZ format.

    `data` is a `shipping.documents.label.LabelData` (any object with its attributes will do).
    """
    out = ["^XA", "^CI28", f"^PW{WIDTH_DOTS}", f"^LL{HEIGHT_DOTS}", "^LH0,0"]
    right = WIDTH_DOTS - MARGIN

    # carrier and service banner
    out.append(_text(MARGIN, 30, str(data.carrier).upper(), height=64, bold=True))
    out.append(_text(MARGIN, 104, data.service, height=36))
    out.append(f"^FO{MARGIN},155^GB{right - MARGIN},4,4^FS")

    # from
    y = 172
    out.append(_text(MARGIN, y, "FROM:", height=22, bold=True))
    y += 28
    for line in tuple(data.from_lines)[:5]:
        out.append(_text(MARGIN, y, line, height=24))
        y += 28
    y = max(y, 340) + 8
    out.append(f"^FO{MARGIN},{y}^GB{right - MARGIN},4,4^FS")

    # to
    y += 22
    out.append(_text(MARGIN, y, "SHIP TO:", height=28, bold=True))
    y += 40
    for line in tuple(data.to_lines)[:6]:
        out.append(_text(MARGIN + 30, y, line, height=42, bold=True))
        y += 50
    y = max(y, 720) + 10
    out.append(f"^FO{MARGIN},{y}^GB{right - MARGIN},4,4^FS")

    # the tracking number, as wide a barcode as the label allows (module width 1 to 4 dots)
    tracking = str(data.tracking_number)
    modules = code128_modules(tracking) + 20  # and a 10-module quiet zone each side
    module = max(1, min(4, (WIDTH_DOTS - 2 * MARGIN) // modules))
    barcode_x = max(MARGIN, (WIDTH_DOTS - module * (modules - 20)) // 2)
    y += 40
    out.append(_text(MARGIN, y, "TRACKING #", height=26, bold=True))
    y += 44
    out.append(f"^BY{module},3,220^FO{barcode_x},{y}^BCN,220,Y,N,N,A^FH^FD{field_text(tracking)}^FS")
    y += 300

    # reference and weight
    footer = " | ".join(
        part for part in (data.reference and f"Ref {data.reference}", data.weight_text) if part
    )
    if footer:
        out.append(_text(MARGIN, min(y, HEIGHT_DOTS - 80), footer, height=26))
    out.append("^XZ")
    return "\n".join(out).encode("utf-8")
