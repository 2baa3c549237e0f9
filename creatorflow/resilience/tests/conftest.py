import multiprocessing
import uuid

import pytest


class FakeClock:
    """A wall clock the test moves by hand (breakers and buckets accept `clock=`)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def unique_name():
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def spawn():
    """Start a function in a fresh interpreter and return what it puts on its queue."""
    context = multiprocessing.get_context("spawn")

    def run(target, *args, timeout: float = 60):
        queue = context.Queue()
        process = context.Process(target=target, args=(*args, queue))
        process.start()
        try:
            return queue.get(timeout=timeout)
        finally:
            process.join(timeout)
            assert process.exitcode == 0, f"child exited with {process.exitcode}"

    return run
