"""What other apps may import from the outbox.

- `outbox_enqueue(*, task, kwargs, queue="default", key=None) -> EnqueuedMessage`: call it inside the
  transaction that makes the work necessary; the task runs once after commit, even if the broker was
  down at that moment.
"""

from .services import EnqueuedMessage, OutboxUsageError, outbox_enqueue

__all__ = ["EnqueuedMessage", "OutboxUsageError", "outbox_enqueue"]
