"""What other apps use of shipping. The shipping issue fills these in; callers are already wired."""

from __future__ import annotations


def label_void_for_order(*, order_id) -> bool:
    """Void the order's label if one was bought; True when a label was voided.

    No labels exist before the shipping issue, so there is nothing to void yet. Callers run it after
    their transaction commits (it will call a carrier), and must not depend on it succeeding.
    """
    return False
