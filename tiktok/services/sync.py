"""A shop's first import and resync (catalogue, then orders), with progress. Owned by orders-sync."""

from __future__ import annotations


def shop_first_import(*, shop, run) -> None:
    raise NotImplementedError


def shop_resync_run(*, shop, run) -> None:
    raise NotImplementedError


def shop_resync(*, shop, actor):
    """Start a resync (a SyncRun of kind RESYNC + the task after commit); returns the run."""
    raise NotImplementedError
