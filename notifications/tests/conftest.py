import pytest

from creatorflow.celery import app as celery_app


@pytest.fixture
def celery_eager():
    """Run tasks in-process when sent, as a worker would, and let their errors surface."""
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = previous
