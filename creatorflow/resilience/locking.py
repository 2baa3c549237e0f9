"""Cross-process mutual exclusion on the database, for state kept where no atomic primitive exists.

Redis gives us atomic INCR, SET NX and Lua scripts. The embedded default has no Redis: shared state
lives in the database (the database cache, the rate limiter's bucket rows), and a read-modify-write
there must not interleave between web, worker and beat processes. `serialized()` runs a block in a
transaction that no other process can run at the same time for the same lock name:

- PostgreSQL: a transaction-scoped advisory lock (`pg_advisory_xact_lock`) on a 64-bit hash of the
  name; released at commit or rollback, so a crashed process cannot leave it behind.
- SQLite: settings open every transaction with `BEGIN IMMEDIATE`, which takes the database's single
  write lock up front (waiting up to the configured timeout), so the whole block is already exclusive.
- Other databases: no extra lock; only the transaction's own guarantees apply.

Keep the block short and free of network calls: every other process wanting the lock waits for it.
Called inside an outer transaction, the lock is held until that outer transaction ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction


def lock_id(name: str) -> int:
    """A stable signed 64-bit integer for `name` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def serialized(name: str, *, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction on `using`, exclusive across processes for `name`."""
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id(name)])
        # sqlite: BEGIN IMMEDIATE (settings.DATABASES OPTIONS transaction_mode) already holds the lock.
        yield
