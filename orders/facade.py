"""What other apps use of orders: the services and their values. Import from here, not the modules."""

from .lifecycle import CLOSED_STATUSES, OPEN_STATUSES, TRANSITIONS, can_transition, normalise_tiktok_status
from .mapping import MappedItem, MappedOrder, MappingError, map_order
from .services.actions import (
    order_approve,
    order_cancel,
    order_hold,
    order_resolve_backorder,
    order_retry_reservation,
    order_set_tags,
    orders_bulk,
)
from .services.intake import UpsertResult, order_upsert_from_tiktok
from .services.lifecycle import InvalidTransition, is_person, order_transition
from .services.routing import BACKORDER_OPTIONS

__all__ = [
    "BACKORDER_OPTIONS",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "TRANSITIONS",
    "InvalidTransition",
    "MappedItem",
    "MappedOrder",
    "MappingError",
    "UpsertResult",
    "can_transition",
    "is_person",
    "map_order",
    "normalise_tiktok_status",
    "order_approve",
    "order_cancel",
    "order_hold",
    "order_resolve_backorder",
    "order_retry_reservation",
    "order_set_tags",
    "order_transition",
    "order_upsert_from_tiktok",
    "orders_bulk",
]
