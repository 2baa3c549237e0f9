"""One PDF from many (a batch's labels and packing slips, in print order)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError


def merge_pdfs(parts: Sequence[bytes]) -> tuple[bytes, int]:
    """Concatenate the pages of `parts` in order; returns the merged PDF and its page count.

    Raises ValueError naming the index of the first part that is not a readable PDF (or has no
    pages), and for an empty `parts`. Pages are copied whole (`add_page`), without the parts'
    outlines or forms, which printed labels and slips don't have.
    """
    if not parts:
        raise ValueError("no PDF parts to merge")
    writer = PdfWriter()
    for index, part in enumerate(parts):
        if not isinstance(part, bytes | bytearray | memoryview) or b"%PDF-" not in bytes(part[:1024]):
            raise ValueError(f"part {index} is not a PDF (no %PDF- header)")
        try:
            reader = PdfReader(io.BytesIO(bytes(part)))
            pages = list(reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"part {index} is not a readable PDF: {exc}") from exc
        if not pages:
            raise ValueError(f"part {index} is a PDF without pages")
        for page in pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), len(writer.pages)
