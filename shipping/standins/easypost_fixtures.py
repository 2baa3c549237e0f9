"""pytest fixture `easypost_standin`: a fresh local EasyPost per test, with our settings pointing at it.

Registered through `pytest_plugins` in the root conftest. The carrier is built with
`EasyPostCarrier(api_key=easypost_standin.api_key, base_url=settings.EASYPOST_API_BASE_URL, ...)`
or, for a `CarrierAccount`, by giving the account `api_key=easypost_standin.api_key`.
"""

from __future__ import annotations

import pytest

from .easypost import EasyPostStandIn


@pytest.fixture
def easypost_standin(settings):
    standin = EasyPostStandIn().start()
    settings.EASYPOST_API_BASE_URL = standin.base_url  # ends in /v2, like the SDK's default api_base
    try:
        yield standin
    finally:
        standin.stop()
