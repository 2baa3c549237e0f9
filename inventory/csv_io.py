"""Stock as CSV: a streamed export, and an import of counted stock (preview first, then apply).

Export columns: seller_sku, name, warehouse (code), on_hand, reserved, available; one row per SKU
and warehouse (a SKU never stocked anywhere gets one row for the default warehouse, all zero).

Import columns: seller_sku, on_hand, and optionally warehouse (a code; empty means the default
warehouse). Other columns are ignored, so an exported file can be edited and imported as it is.
An import is a stock count: each row says how many units are on the shelf, and the difference
from what we hold becomes one ADJUSTMENT ledger row with reason "csv_import". Being a count, it
does not go through the >100-unit approval of manual adjustments; it is all or nothing instead:
`import_preview` lists every change (old -> new) and every bad row by its line number, and
`stock_import_counts` applies only a file without errors, in one transaction, re-checking every
row under the stock-level locks (a reservation made since the preview may refuse it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.db.models import F
from django.http import StreamingHttpResponse
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.core.errors import Conflict, DomainError

from . import channel
from .locking import stock_levels_for_update
from .models import SKU, InventoryTransaction, StockLevel, TransactionType, Warehouse
from .services.alerts import alerts_evaluate

EXPORT_COLUMNS = ["seller_sku", "name", "warehouse", "on_hand", "reserved", "available"]
IMPORT_REASON = "csv_import"
MAX_IMPORT_ROWS = 10_000
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_COUNT = 1_000_000_000  # on_hand is a 32-bit integer column
_CHUNK = 500  # ids per IN (...) query: well below SQLite's bound-parameter limit
_INTEGER = re.compile(r"[+-]?\d+")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- export -------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote in front."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def export_rows(*, account) -> Iterator[list]:
    """The header, then the account's active SKUs per warehouse, by seller SKU and warehouse code.

    Reads in chunks (`iterator`), so memory stays flat however large the catalogue.
    """
    yield EXPORT_COLUMNS
    levels = (
        StockLevel.objects.filter(sku__account=account, sku__is_active=True)
        .order_by("sku__seller_sku", "warehouse__code")
        .values_list("sku__seller_sku", "sku__name", "warehouse__code", "on_hand", "reserved")
    )
    for seller_sku, name, code, on_hand, reserved in levels.iterator(chunk_size=2000):
        yield [_cell(seller_sku), _cell(name), code, on_hand, reserved, on_hand - reserved]
    default_code = (
        Warehouse.objects.filter(account=account, is_default=True).values_list("code", flat=True).first()
        or ""
    )
    never_stocked = (
        SKU.objects.filter(account=account, is_active=True, stock_levels__isnull=True)
        .order_by("seller_sku")
        .values_list("seller_sku", "name")
    )
    for seller_sku, name in never_stocked.iterator(chunk_size=2000):
        yield [_cell(seller_sku), _cell(name), default_code, 0, 0, 0]


class _Echo:
    """A file-like object whose write() returns the line: csv.writer then yields each row's text."""

    def write(self, value: str) -> str:
        return value


def export_response(*, account, filename: str = "stock.csv") -> StreamingHttpResponse:
    """The export as a streamed download (rows are written as the database yields them)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in export_rows(account=account)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- import: values -------------------------------------------------------------------------------


class CsvFileInvalid(DomainError):
    """The file as a whole cannot be read (encoding, header, size); no row was looked at."""

    code = "invalid_csv"


@dataclass(frozen=True)
class CountRow:
    """One data row of an import: `line` is its line number in the file (the header is line 1)."""

    line: int
    seller_sku: str
    warehouse: str  # code as written; "" = the default warehouse
    on_hand: int


@dataclass(frozen=True)
class RowError:
    line: int
    seller_sku: str
    message: str


@dataclass(frozen=True)
class Change:
    line: int
    seller_sku: str
    name: str
    warehouse: str
    old: int
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.old


@dataclass(frozen=True)
class ImportPreview:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRejected(Conflict):
    """Applying found bad rows (stock changed since the preview): nothing was applied."""

    code = "csv_import_rejected"

    def __init__(self, errors: list[RowError]):
        super().__init__(
            f"Nothing was imported: {len(errors)} row(s) cannot be applied.",
            fields={"rows": [f"line {e.line}: {e.message}" for e in errors]},
        )
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    changed: int
    unchanged: int
    units_delta: int


# --- import: parsing ------------------------------------------------------------------------------


def _uncell(text: str) -> str:
    """Undo the export's formula quoting, so an exported file imports as it is."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def parse_counts_csv(data: bytes) -> tuple[list[CountRow], list[RowError]]:
    """Read an uploaded file into rows and per-row errors (not a whole number, negative, missing SKU).

    Raises CsvFileInvalid for what makes the whole file unreadable: not UTF-8, no `seller_sku` or
    `on_hand` column, no data rows, more than MAX_IMPORT_ROWS rows. Blank lines are skipped.
    Nothing here looks at the database: `import_preview` checks SKUs, warehouses and reservations.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise CsvFileInvalid(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileInvalid("The file is not UTF-8 text: save it as CSV (UTF-8).") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise CsvFileInvalid("The file is empty.") from None
    except csv.Error as exc:
        raise CsvFileInvalid(f"Line 1 is not valid CSV: {exc}") from exc
    missing = [column for column in ("seller_sku", "on_hand") if column not in header]
    if missing:
        raise CsvFileInvalid(
            f"The header (line 1) needs the column(s) {', '.join(missing)}; found: {', '.join(header) or 'none'}."
        )
    sku_at, count_at = header.index("seller_sku"), header.index("on_hand")
    warehouse_at = header.index("warehouse") if "warehouse" in header else None

    rows: list[CountRow] = []
    errors: list[RowError] = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(reader.line_num, "", f"not valid CSV: {exc}"))
            break
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(rows) + len(errors) >= MAX_IMPORT_ROWS:
            raise CsvFileInvalid(f"The file has more than {MAX_IMPORT_ROWS} rows: split it.")

        def value_at(index, values=values):
            return values[index].strip() if index is not None and index < len(values) else ""

        seller_sku = _uncell(value_at(sku_at))
        raw_count = value_at(count_at)
        if not seller_sku:
            errors.append(RowError(line, "", "seller_sku is empty"))
        elif not _INTEGER.fullmatch(raw_count):
            errors.append(RowError(line, seller_sku, f"on_hand {raw_count!r} is not a whole number"))
        elif int(raw_count) < 0:
            errors.append(RowError(line, seller_sku, f"on_hand {raw_count} is negative"))
        elif int(raw_count) > MAX_COUNT:
            errors.append(RowError(line, seller_sku, f"on_hand {raw_count} is too large"))
        else:
            rows.append(CountRow(line, seller_sku, value_at(warehouse_at), int(raw_count)))
    if not rows and not errors:
        raise CsvFileInvalid("The file has a header but no rows.")
    return rows, errors


# --- import: checking against the database --------------------------------------------------------


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class _Target:
    row: CountRow
    sku: SKU
    warehouse: Warehouse


def _resolve(*, account, rows: Iterable[CountRow]) -> tuple[list[_Target], list[RowError]]:
    """Map rows to the account's SKUs and warehouses; unknown ones and duplicates are errors."""
    rows = list(rows)
    codes = sorted({row.seller_sku for row in rows})
    skus: dict[str, SKU] = {}
    for chunk in _chunks(codes):
        for sku in SKU.objects.filter(account=account, seller_sku__in=chunk).only(
            "pk", "account_id", "seller_sku", "name"
        ):
            skus[sku.seller_sku] = sku
    warehouses = list(Warehouse.objects.filter(account=account))
    by_code = {w.code: w for w in warehouses}
    by_folded: dict[str, list[Warehouse]] = {}
    for warehouse in warehouses:
        by_folded.setdefault(warehouse.code.casefold(), []).append(warehouse)
    default = next((w for w in warehouses if w.is_default), None)

    targets: list[_Target] = []
    errors: list[RowError] = []
    first_line: dict[tuple, int] = {}
    for row in rows:
        sku = skus.get(row.seller_sku)
        if sku is None:
            errors.append(RowError(row.line, row.seller_sku, f"unknown SKU {row.seller_sku!r}"))
            continue
        if row.warehouse:
            folded = by_folded.get(row.warehouse.casefold(), [])
            warehouse = by_code.get(row.warehouse) or (folded[0] if len(folded) == 1 else None)
            if warehouse is None:
                errors.append(RowError(row.line, row.seller_sku, f"unknown warehouse {row.warehouse!r}"))
                continue
        elif default is None:
            errors.append(
                RowError(row.line, row.seller_sku, "no warehouse given and no default warehouse set")
            )
            continue
        else:
            warehouse = default
        key = (sku.pk, warehouse.pk)
        if key in first_line:
            errors.append(
                RowError(
                    row.line,
                    row.seller_sku,
                    f"duplicate row: {row.seller_sku} in {warehouse.code} is already on line {first_line[key]}",
                )
            )
            continue
        first_line[key] = row.line
        targets.append(_Target(row, sku, warehouse))
    return targets, errors


def _compare(targets: list[_Target], levels: dict[tuple[str, str], StockLevel]):
    """Changes, unchanged count and below-reserved errors of resolved rows against current levels."""
    changes: list[Change] = []
    errors: list[RowError] = []
    unchanged = 0
    for target in targets:
        level = levels.get((str(target.sku.pk), str(target.warehouse.pk)))
        old, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        new = target.row.on_hand
        if new < reserved:
            errors.append(
                RowError(
                    target.row.line,
                    target.row.seller_sku,
                    f"on_hand {new} is below the {reserved} units reserved for open orders in "
                    f"{target.warehouse.code}",
                )
            )
        elif new == old:
            unchanged += 1
        else:
            changes.append(
                Change(
                    target.row.line, target.row.seller_sku, target.sku.name, target.warehouse.code, old, new
                )
            )
    return changes, unchanged, errors


def import_preview(*, account, rows: list[CountRow], errors: list[RowError] = ()) -> ImportPreview:
    """What applying these rows would do now: each change old -> new, and every bad row by line.

    `errors` are the parser's; they are merged with this check's and sorted by line number.
    Reads without locks: `stock_import_counts` checks again under locks when applying.
    """
    targets, resolve_errors = _resolve(account=account, rows=rows)
    levels: dict[tuple[str, str], StockLevel] = {}
    for chunk in _chunks([t.sku.pk for t in targets]):
        for level in StockLevel.objects.filter(sku_id__in=chunk):
            levels[(str(level.sku_id), str(level.warehouse_id))] = level
    changes, unchanged, level_errors = _compare(targets, levels)
    all_errors = sorted([*errors, *resolve_errors, *level_errors], key=lambda e: e.line)
    return ImportPreview(
        changes=sorted(changes, key=lambda c: c.line), unchanged=unchanged, errors=all_errors
    )


# --- import: applying -----------------------------------------------------------------------------


def stock_import_counts(
    *, account, rows: list[CountRow], actor, reference: str = IMPORT_REASON
) -> ImportResult:
    """Set on_hand to the counted numbers, all rows or none, in one transaction.

    Locks: creates the missing stock levels (empty), then locks every level the file touches with
    `locking.stock_levels_for_update` (primary-key order, like every other stock change, so it
    cannot deadlock with reservations). Under the locks it re-checks every row; any error (unknown
    SKU, duplicate, below what is reserved now) raises ImportRejected and rolls everything back.
    Each change writes one ADJUSTMENT ledger row (reason "csv_import", previous and new level,
    the acting user); one audit entry sums the import up. After commit the channel hears of the
    changed SKUs and alerts are re-evaluated, like any other stock change.
    """
    with transaction.atomic():
        targets, errors = _resolve(account=account, rows=rows)
        if errors:
            raise ImportRejected(errors)
        pairs = [(t.sku.pk, t.warehouse.pk) for t in targets]
        StockLevel.objects.bulk_create(
            [StockLevel(sku_id=sku_id, warehouse_id=warehouse_id) for sku_id, warehouse_id in pairs],
            ignore_conflicts=True,
        )
        levels = stock_levels_for_update(pairs)
        changes, unchanged, errors = _compare(targets, levels)
        if errors:
            raise ImportRejected(errors)
        now = timezone.now()
        by_line = {t.row.line: t for t in targets}
        entries = []
        for change in changes:
            target = by_line[change.line]
            level = levels[(str(target.sku.pk), str(target.warehouse.pk))]
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=change.new, version=F("version") + 1, updated_at=now
            )
            entries.append(
                InventoryTransaction(
                    account_id=account.pk,
                    sku_id=target.sku.pk,
                    warehouse_id=target.warehouse.pk,
                    type=TransactionType.ADJUSTMENT,
                    quantity=change.delta,
                    previous_level=change.old,
                    new_level=change.new,
                    reason=IMPORT_REASON,
                    reference=reference[:100],
                    actor=actor if getattr(actor, "is_authenticated", False) else None,
                    actor_label=""
                    if getattr(actor, "is_authenticated", False)
                    else str(actor or "system")[:100],
                    created_at=now,
                )
            )
        InventoryTransaction.objects.bulk_create(entries, batch_size=1000)
        units = sum(change.delta for change in changes)
        audit_log(
            actor=actor,
            action="stock.csv_import",
            target=account,
            account=account,
            changes={"rows_changed": [None, len(changes)], "units": [None, units]},
        )
        sku_ids = sorted({str(by_line[change.line].sku.pk) for change in changes})
        if sku_ids:
            transaction.on_commit(partial(channel.stock_changed, sku_ids=sku_ids), robust=True)
            transaction.on_commit(partial(alerts_evaluate, sku_ids=sku_ids), robust=True)
    return ImportResult(changed=len(changes), unchanged=unchanged, units_delta=units)


# --- the stored preview ---------------------------------------------------------------------------


def rows_to_payload(rows: list[CountRow], errors: list[RowError]) -> dict:
    """JSON-safe form of parsed rows, for the cache entry the preview page and Apply refer to."""
    return {
        "rows": [[r.line, r.seller_sku, r.warehouse, r.on_hand] for r in rows],
        "errors": [[e.line, e.seller_sku, e.message] for e in errors],
    }


def rows_from_payload(payload: dict) -> tuple[list[CountRow], list[RowError]]:
    return (
        [CountRow(int(a), str(b), str(c), int(d)) for a, b, c, d in payload["rows"]],
        [RowError(int(a), str(b), str(c)) for a, b, c in payload["errors"]],
    )
