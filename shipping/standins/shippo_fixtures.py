"""pytest fixture `shippo_standin`: a running Shippo stand-in, with SHIPPO_API_BASE_URL pointing at it.

    def test_rates(shippo_standin):
        carrier = ShippoCarrier(api_key=shippo_standin.api_key, base_url=shippo_standin.base_url, timeout=2)

A carrier account built by `carrier_for` reaches it too, provided its `api_key` is the stand-in's.
"""

from __future__ import annotations

import pytest

from .shippo import ShippoStandin


@pytest.fixture
def shippo_standin(settings):
    standin = ShippoStandin().start()
    settings.SHIPPO_API_BASE_URL = standin.base_url
    try:
        yield standin
    finally:
        standin.stop()
