"""The row locks that stock changes take, in one place, always in the same order.

Two writers that lock the same rows in different orders can deadlock. Every function here locks
`StockLevel` rows in primary-key order, and `stock_reserve`'s conditional UPDATEs run in the same
order, so however many SKUs an order has and whatever order its lines come in, no two stock
changes wait on each other in a cycle. Callers lock reservations (by pk) before stock levels.

Every function must run inside `transaction.atomic()`: a lock taken in autocommit ends at once
(except `stock_take_one_pg`, a single statement that is atomic on its own).

The second half holds the fixed SQL of `stock_reserve`'s hot path: one viral SKU bought by
hundreds of buyers at once must not pay for compiling ORM queries on every order. Table and column
names are the models' (checked at import); every value is a parameter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import psycopg
from django.db import connection
from django.db.models import Q, QuerySet

from .models import SKU, Adjustment, Reservation, StockLevel, Warehouse


def stock_levels_for_update(pairs: Iterable[tuple]) -> dict[tuple[str, str], StockLevel]:
    """Lock the stock levels of these (sku_id, warehouse_id) pairs, in pk order.

    Returns {(str(sku_id), str(warehouse_id)): StockLevel}; a pair without a row is absent.
    """
    wanted = {(str(sku_id), str(warehouse_id)) for sku_id, warehouse_id in pairs}
    if not wanted:
        return {}
    condition = Q()
    for sku_id, warehouse_id in wanted:
        condition |= Q(sku_id=sku_id, warehouse_id=warehouse_id)
    rows = StockLevel.objects.filter(condition).order_by("pk").select_for_update(of=("self",))
    return {(str(row.sku_id), str(row.warehouse_id)): row for row in rows}


def stock_level_for_update(*, sku_id, warehouse_id) -> StockLevel:
    """Lock one stock level, creating it (empty) first when the SKU was never stocked there.

    The create races safely: `get_or_create` falls back to reading the row another transaction
    inserted (unique on sku + warehouse), and the lock is taken afterwards either way.
    """
    StockLevel.objects.get_or_create(sku_id=sku_id, warehouse_id=warehouse_id)
    return StockLevel.objects.select_for_update(of=("self",)).get(sku_id=sku_id, warehouse_id=warehouse_id)


def active_reservations_for_update(*, order_ref: str | None = None, sku_ids=None) -> QuerySet[Reservation]:
    """Active reservations (of one order, optionally only some SKUs), locked in pk order.

    A concurrent release/consume of the same rows waits here and then, re-reading the WHERE clause
    (READ COMMITTED), no longer sees rows the other one closed: both operations stay idempotent.
    """
    queryset = Reservation.objects.filter(status=Reservation.Status.ACTIVE)
    if order_ref is not None:
        queryset = queryset.filter(order_ref=order_ref)
    if sku_ids is not None:
        queryset = queryset.filter(sku_id__in=[str(pk) for pk in sku_ids])
    return queryset.order_by("pk").select_for_update(of=("self",))


def adjustment_for_update(*, adjustment_id) -> Adjustment:
    """Lock one adjustment so that two staff approving at once apply it once."""
    return Adjustment.objects.select_for_update(of=("self",)).get(pk=adjustment_id)


def sku_for_update(*, sku_id) -> SKU:
    """Lock one SKU row (its sync counters)."""
    return SKU.objects.select_for_update(of=("self",)).get(pk=sku_id)


# --- the reservation hot path ----------------------------------------------------------------

_LOOKUP_SQL = """
SELECT sl.id, sl.sku_id, sl.warehouse_id, sl.on_hand, sl.reserved, w.is_default, s.seller_sku,
       s.low_stock_threshold, s.avg_monthly_sales,
       (SELECT r.id FROM inventory_reservation r WHERE r.order_ref = %s AND r.sku_id = sl.sku_id
          AND r.warehouse_id = sl.warehouse_id AND r.status = 'active') AS existing_id
FROM inventory_stocklevel sl
JOIN inventory_sku s ON s.id = sl.sku_id
JOIN inventory_warehouse w ON w.id = sl.warehouse_id
WHERE s.account_id = %s AND w.account_id = %s AND sl.sku_id IN ({skus}) AND ({warehouses})
"""
_INSERT_SQL = (
    "INSERT INTO inventory_reservation (id, account_id, sku_id, warehouse_id, order_ref, quantity, "
    "status, expires_at, created_at, close_reason) VALUES "
)
# PostgreSQL, an order of one line (most orders, and every order of a viral SKU): find the stock
# level, take the stock and insert the reservation in ONE statement. In autocommit that is a single
# round trip, and the hot row is locked only while that statement commits. Anything unusual (a
# short line, an unknown id, the line already reserved) returns no row or raises, and the portable
# path below then works out what exactly happened.
_RESERVE_ONE_PG_SQL = """
WITH target AS (
    SELECT sl.id, s.low_stock_threshold, s.avg_monthly_sales
    FROM inventory_stocklevel sl
    JOIN inventory_sku s ON s.id = sl.sku_id
    JOIN inventory_warehouse w ON w.id = sl.warehouse_id
    WHERE sl.sku_id = %(sku)s AND s.account_id = %(account)s AND w.account_id = %(account)s
      AND (w.id = %(warehouse)s OR (%(warehouse)s IS NULL AND w.is_default))
), taken AS (
    UPDATE inventory_stocklevel sl
    SET reserved = sl.reserved + %(quantity)s, version = sl.version + 1, updated_at = %(now)s
    FROM target
    WHERE sl.id = target.id AND sl.on_hand - sl.reserved >= %(quantity)s
    RETURNING sl.sku_id, sl.warehouse_id, sl.on_hand - sl.reserved AS available,
              target.low_stock_threshold, target.avg_monthly_sales
)
INSERT INTO inventory_reservation (id, account_id, sku_id, warehouse_id, order_ref, quantity, status,
                                   expires_at, created_at, close_reason)
SELECT %(id)s, %(account)s, sku_id, warehouse_id, %(order_ref)s, %(quantity)s, 'active',
       %(expires_at)s, %(now)s, '' FROM taken
RETURNING warehouse_id, (SELECT available FROM taken), (SELECT low_stock_threshold FROM taken),
          (SELECT avg_monthly_sales FROM taken)
"""
_RESERVE_SQL = (
    "UPDATE inventory_stocklevel SET reserved = reserved + %s, version = version + 1, updated_at = %s "
    "WHERE id = %s AND on_hand - reserved >= %s RETURNING on_hand, reserved"
)
assert (
    StockLevel._meta.db_table,
    Reservation._meta.db_table,
    SKU._meta.db_table,
    Warehouse._meta.db_table,
) == (
    "inventory_stocklevel",
    "inventory_reservation",
    "inventory_sku",
    "inventory_warehouse",
)


def _db_uuid(value: uuid.UUID):
    return value if connection.features.has_native_uuid_field else value.hex


def as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def stock_lookup(*, account_id, order_ref: str, sku_ids, warehouse_ids, default: bool) -> list[tuple]:
    """The account's stock levels of these SKUs in these warehouses (and/or the default one).

    Rows: (id, sku_id, warehouse_id, on_hand, reserved, is_default, seller_sku, low_stock_threshold,
    avg_monthly_sales, id of `order_ref`'s active reservation of that line or None). No lock.
    """
    clauses, params = [], [order_ref, _db_uuid(account_id), _db_uuid(account_id), *map(_db_uuid, sku_ids)]
    if warehouse_ids:
        clauses.append(f"sl.warehouse_id IN ({', '.join(['%s'] * len(warehouse_ids))})")
        params.extend(map(_db_uuid, warehouse_ids))
    if default:
        clauses.append("w.is_default = %s")
        params.append(True)
    sql = _LOOKUP_SQL.format(skus=", ".join(["%s"] * len(sku_ids)), warehouses=" OR ".join(clauses))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def reservations_insert(rows: list[Reservation]) -> None:
    """INSERT these new reservation rows in one statement (caller holds atomic())."""
    adapt = connection.ops.adapt_datetimefield_value
    values, params = [], []
    for r in rows:
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [_db_uuid(r.id), _db_uuid(r.account_id), _db_uuid(r.sku_id), _db_uuid(r.warehouse_id)]
        params += [r.order_ref, r.quantity, r.status, adapt(r.expires_at), adapt(r.created_at), ""]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL + ", ".join(values), params)


def stock_take(cursor, *, level_id: int, quantity: int, now) -> tuple[int, int] | None:
    """The conditional UPDATE: reserve `quantity` if available. (on_hand, reserved) after, or None.

    Locks the row until the transaction ends; callers take levels in pk order.
    """
    cursor.execute(_RESERVE_SQL, [quantity, now, level_id, quantity])
    return cursor.fetchone()


def stock_take_one_pg(params: dict) -> tuple | None:
    """PostgreSQL: find the level, take the stock, insert the reservation, in one statement.

    Returns (warehouse_id, available after, low_stock_threshold, avg_monthly_sales) or None when
    nothing was taken; raises IntegrityError when the line is already reserved. Runs on a
    server-side-binding cursor of Django's own connection (same transaction), so PostgreSQL parses
    and plans the statement once per connection rather than once per order.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_RESERVE_ONE_PG_SQL, params, prepare=True)
        return cursor.fetchone()
