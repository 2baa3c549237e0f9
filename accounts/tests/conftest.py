import pytest

from accounts.tests.factories import MembershipFactory


@pytest.fixture(autouse=True)
def _accounts_urls(settings):
    # The real URLs plus the leaky view the tenancy helper's own test needs (accounts/tests/urls.py).
    settings.ROOT_URLCONF = "accounts.tests.urls"


@pytest.fixture(autouse=True)
def _deliver_in_process(celery_eager):
    # Invitation emails go through the outbox: its Celery delivery runs here, as a worker would.
    yield


@pytest.fixture
def owner(db):
    return MembershipFactory(role="owner")
