"""Sync runs (what the dashboard's progress bars and last-sync times read) and per-shop job locks.

A shop's poll, import or catalogue sync must not run twice at once (two beat ticks, a resync while
the poll runs): `shop_job` takes a cache lock (Redis SET NX in production) named after the shop
and the kind of job; a second caller gets `False` and skips (or, for work that must not be
dropped, retries shortly). The lock is a short lease renewed by the process heartbeat while the
job runs, so a worker killed mid-job blocks that shop for seconds, not for the job's time limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from creatorflow.resilience.heartbeat import STALE_AFTER, beating

from ..models import ApiCall, SyncRun

# The lease: renewed every few seconds while the job runs, gone this long after its worker died.
JOB_LOCK_SECONDS = int(STALE_AFTER)
API_CALL_RETENTION = timedelta(days=7)


@contextmanager
def shop_job(shop, kind: str, *, seconds: int = JOB_LOCK_SECONDS) -> Iterator[bool]:
    """Yields True when this caller holds the (shop, kind) lock, False when another one does."""
    key = f"tiktok:job:{shop.pk}:{kind}"
    acquired = cache.add(key, "1", seconds)
    if not acquired:
        yield False
        return
    try:
        with beating(lambda: cache.touch(key, seconds)):
            yield True
    finally:
        cache.delete(key)


def run_start(*, shop, kind: str, total: int = 0) -> SyncRun:
    return SyncRun.objects.create(shop=shop, kind=kind, total=total)


def run_progress(
    run: SyncRun, *, done: int = 0, created: int = 0, updated: int = 0, total: int | None = None
) -> None:
    """Add to the run's counters (one UPDATE, safe from several workers) and refresh the object."""
    fields = {"done": F("done") + done, "created": F("created") + created, "updated": F("updated") + updated}
    if total is not None:
        fields["total"] = total
    SyncRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db(fields=["done", "created", "updated", "total"])


def run_finish(run: SyncRun, *, error: str = "", **counters) -> SyncRun:
    status = SyncRun.Status.FAILED if error else SyncRun.Status.DONE
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, error=error[:4000], finished_at=timezone.now(), **counters
    )
    run.refresh_from_db()
    return run


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def failing_run(run: SyncRun | None) -> Iterator[SyncRun | None]:
    """If the block raises, mark `run` failed with the error, then re-raise (the task retries).
    `None` (a run someone else owns and finishes) passes the error through untouched."""
    try:
        yield run
    except Exception as exc:
        if run is not None:
            run_finish(run, error=error_text(exc))
        raise


def api_calls_prune(*, older_than: timedelta = API_CALL_RETENTION) -> int:
    deleted, _ = ApiCall.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
