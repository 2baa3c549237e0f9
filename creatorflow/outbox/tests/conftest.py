from creatorflow.outbox.tests import tasks_for_tests  # noqa: F401  (registers the test tasks)
