"""The sliding-window limiter: exact arithmetic, waiting, and a limit that holds in every one-second
window across processes, on Redis and on the database. (Through the TikTok client, against a TikTok
that counts per second: tiktok/tests/test_client_resilience.py.)"""

import bisect
import multiprocessing
import time

import pytest
from django.conf import settings
from django.db import connection

from creatorflow.resilience.models import RateWindowState
from creatorflow.resilience.ratelimit import (
    DatabaseWindowBackend,
    RateLimited,
    RedisWindowBackend,
    WindowLimiter,
    default_backend,
    purge_idle_windows,
)
from creatorflow.resilience.tests import procs


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request):
    if request.param == "redis":
        request.getfixturevalue("redis_client")
        return RedisWindowBackend(settings.REDIS_URL)
    request.getfixturevalue("db")
    return DatabaseWindowBackend()


def most_in_any_window(stamps: list[float], window: float = 1.0) -> int:
    """The largest number of stamps in any half-open interval [t, t + window), t any stamp."""
    ordered = sorted(stamps)
    return max((bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)), default=0)


def test_the_window_count_itself():
    # the checker the tests below rely on, on hand-made stamps
    assert most_in_any_window([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert most_in_any_window([0.0, 1.0, 2.0]) == 1
    assert most_in_any_window([]) == 0


@pytest.mark.django_db
def test_the_window_grants_its_limit_then_only_as_the_oldest_grants_leave(unique_name, clock):
    # given a window of 3 per second, on a clock the test controls
    limiter = WindowLimiter(unique_name, 3, 1.0, backend=DatabaseWindowBackend(), clock=clock)

    # when 10 are asked for at once
    granted = sum(limiter.try_acquire() == 0.0 for _ in range(10))

    # then only 3 are granted, and the next place frees when the first grant is a second old
    assert granted == 3
    assert limiter.try_acquire() == pytest.approx(1.0)
    clock.advance(0.4)
    assert limiter.try_acquire() == pytest.approx(0.6)
    clock.advance(0.6)
    assert sum(limiter.try_acquire() == 0.0 for _ in range(10)) == 3

    # and a long quiet spell gives no burst: still 3 in the next second, never more
    clock.advance(3600)
    assert sum(limiter.try_acquire() == 0.0 for _ in range(10)) == 3
    assert len(RateWindowState.objects.get(key=unique_name).stamps) == 3


@pytest.mark.django_db
def test_grants_spread_over_the_second_free_their_places_one_by_one(unique_name, clock):
    # given 3 grants 0.34 s apart in a window of 3 per second
    limiter = WindowLimiter(unique_name, 3, 1.0, backend=DatabaseWindowBackend(), clock=clock)
    for _ in range(3):
        assert limiter.try_acquire() == 0.0
        clock.advance(0.34)

    # then exactly one place is free now (the first grant is a second old), then none
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() > 0.0


def test_a_refused_request_takes_nothing(backend, unique_name):
    # given a window of 3 per 1000 s with 2 places taken
    limiter = WindowLimiter(unique_name, 3, 1000.0, backend=backend)
    assert limiter.try_acquire(2) == 0.0

    # when 2 more are asked for
    wait = limiter.try_acquire(2)

    # then they are refused until the first grants leave the window, and the one place left is still there
    assert wait == pytest.approx(1000, rel=0.01)
    assert limiter.try_acquire(1) == 0.0
    assert limiter.try_acquire(1) > 0.0


def test_acquire_sleeps_until_a_place_is_free(backend, unique_name):
    # given a full window of 1 per 0.2 s
    limiter = WindowLimiter(unique_name, 1, 0.2, backend=backend)
    limiter.acquire()

    # when another place is acquired
    started = time.monotonic()
    limiter.acquire(timeout=2)

    # then it waited for the first grant to leave the window, not much longer
    assert 0.15 <= time.monotonic() - started < 1.0


def test_acquire_raises_rate_limited_when_the_wait_exceeds_the_timeout(backend, unique_name):
    # given a full window of 1 per second
    limiter = WindowLimiter(unique_name, 1, 1.0, backend=backend)
    limiter.acquire()

    # when a place is wanted within 0.1 s
    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        limiter.acquire(timeout=0.1)

    # then it gives up at once, saying how long to wait
    assert time.monotonic() - started < 0.1
    assert limited.value.retry_after == pytest.approx(1, abs=0.1)
    assert limited.value.code == "rate_limited"


@pytest.mark.parametrize("n", [0, 6, 1.5, True])
def test_more_than_the_window_holds_is_a_programming_error(unique_name, n):
    limiter = WindowLimiter(unique_name, 5, 1.0, backend=DatabaseWindowBackend())
    with pytest.raises(ValueError):
        limiter.try_acquire(n)


def test_the_backend_follows_settings(settings):
    # given no Redis, then the database; given Redis, then Redis
    settings.REDIS_URL = ""
    assert isinstance(default_backend(), DatabaseWindowBackend)
    settings.REDIS_URL = "redis://127.0.0.1:6379/2"
    assert isinstance(default_backend(), RedisWindowBackend)


@pytest.mark.django_db
def test_idle_windows_are_purged(unique_name, clock):
    # given one window used long ago and one used now
    WindowLimiter(
        "old-" + unique_name, 1, 1.0, backend=DatabaseWindowBackend(), clock=lambda: clock() - 90000
    ).try_acquire()
    WindowLimiter(unique_name, 1, 1.0, backend=DatabaseWindowBackend(), clock=clock).try_acquire()

    # when idle windows are purged
    deleted = purge_idle_windows(idle_seconds=86400, clock=clock)

    # then only the old one is gone
    assert deleted == 1
    assert list(RateWindowState.objects.values_list("key", flat=True)) == [unique_name]


@pytest.mark.django_db
def test_daily_purge_task_drops_only_idle_database_windows():
    from creatorflow.resilience.tasks import purge_idle_buckets_task

    now = time.time()
    RateWindowState.objects.create(key="idle", stamps=[now - 2 * 86400], updated_at=now - 2 * 86400)
    RateWindowState.objects.create(key="busy", stamps=[now], updated_at=now)

    assert purge_idle_buckets_task.apply().get() == 1
    assert list(RateWindowState.objects.values_list("key", flat=True)) == ["busy"]


# --- the limit across processes: never more than 50 in any one second ----------------------------------


def race_two_processes(key, limit, backend, db_name, seconds):
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    queue = context.Queue()
    workers = [
        context.Process(
            target=procs.hammer_window, args=(key, limit, backend, db_name, start, seconds, queue)
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


def assert_never_over(results, limit, seconds):
    stamps = [t for r in results for t in r["grants"]]
    # every process got places; no one-second window of the limiter's clock holds more than the limit
    assert all(r["grants"] for r in results), results
    assert most_in_any_window(stamps) == limit
    # and the limiter did not starve them: the race filled most of the seconds it lasted
    assert len(stamps) >= limit * (seconds - 1)


@pytest.mark.redis
def test_redis_window_never_grants_more_than_50_in_any_second_across_two_processes(redis_client, unique_name):
    results = race_two_processes(unique_name, 50, "redis", None, 2.5)
    assert_never_over(results, 50, 2.5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_window_never_grants_more_than_50_in_any_second_across_two_processes(unique_name):
    results = race_two_processes(unique_name, 50, "database", connection.settings_dict["NAME"], 2.5)
    assert_never_over(results, 50, 2.5)
