"""Heartbeats for long work: a claim stays fresh while its worker is alive, and goes stale soon after
the worker dies.

Why: a claim with a long fixed expiry (five minutes, the task's time limit) makes a killed worker's
work wait that long before anyone else may take it. A short claim renewed while the work runs gives
both properties at once: a slow but living worker keeps its claim for as long as it needs, and a
dead one loses it within `STALE_AFTER`.

Usage::

    with beating(partial(renew_my_claim, pk=row.pk, started=started)):
        do_the_work()          # `renew_my_claim()` is called every BEAT_SECONDS meanwhile

One daemon thread per process calls every registered renewal every `BEAT_SECONDS`. A renewal is a
short UPDATE fenced on the claim it renews (so a claim someone else has since taken is left alone);
it runs on the thread's own database connection, which is closed after each round so that no
connection outlives the work (a test database can then always be dropped). A renewal that raises
is logged and tried again next round: a database blip must not kill the thread. The thread is
started lazily on first use, so a prefork worker's parent (which runs no work) never has one, and
every forked child starts its own.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

# A renewal every BEAT_SECONDS; a claim not renewed for STALE_AFTER seconds lost its worker.
# STALE_AFTER allows three missed beats (a busy database, a long GC pause) before anyone steps in.
BEAT_SECONDS = 5.0
STALE_AFTER = 20.0


class _Beater:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # handle -> [renewal, interval, next due (monotonic)]
        self._renewals: dict[int, list] = {}
        self._ids = itertools.count(1)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def add(self, renew: Callable[[], object], every: float) -> int:
        with self._lock:
            handle = next(self._ids)
            self._renewals[handle] = [renew, every, time.monotonic() + every]
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="cf-heartbeat", daemon=True)
                self._thread.start()
        self._wake.set()  # the thread recomputes when to wake; nothing is renewed before it is due
        return handle

    def remove(self, handle: int) -> None:
        with self._lock:
            self._renewals.pop(handle, None)

    def _run(self) -> None:
        from django.db import connections

        while True:
            with self._lock:
                upcoming = [entry[2] for entry in self._renewals.values()]
            timeout = max(0.0, min(upcoming) - time.monotonic()) if upcoming else BEAT_SECONDS
            self._wake.wait(timeout)
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                due = [entry for entry in self._renewals.values() if entry[2] <= now]
                for entry in due:
                    entry[2] = now + entry[1]
            if not due:
                continue
            for renew, _every, _next in due:
                try:
                    renew()
                except Exception:
                    logger.warning("heartbeat: a renewal failed; trying again next beat", exc_info=True)
            connections.close_all()  # this thread's connections only


_beater = _Beater()


@contextmanager
def beating(renew: Callable[[], object], *, every: float | None = None) -> Iterator[None]:
    """Call `renew()` every `every` seconds (default BEAT_SECONDS) from a background thread while
    the block runs; the first call comes one interval after entering."""
    handle = _beater.add(renew, BEAT_SECONDS if every is None else every)
    try:
        yield
    finally:
        _beater.remove(handle)
