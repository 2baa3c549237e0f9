"""What other apps may use of the TikTok integration.

- `tiktok_mark_shipped(*, order, carrier_name, tracking_number) -> MarkShippedResult`: tell TikTok
  the order's package left (the shipping issue calls it after buying the label).
"""

from .services.shipping import tiktok_mark_shipped

__all__ = ["tiktok_mark_shipped"]
