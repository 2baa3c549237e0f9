"""The token bucket: exact arithmetic, waiting, and a budget that holds across processes."""

import multiprocessing
import time

import pytest
from django.conf import settings
from django.db import connection

from creatorflow.resilience.models import TokenBucketState
from creatorflow.resilience.ratelimit import (
    DatabaseBucketBackend,
    RateLimited,
    RedisBucketBackend,
    TokenBucket,
    default_backend,
    purge_idle_buckets,
)
from creatorflow.resilience.tests import procs


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request):
    if request.param == "redis":
        request.getfixturevalue("redis_client")
        return RedisBucketBackend(settings.REDIS_URL)
    request.getfixturevalue("db")
    return DatabaseBucketBackend()


@pytest.mark.django_db
def test_database_bucket_grants_the_burst_then_refills_at_the_rate(unique_name, clock):
    # given a bucket of 3 refilling 2 per second, on a clock the test controls
    bucket = TokenBucket(unique_name, rate_per_s=2, burst=3, backend=DatabaseBucketBackend(), clock=clock)

    # when 10 tokens are asked for at once
    granted = sum(bucket.try_acquire() == 0.0 for _ in range(10))

    # then only the burst is granted, and the next token is half a second away
    assert granted == 3
    assert bucket.try_acquire() == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.try_acquire() == 0.0
    assert bucket.try_acquire() == pytest.approx(0.5)

    # and a long idle period refills only up to the burst
    clock.advance(3600)
    assert sum(bucket.try_acquire() == 0.0 for _ in range(10)) == 3
    assert TokenBucketState.objects.get(key=unique_name).tokens == pytest.approx(0.0)


def test_a_refused_request_takes_nothing(backend, unique_name):
    # given a bucket with 2 of its 3 tokens taken (refill too slow to matter)
    bucket = TokenBucket(unique_name, rate_per_s=0.001, burst=3, backend=backend)
    assert bucket.try_acquire(2) == 0.0

    # when 2 more are asked for
    wait = bucket.try_acquire(2)

    # then they are refused with a wait of about one token's refill, and the one left is still there
    assert wait == pytest.approx(1000, rel=0.01)
    assert bucket.try_acquire(1) == 0.0


def test_acquire_sleeps_until_a_token_is_free(backend, unique_name):
    # given an empty bucket refilling 20 per second
    bucket = TokenBucket(unique_name, rate_per_s=20, burst=1, backend=backend)
    bucket.acquire()

    # when another token is acquired
    started = time.monotonic()
    bucket.acquire(timeout=2)

    # then it waited for the refill (1/20 s), not much longer
    assert 0.03 <= time.monotonic() - started < 1.0


def test_acquire_raises_rate_limited_when_the_wait_exceeds_the_timeout(backend, unique_name):
    # given an empty bucket that refills one token per second
    bucket = TokenBucket(unique_name, rate_per_s=1, burst=1, backend=backend)
    bucket.acquire()

    # when a token is wanted within 0.1 s
    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        bucket.acquire(timeout=0.1)

    # then it gives up at once, saying how long to wait
    assert time.monotonic() - started < 0.1
    assert limited.value.retry_after == pytest.approx(1, abs=0.1)
    assert limited.value.code == "rate_limited"


def test_more_than_the_burst_can_never_be_granted(unique_name):
    # given a bucket of 5
    bucket = TokenBucket(unique_name, rate_per_s=1, burst=5, backend=DatabaseBucketBackend())

    # when 6 are asked for, then that is a programming error rather than an endless wait
    with pytest.raises(ValueError):
        bucket.try_acquire(6)


def test_the_backend_follows_settings(settings):
    # given no Redis, then the database; given Redis, then Redis
    settings.REDIS_URL = ""
    assert isinstance(default_backend(), DatabaseBucketBackend)
    settings.REDIS_URL = "redis://127.0.0.1:6379/2"
    assert isinstance(default_backend(), RedisBucketBackend)


@pytest.mark.django_db
def test_idle_buckets_are_purged(unique_name, clock):
    # given one bucket used long ago and one used now
    TokenBucket(
        "old-" + unique_name, 1, 1, backend=DatabaseBucketBackend(), clock=lambda: clock() - 90000
    ).try_acquire()
    TokenBucket(unique_name, 1, 1, backend=DatabaseBucketBackend(), clock=clock).try_acquire()

    # when idle buckets are purged
    deleted = purge_idle_buckets(idle_seconds=86400, clock=clock)

    # then only the old one is gone
    assert deleted == 1
    assert list(TokenBucketState.objects.values_list("key", flat=True)) == [unique_name]


def run_two_processes(key, rate, burst, backend, db_name, seconds):
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    queue = context.Queue()
    workers = [
        context.Process(
            target=procs.hammer_bucket, args=(key, rate, burst, backend, db_name, start, seconds, queue)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # let both import Django before the race starts
    start.set()
    results = [queue.get(timeout=90) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    return results


def assert_within_budget(results, rate, burst):
    granted = sum(len(r["grants"]) for r in results)
    window = max(r["last_call"] for r in results) - min(r["first_call"] for r in results)
    budget = burst + rate * window
    # every process got tokens, and together never more than the bucket allows (1 token of slack
    # for the two clocks: the bucket's and time.time() in the children)
    assert all(r["grants"] for r in results), results
    assert burst <= granted <= budget + 1, (granted, budget)
    return granted, budget


@pytest.mark.redis
def test_redis_bucket_budget_holds_across_two_processes(redis_client, unique_name):
    # given a bucket of 5 refilling 20 per second, and two processes taking as fast as they can
    rate, burst = 20.0, 5.0

    # when they race for 1.5 s
    results = run_two_processes(unique_name, rate, burst, "redis", None, 1.5)

    # then together they got at most burst + rate × elapsed (a per-process limit would give twice that)
    granted, budget = assert_within_budget(results, rate, burst)
    assert granted > 0.8 * budget  # and the limiter did not starve them either


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_bucket_budget_holds_across_two_processes(unique_name):
    # given the database fallback, and two processes on the same (test) database
    rate, burst = 20.0, 5.0
    db_name = connection.settings_dict["NAME"]

    # when they race for 1.5 s
    results = run_two_processes(unique_name, rate, burst, "database", db_name, 1.5)

    # then together they stayed within the single budget
    granted, budget = assert_within_budget(results, rate, burst)
    assert granted > 0.8 * budget


@pytest.mark.django_db
def test_daily_purge_task_drops_only_idle_database_buckets():
    # given: one bucket touched two days ago, one just now
    from creatorflow.resilience.tasks import purge_idle_buckets_task

    now = time.time()
    TokenBucketState.objects.create(key="idle", tokens=1.0, updated_at=now - 2 * 86400)
    TokenBucketState.objects.create(key="busy", tokens=1.0, updated_at=now)

    # when
    deleted = purge_idle_buckets_task.apply().get()

    # then
    assert deleted == 1
    assert list(TokenBucketState.objects.values_list("key", flat=True)) == ["busy"]
