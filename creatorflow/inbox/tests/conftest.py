from creatorflow.inbox.tests import handlers_for_tests  # noqa: F401  (registers the test handlers)
