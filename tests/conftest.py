"""Fixtures for the cross-app tests."""

from creatorflow.inbox.tests.test_concurrency import webhook_server  # noqa: F401 - a live server with a roomy backlog
