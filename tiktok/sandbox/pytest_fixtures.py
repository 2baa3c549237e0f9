"""pytest fixture `tiktok_sandbox`: a fresh sandbox per test with our settings pointing at it.

Registered through `pytest_plugins` in the root conftest so every test can ask for it.
"""

from __future__ import annotations

import pytest

from .core import Sandbox

TEST_APP_KEY = "test-app-key"
TEST_APP_SECRET = "test-app-secret"
TEST_SERVICE_ID = "test-service"


@pytest.fixture
def tiktok_sandbox(settings):
    sb = Sandbox(app_key=TEST_APP_KEY, app_secret=TEST_APP_SECRET, service_id=TEST_SERVICE_ID, port=0)
    sb.start()
    settings.TIKTOK_APP_KEY = TEST_APP_KEY
    settings.TIKTOK_APP_SECRET = TEST_APP_SECRET
    settings.TIKTOK_SERVICE_ID = TEST_SERVICE_ID
    settings.TIKTOK_API_BASE_URL = sb.base_url
    settings.TIKTOK_AUTH_BASE_URL = sb.base_url
    settings.TIKTOK_AUTHORIZE_URL = sb.authorize_url
    try:
        yield sb
    finally:
        sb.stop()
