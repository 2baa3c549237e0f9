"""The circuit breaker: opening, failing fast, half-open trials, and state shared through the cache."""

import threading

import pytest

from creatorflow.resilience import circuit
from creatorflow.resilience.circuit import CircuitBreaker, CircuitOpenError, get_breaker, known_breakers
from creatorflow.resilience.tests import procs

pytestmark = pytest.mark.django_db  # the embedded default keeps the cache in the database


class PlatformDown(Exception):
    pass


def failing():
    raise PlatformDown("503")


def open_breaker(breaker):
    for _ in range(breaker.failure_threshold):
        with pytest.raises(PlatformDown):
            breaker.call(failing)


def test_opens_after_threshold_and_then_fails_fast_without_calling(unique_name, clock):
    # given a breaker that opens after 3 failures for 30 s
    breaker = CircuitBreaker(unique_name, failure_threshold=3, reset_timeout=30, clock=clock)

    # when three calls fail
    open_breaker(breaker)

    # then it is open, and the next call is refused without running the function
    assert breaker.state() == "open"
    calls = []
    with pytest.raises(CircuitOpenError) as refused:
        breaker.call(calls.append, "sent")
    assert calls == []
    assert refused.value.name == unique_name
    assert refused.value.retry_after == pytest.approx(30)
    assert refused.value.code == "circuit_open"


def test_the_context_manager_also_fails_fast(unique_name, clock):
    # given an open breaker
    breaker = CircuitBreaker(unique_name, failure_threshold=1, reset_timeout=30, clock=clock)
    open_breaker(breaker)

    # when a block runs under it
    ran = []
    with pytest.raises(CircuitOpenError):
        with breaker:
            ran.append(True)

    # then the block never ran
    assert ran == []


def test_failures_below_the_threshold_keep_it_closed_and_a_success_resets_the_count(unique_name, clock):
    # given two failures out of three allowed
    breaker = CircuitBreaker(unique_name, failure_threshold=3, reset_timeout=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert (breaker.state(), breaker.failures()) == ("closed", 2)

    # when a call succeeds, then two more fail
    assert breaker.call(lambda: "ok") == "ok"
    breaker.record_failure()
    breaker.record_failure()

    # then the failures were not consecutive: still closed
    assert breaker.state() == "closed"
    assert breaker.allow() is True


def test_after_the_timeout_one_trial_is_let_through_and_its_success_closes(unique_name, clock):
    # given an open breaker
    breaker = CircuitBreaker(unique_name, failure_threshold=2, reset_timeout=30, clock=clock)
    open_breaker(breaker)

    # when the timeout has passed
    clock.advance(29.9)
    assert breaker.state() == "open"
    clock.advance(0.2)

    # then it is half-open: exactly one caller (from any breaker object) gets the trial
    assert breaker.state() == "half_open"
    other = CircuitBreaker(unique_name, failure_threshold=2, reset_timeout=30, clock=clock)
    assert breaker.allow() is True
    assert other.allow() is False
    with pytest.raises(CircuitOpenError):
        other.call(failing)

    # and the trial's success closes it for everyone
    breaker.record_success()
    assert other.state() == "closed"
    assert other.failures() == 0
    assert other.call(lambda: 42) == 42


def test_a_failed_trial_reopens_for_another_full_timeout(unique_name, clock):
    # given a half-open breaker
    breaker = CircuitBreaker(unique_name, failure_threshold=2, reset_timeout=30, clock=clock)
    open_breaker(breaker)
    clock.advance(31)

    # when the trial call fails
    with pytest.raises(PlatformDown):
        breaker.call(failing)

    # then it is open again, counted from now
    assert breaker.state() == "open"
    assert breaker.retry_in() == pytest.approx(30)
    clock.advance(29)
    assert breaker.allow() is False
    clock.advance(2)
    assert breaker.allow() is True  # the next trial


def test_a_straggler_success_while_open_does_not_close_it(unique_name, clock):
    # given an open breaker, before its timeout
    breaker = CircuitBreaker(unique_name, failure_threshold=1, reset_timeout=30, clock=clock)
    breaker.record_failure()

    # when a call that started before it opened reports success
    breaker.record_success()

    # then it stays open
    assert breaker.state() == "open"


def test_ignored_exceptions_do_not_count_as_failures(unique_name, clock):
    # given a breaker that would open on the first failure
    breaker = CircuitBreaker(unique_name, failure_threshold=1, reset_timeout=30, clock=clock)

    # when the block raises an exception the caller declared as not the platform's fault
    with pytest.raises(ValueError):
        with breaker.guard(ignore=(ValueError,)):
            raise ValueError("our own bad request")

    # then the breaker is still closed
    assert breaker.state() == "closed"


def test_two_breaker_objects_with_the_same_name_share_state(unique_name):
    # given two objects for one name, as two workers would have
    first = CircuitBreaker(unique_name, failure_threshold=3, reset_timeout=60)
    second = CircuitBreaker(unique_name, failure_threshold=3, reset_timeout=60)

    # when the failures are spread over both
    first.record_failure()
    second.record_failure()
    first.record_failure()

    # then both see the breaker open
    assert first.state() == second.state() == "open"
    assert second.allow() is False


@pytest.mark.parametrize(
    ("name", "threshold", "timeout"),
    [("tiktok", 5, 60.0), ("carrier:easypost", 3, 30.0), ("carrier:shippo", 3, 30.0), ("stripe", 5, 60.0)],
)
def test_get_breaker_applies_the_configured_policy(name, threshold, timeout):
    # given the named breaker from the registry
    breaker = get_breaker(name)

    # when one failure short of its threshold is recorded, then one more
    for _ in range(threshold - 1):
        breaker.record_failure()
    assert breaker.state() == "closed"
    breaker.record_failure()

    # then it opens for the configured time
    assert (breaker.failure_threshold, breaker.reset_timeout) == (threshold, timeout)
    assert breaker.state() == "open"
    assert 0 < breaker.retry_in() <= timeout
    # cleanup for the next test (the Redis cache is not rolled back with the database)
    breaker._cache.delete_many([breaker._k_opened, breaker._k_failures, breaker._k_trial])


def test_snapshot_and_known_breakers_describe_the_shared_state(unique_name, clock):
    # given a breaker that was used and opened
    breaker = CircuitBreaker(unique_name, failure_threshold=1, reset_timeout=30, clock=clock)
    assert breaker.allow() is True
    breaker.record_failure()

    # when the health panel asks
    snapshot = breaker.snapshot()

    # then it sees its state and timing, and the name is listed
    assert snapshot["state"] == "open"
    assert snapshot["failures"] == 1
    assert snapshot["opened_at"] == "2023-11-14T22:13:20+00:00"
    assert snapshot["retry_at"] == "2023-11-14T22:13:50+00:00"
    assert snapshot["retry_in"] == pytest.approx(30)
    assert unique_name in known_breakers()
    assert unique_name in breaker.known_breakers()


@pytest.mark.redis
def test_concurrent_failures_are_all_counted(redis_client, unique_name):
    # given a breaker with a high threshold and 20 threads
    breaker = CircuitBreaker(unique_name, failure_threshold=1000, reset_timeout=60)
    start = threading.Barrier(20)

    def fail_once():
        start.wait()
        breaker.record_failure()

    # when they all record a failure at the same moment
    threads = [threading.Thread(target=fail_once) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then none was lost
    assert breaker.failures() == 20


@pytest.mark.redis
def test_state_is_shared_between_processes(redis_client, unique_name, spawn):
    # given a carrier breaker (3 failures open it) that another process drives
    name = f"carrier:{unique_name}"

    # when that process records three failures
    child_view = spawn(procs.record_failures, name, 3)

    # then this process sees it open, and so does a third process
    assert child_view["state"] == "open"
    assert get_breaker(name).state() == "open"
    assert spawn(procs.probe_breaker, name) == {"state": "open", "allow": False}
    assert name in circuit.known_breakers()
