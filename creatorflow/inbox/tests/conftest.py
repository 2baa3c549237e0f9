from creatorflow.inbox.tests import handlers_for_tests  # noqa: F401  (registers the test handlers)
from creatorflow.outbox.tests.celery_support import celery_eager, celery_worker  # noqa: F401
