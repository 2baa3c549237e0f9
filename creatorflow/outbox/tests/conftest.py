from creatorflow.outbox.tests import tasks_for_tests  # noqa: F401  (registers the test tasks)
from creatorflow.outbox.tests.celery_support import celery_eager, celery_worker, unreachable_broker  # noqa: F401
