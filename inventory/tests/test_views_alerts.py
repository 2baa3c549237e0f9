"""The alerts list at /inventory/alerts/: open and resolved, kind, SKU link, times."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for
from inventory.models import StockAlert
from inventory.tests.factories import stocked_sku

pytestmark = pytest.mark.django_db


def make_alert(sku, kind, *, status=StockAlert.Status.OPEN, **fields):
    return StockAlert.objects.create(
        account=sku.account, sku=sku, kind=kind, status=status, message=f"{sku.seller_sku}: {kind}", **fields
    )


def test_open_alerts_show_kind_sku_and_times_and_resolved_ones_have_their_own_tab():
    # given
    member = MembershipFactory()
    now = timezone.now()
    low = stocked_sku(account=member.account, on_hand=3, name="Berry Lip Oil", seller_sku="GL-LO")
    out = stocked_sku(account=member.account, on_hand=0, name="Aloe Mist", seller_sku="GL-AM")
    make_alert(
        low,
        StockAlert.Kind.LOW_STOCK,
        opened_at=now - timedelta(hours=2),
        notified_at=now - timedelta(hours=2),
    )
    make_alert(out, StockAlert.Kind.OUT_OF_STOCK)
    make_alert(
        out,
        StockAlert.Kind.LOW_STOCK,
        status=StockAlert.Status.RESOLVED,
        opened_at=now - timedelta(days=3),
        resolved_at=now - timedelta(days=2),
    )
    make_alert(stocked_sku(on_hand=0, seller_sku="NOT-MINE"), StockAlert.Kind.OUT_OF_STOCK)
    client = client_for(member)

    # when
    open_html = client.get("/inventory/alerts/").content.decode()
    resolved_html = client.get("/inventory/alerts/?status=resolved").content.decode()

    # then the open tab lists the two open alerts with their kind, a link to the SKU and times
    assert "NOT-MINE" not in open_html
    assert "Low stock" in open_html and "Out of stock" in open_html
    assert (
        f'href="/inventory/skus/{low.pk}/"' in open_html and f'href="/inventory/skus/{out.pk}/"' in open_html
    )
    assert "2\xa0hours ago" in open_html and "not yet" in open_html
    assert re.search(r'aria-current="page">Open <span class="badge">2<', open_html)
    assert re.search(r'>Resolved <span class="badge">1<', open_html)
    # and the resolved tab lists only the resolved one, with when it was resolved
    assert resolved_html.count('href="/inventory/skus/') == 1
    assert "2\xa0days ago" in resolved_html
    assert 'href="/inventory/alerts/" aria-current="page"' in open_html


def test_htmx_tab_switch_returns_only_the_list():
    # given
    member = MembershipFactory()
    # when
    response = client_for(member).get("/inventory/alerts/?status=resolved", headers={"HX-Request": "true"})
    # then
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="alert-rows"') and "<html" not in html
    assert "No resolved alerts yet" in html


def test_no_open_alerts_says_all_is_well():
    html = client_for(MembershipFactory()).get("/inventory/alerts/").content.decode()
    assert "No open alerts" in html
