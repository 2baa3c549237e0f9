"""Tasks run through the outbox by the tests. Each run leaves one Account row named after it, so a
test can count how many times the task body really ran."""

from celery import shared_task

from accounts.models import Account


@shared_task(name="outbox_tests.record_effect", acks_late=True, reject_on_worker_lost=True)
def record_effect(label: str) -> None:
    Account.objects.create(name=label)


@shared_task(name="outbox_tests.fail_until_fixed", acks_late=True, reject_on_worker_lost=True)
def fail_until_fixed(label: str) -> None:
    Account.objects.create(name=f"attempt:{label}")
    if not Account.objects.filter(name=f"fixed:{label}").exists():
        raise RuntimeError(f"{label}: the dependency is still down")
    Account.objects.create(name=label)


class BreakerOpen(Exception):
    """Like CircuitOpenError: the platform is unavailable, and says for how long."""

    retry_after = 300.0


@shared_task(name="outbox_tests.breaker_open", acks_late=True, reject_on_worker_lost=True)
def breaker_open() -> None:
    raise BreakerOpen("circuit open; retry in 300 s")


@shared_task(name="outbox_tests.slow_effect", acks_late=True, reject_on_worker_lost=True, time_limit=300)
def slow_effect(label: str, seconds: float) -> None:
    """Notes that it started, works for `seconds`, then leaves its effect: a worker killed in
    between leaves a start and no effect."""
    import time

    Account.objects.create(name=f"started:{label}")
    time.sleep(seconds)
    Account.objects.create(name=label)
