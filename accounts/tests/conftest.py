import pytest

from accounts.tests.factories import MembershipFactory


@pytest.fixture(autouse=True)
def _accounts_urls(settings):
    # The accounts API is included here until the root URLconf includes it at api/.
    settings.ROOT_URLCONF = "accounts.tests.urls"


@pytest.fixture
def owner(db):
    return MembershipFactory(role="owner")
