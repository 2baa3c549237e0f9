"""`make chaos`: fault scenarios against a live stack each starts for itself (bench/_stack.py), printing
one figure per line, `name: value unit`. Not part of `make test`: each scenario takes a minute or more.

Scenarios (pick some with `python -m bench.chaos broker_frozen inbox_drain ...`):

- `broker_frozen`: Redis (broker and cache) is SIGSTOPped for 10 s while TikTok webhooks arrive.
  `webhook_p99_ms_broker_frozen` (goal ≤ 1,000) over the answers sent during the freeze;
  `webhook_events_lost` (answered 200 but not stored; must be 0); `broker_frozen_recovery_seconds`
  from the thaw until every event is processed.
- `inbox_drain`: 2,000 webhooks are stored and sent while no worker runs, then the broker loses its
  queue (FLUSHALL) and the workers start. `inbox_drain_seconds_2000` (goal ≤ 120) from the loss to
  the last event processed, and `inbox_duplicate_deliveries` (messages beyond one per event).
- `worker_killed`: the integrations worker is SIGKILLed (with its pool) while labels are being bought,
  and a new one starts (as a supervisor would). `crash_recovery_seconds` (goal ≤ 60) from the kill
  until every order that was in flight is shipped; `duplicate_labels` must be 0.
- `carrier_outage`: orders arrive at 60 a minute for 5 minutes; the only carrier answers 500 from
  minute 1 to minute 3. `carrier_outage_recovery_seconds` (goal ≤ 180) from its recovery until the
  last order that waited is shipped; `carrier_outage_automation_rate` (goal ≥ 0.95) over the run.
- `database_down`: PostgreSQL stops for 20 s while webhooks arrive. `database_down_5xx_other_than_503`
  must be 0, `database_down_events_lost` must be 0, and `database_recovery_seconds` from its restart
  until webhooks are answered 200 again.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _inbox_done_count(prefix: str) -> int:
    from creatorflow.inbox.models import InboundEvent

    return InboundEvent.objects.filter(
        external_id__startswith=prefix, status=InboundEvent.Status.DONE
    ).count()


def broker_frozen() -> list[tuple[str, float, str]]:
    from bench._stack import Stack, percentile, wait_until
    from creatorflow.inbox.models import InboundEvent

    stack = Stack("frozen").start()
    try:
        orders = stack.create_orders(600)
        warm = [stack.webhook_body(o, 0) for o in orders[:100]]
        stack.post_webhooks(warm)  # warm: connections made, workers busy as on a normal day
        bodies = [stack.webhook_body(o, 0) for o in orders[100:]]
        stack.redis.freeze()
        answers = stack.post_webhooks(bodies[:300], connections=4, pace_per_s=30)  # 10 s, all while frozen
        stack.redis.thaw()
        during = [a.seconds * 1000 for a in answers]
        ok = sum(1 for a in answers if a.status == 200)
        stored = InboundEvent.objects.filter(
            provider="tiktok", external_id__startswith="chaos-frozen-"
        ).count()
        prefix = "chaos-frozen-"
        total = 100 + len(answers)
        recovery = wait_until(lambda: _inbox_done_count(prefix) >= total, timeout=300)
        return [
            ("webhook_p50_ms_broker_frozen", percentile(during, 0.50), "ms"),
            ("webhook_p99_ms_broker_frozen", percentile(during, 0.99), "ms"),
            ("webhook_non_200_broker_frozen", float(len(answers) - ok), "answers"),
            ("webhook_events_lost", float(max(0, ok + 100 - stored)), "events"),
            ("broker_frozen_recovery_seconds", recovery if recovery is not None else float("nan"), "s"),
        ]
    finally:
        stack.redis.thaw()
        stack.stop()


def inbox_drain() -> list[tuple[str, float, str]]:
    from bench._stack import Stack, wait_until
    from creatorflow.inbox.models import InboundEvent

    stack = Stack("drain").start(workers=False)
    try:
        orders = stack.create_orders(2000)
        bodies = [stack.webhook_body(o, 0) for o in orders]
        answers = stack.post_webhooks(bodies, connections=8)
        assert sum(a.status == 200 for a in answers) == 2000, "every webhook must be accepted"
        events = InboundEvent.objects.filter(external_id__startswith="chaos-drain-")
        sent = wait_until(lambda: not events.filter(dispatched_at__isnull=True).exists(), timeout=120)
        if sent is None:
            raise RuntimeError("the relay did not send the 2,000 events")
        stack.redis.client().flushall()  # the broker lost its queue
        lost_at = time.monotonic()
        stack.start_workers()
        drained = wait_until(
            lambda: events.filter(status=InboundEvent.Status.DONE).count() >= 2000, timeout=600
        )
        seconds = drained if drained is not None else float("nan")
        claims = sum(events.values_list("attempts", flat=True))
        messages = _delivered_messages(stack)
        return [
            ("inbox_drain_seconds_2000", seconds, "s"),
            ("inbox_events_done", float(events.filter(status=InboundEvent.Status.DONE).count()), "events"),
            ("inbox_attempts_beyond_one", float(claims - 2000), "attempts"),
            ("inbox_messages_delivered", float(messages), "messages"),
            ("inbox_duplicate_deliveries", float(max(0, messages - 2000)), "messages"),
            ("inbox_drain_measured_from_loss", time.monotonic() - lost_at, "s"),
        ]
    finally:
        stack.stop()


def _delivered_messages(stack) -> int:
    """Inbox messages the webhooks worker received after the loss, from its log (one line each)."""
    process = stack.processes.get("worker-webhooks")
    if process is None:
        return 0
    return process.output().count("Task inbox.process_event[") // 2  # received + succeeded lines


def database_down() -> list[tuple[str, float, str]]:
    from bench._stack import Stack
    from creatorflow.inbox.models import InboundEvent

    stack = Stack("dbdown").start()
    try:
        orders = stack.create_orders(400)
        before = stack.post_webhooks([stack.webhook_body(o, 0) for o in orders[:100]])
        stack.pg.stop()
        during = stack.post_webhooks([stack.webhook_body(o, 0) for o in orders[100:200]], pace_per_s=5)
        stack.pg.start()
        restarted = time.monotonic()
        recovery = None
        pending = orders[200:]
        after = []
        for order_id in pending:
            answer = stack.post_webhooks([stack.webhook_body(order_id, 0)], connections=1)[0]
            after.append(answer)
            if answer.status == 200 and recovery is None:
                recovery = time.monotonic() - restarted
                break
        # TikTok retries what was not answered 200; do the same for the answers during the outage
        from django.db import connections

        connections.close_all()
        retried = stack.post_webhooks(
            [
                stack.webhook_body(o, 0)
                for o, a in zip(orders[100:200], during, strict=True)
                if a.status != 200
            ]
        )
        accepted = sum(a.status == 200 for a in before + during + after + retried)
        stored = InboundEvent.objects.filter(external_id__startswith="chaos-dbdown-").count()
        bad = sum(1 for a in during if a.status >= 500 and a.status != 503)
        return [
            ("database_down_503_answers", float(sum(a.status == 503 for a in during)), "answers"),
            ("database_down_5xx_other_than_503", float(bad), "answers"),
            ("database_down_events_lost", float(max(0, accepted - stored)), "events"),
            ("database_recovery_seconds", recovery if recovery is not None else float("nan"), "s"),
        ]
    finally:
        stack.stop()


def _shipped_order_ids(ids) -> set:
    """Orders shipped or further along: the sandbox carrier moves a parcel on to in transit and
    delivered while the scenario waits for the rest."""
    from orders.models import Order, OrderStatus

    shipped_or_later = [
        OrderStatus.SHIPPED,
        OrderStatus.IN_TRANSIT,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    ]
    return set(
        Order.objects.filter(tiktok_order_id__in=ids, status__in=shipped_or_later).values_list(
            "tiktok_order_id", flat=True
        )
    )


def _duplicate_labels() -> int:
    """Labels bought beyond one per order (the sandbox carrier's own record of what it sold)."""
    from django.db.models import Count

    from shipping.models import LabelAttempt, SandboxParcel

    sold = SandboxParcel.objects.filter(voided=False).count()
    orders = LabelAttempt.objects.filter(state="bought").aggregate(n=Count("shipment__order", distinct=True))[
        "n"
    ]
    return max(0, sold - (orders or 0))


def worker_killed() -> list[tuple[str, float, str]]:
    from bench._stack import Stack, wait_until
    from shipping.models import LabelAttempt

    # every label takes 3 s to come back after the carrier recorded it: a kill lands mid-purchase
    stack = Stack("killed", carrier_options={"latency_after_buy_s": 3}).start()
    try:
        orders = stack.create_orders(12)
        answers = stack.post_webhooks([stack.webhook_body(o, 0) for o in orders])
        assert all(a.status == 200 for a in answers), "every webhook must be accepted"
        in_flight = wait_until(lambda: LabelAttempt.objects.filter(state="started").count() >= 2, timeout=120)
        if in_flight is None:
            raise RuntimeError("no purchase started")
        stack.processes.pop("worker-integrations").kill()  # the pool and all, as an OOM kill would
        killed_at = time.monotonic()
        stack.start_workers(["integrations"])  # its supervisor starts a new one
        done = wait_until(lambda: len(_shipped_order_ids(orders)) == len(orders), timeout=600)
        recovery = time.monotonic() - killed_at if done is not None else float("nan")
        return [
            ("crash_recovery_seconds", recovery, "s"),
            ("worker_killed_orders_shipped", float(len(_shipped_order_ids(orders))), "orders"),
            ("duplicate_labels", float(_duplicate_labels()), "labels"),
        ]
    finally:
        stack.stop()


def carrier_outage() -> list[tuple[str, float, str]]:
    from django.db.models import Max

    from bench._stack import Stack, wait_until
    from orders.models import Order, OrderEvent
    from shipping.models import CarrierAccount

    minutes = float(os.environ.get("CHAOS_OUTAGE_RUN_MINUTES", "5"))
    outage = (60.0, 180.0)  # the only carrier answers 500 (rates and labels) from minute 1 to minute 3
    stack = Stack("outage").start()
    try:
        total = int(60 * minutes)
        orders = stack.create_orders(total)
        started = time.monotonic()
        failing, recovered_at = False, None
        waited: set[str] = set()

        def carrier(options: dict) -> None:
            CarrierAccount.objects.filter(pk=stack.carrier.pk).update(options=options)

        for n, order_id in enumerate(orders):
            time.sleep(max(0.0, started + n - time.monotonic()))  # 60 a minute
            elapsed = time.monotonic() - started
            if not failing and recovered_at is None and elapsed >= outage[0]:
                carrier({"fault": "5xx", "fault_on": ["rates", "buy"]})
                failing = True
            elif failing and elapsed >= outage[1]:
                carrier({})
                failing, recovered_at = False, time.time()
            if failing:
                waited.add(order_id)
            stack.post_webhooks([stack.webhook_body(order_id, 0)], connections=1)
        if failing:  # a run shorter than the outage still ends it
            carrier({})
            recovered_at = time.time()
        done = wait_until(lambda: len(_shipped_order_ids(orders)) == total, timeout=900)
        shipped = _shipped_order_ids(orders)
        # from the carrier's recovery to the moment the last order that met the outage was shipped
        last = OrderEvent.objects.filter(
            order__tiktok_order_id__in=waited, type="status", to_status="shipped"
        ).aggregate(at=Max("created_at"))["at"]
        recovery = (
            last.timestamp() - recovered_at if (done is not None and last and recovered_at) else float("nan")
        )
        untouched = set(
            Order.objects.filter(tiktok_order_id__in=orders, touched_by_human=False).values_list(
                "tiktok_order_id", flat=True
            )
        )
        return [
            ("carrier_outage_recovery_seconds", recovery, "s"),
            ("carrier_outage_orders_met_outage", float(len(waited)), "orders"),
            ("carrier_outage_orders_shipped", float(len(shipped)), "orders"),
            (
                "carrier_outage_automation_rate",
                len(shipped & untouched) / total if total else float("nan"),
                "ratio",
            ),
            ("duplicate_labels_carrier_outage", float(_duplicate_labels()), "labels"),
        ]
    finally:
        stack.stop()


SCENARIOS = {
    "broker_frozen": broker_frozen,
    "inbox_drain": inbox_drain,
    "database_down": database_down,
    "worker_killed": worker_killed,
    "carrier_outage": carrier_outage,
}


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    # This process measures through Django on the stack's own database; it must not use the
    # developer's Redis for its cache or broker.
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    import django

    django.setup()
    names = argv or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(
            f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}", file=sys.stderr
        )
        return 2
    for name in names:
        for figure, value, unit in SCENARIOS[name]():
            print(f"{figure}: {value:.3f} {unit}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
