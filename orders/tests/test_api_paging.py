"""Page numbers past any real list are a 400, never a database overflow."""

import pytest

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/orders/", "/api/inventory/products"])
def test_an_absurd_page_number_is_a_json_400(url):
    api = client_for(MembershipFactory(), api=True)
    response = api.get(url, {"page": "999999999999999999999"})
    assert response.status_code == 400
    assert "page" in response.json()["error"]["fields"]
