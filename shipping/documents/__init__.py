"""Shipping documents: labels (PDF and ZPL), packing slips, pick lists, and merging PDFs.

The renderers are pure (plain frozen values in, bytes out); `builders` makes their values from our
orders. Nothing here writes to the database. The builders are loaded on first use, so importing a
renderer (the sandbox carrier imports `label`) never pulls in the order models.
"""

import importlib

from .label import LabelData, label_pdf
from .merge import merge_pdfs
from .packing_slip import PackingSlip, SlipItem, packing_slip_pdf
from .pick_list import PickLine, PickList, pick_list_pdf
from .zpl import label_zpl

__all__ = [
    "LabelData",
    "PackingSlip",
    "PickLine",
    "PickList",
    "SlipItem",
    "label_pdf",
    "label_zpl",
    "merge_pdfs",
    "order_reference",
    "packing_slip_data",
    "packing_slip_for_order",
    "packing_slip_pdf",
    "packing_slips_for_orders",
    "pick_list_for_orders",
    "pick_list_pdf",
    "prefetch_for_slips",
    "ship_to_lines",
]

_BUILDERS = {
    "order_reference",
    "packing_slip_data",
    "packing_slip_for_order",
    "packing_slips_for_orders",
    "pick_list_for_orders",
    "prefetch_for_slips",
    "ship_to_lines",
}


def __getattr__(name):
    if name in _BUILDERS:
        return getattr(importlib.import_module(".builders", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
