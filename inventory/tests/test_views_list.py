"""The inventory list at /inventory/: tabs with counts, search, sort, pagination, htmx rows, speed."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import client_for
from inventory.tests.factories import stocked_sku

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "rows"}


@pytest.fixture
def member():
    return MembershipFactory()


def names_in(html: str) -> list[str]:
    """The SKU names in the table, in order."""
    return re.findall(r'<td class="inv-name"><a href="[^"]+">([^<]+)</a>', html)


def catalogue(account):
    # in stock with 25 days of cover, low (10 ≤ threshold 10), out, and one that never sells
    stocked_sku(
        account=account, on_hand=50, name="Cloud Cream", seller_sku="GL-CC", avg_monthly_sales=Decimal("60")
    )
    stocked_sku(
        account=account, on_hand=10, name="Berry Lip Oil", seller_sku="GL-LO", avg_monthly_sales=Decimal("90")
    )
    stocked_sku(
        account=account, on_hand=0, name="Aloe Mist", seller_sku="GL-AM", avg_monthly_sales=Decimal("30")
    )
    stocked_sku(account=account, on_hand=400, name="Dusk Palette", seller_sku="GL-DP")


def test_the_list_shows_stock_with_status_badges_and_tab_counts(member):
    # given
    catalogue(member.account)
    stocked_sku(on_hand=5, name="Someone else's serum")

    # when
    response = client_for(member).get("/inventory/")

    # then every SKU of the account shows, most urgent first (out, low, in, never sells)
    assert response.status_code == 200
    html = response.content.decode()
    assert names_in(html) == ["Aloe Mist", "Berry Lip Oil", "Cloud Cream", "Dusk Palette"]
    assert "Someone else" not in html
    assert "Out of stock" in html and "Low stock" in html and "In stock" in html
    assert re.search(r'id="tab-count-all" class="badge">4<', html)
    assert re.search(r'id="tab-count-low_stock" class="badge">1<', html)
    assert re.search(r'id="tab-count-in_stock" class="badge">2<', html)
    # the stock landscape is on the page, one bar per row
    chart = re.search(r'<svg class="chart chart-landscape".*?</svg>', html, re.S).group(0)
    assert chart.count("<rect ") == 4
    # and the sub-navigation links the other inventory pages
    for path in (
        "/inventory/alerts/",
        "/inventory/suppliers/",
        "/inventory/purchase-orders/",
        "/inventory/csv/",
    ):
        assert f'href="{path}"' in html
    assert 'href="/inventory/" aria-current="page"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=low_stock", ["Berry Lip Oil"]),
        ("status=out_of_stock", ["Aloe Mist"]),
        ("status=in_stock&sort=name", ["Cloud Cream", "Dusk Palette"]),
        ("status=bogus&sort=name", ["Aloe Mist", "Berry Lip Oil", "Cloud Cream", "Dusk Palette"]),
        ("q=lip", ["Berry Lip Oil"]),
        ("q=gl-dp", ["Dusk Palette"]),
        ("q=nothing-like-this", []),
        ("sort=name", ["Aloe Mist", "Berry Lip Oil", "Cloud Cream", "Dusk Palette"]),
        ("sort=-available", ["Dusk Palette", "Cloud Cream", "Berry Lip Oil", "Aloe Mist"]),
        ("sort=available", ["Aloe Mist", "Berry Lip Oil", "Cloud Cream", "Dusk Palette"]),
    ],
)
def test_filters_search_and_sort(member, query, expected):
    # given
    catalogue(member.account)
    # when
    html = client_for(member).get(f"/inventory/?{query}").content.decode()
    # then
    assert names_in(html) == expected


def test_search_counts_follow_the_search_and_no_match_says_so(member):
    # given
    catalogue(member.account)
    # when
    html = client_for(member).get("/inventory/?q=zzz").content.decode()
    # then
    assert "Nothing matches" in html and "Show all stock" in html
    assert re.search(r'id="tab-count-all" class="badge">0<', html)


def test_pagination_keeps_the_filters(member):
    # given 30 SKUs (25 a page)
    for n in range(30):
        stocked_sku(account=member.account, on_hand=50, name=f"Serum {n:02d}")
    client = client_for(member)

    # when
    first = client.get("/inventory/?sort=name&q=serum").content.decode()
    second = client.get("/inventory/?sort=name&q=serum&page=2").content.decode()

    # then
    assert len(names_in(first)) == 25 and names_in(second) == [f"Serum {n}" for n in range(25, 30)]
    assert "Page 2 of 2 · 30 SKUs" in second
    assert 'href="?q=serum&amp;sort=name&amp;page=2"' in first


def test_an_htmx_request_gets_only_the_rows_with_fresh_tab_counts(member):
    # given
    catalogue(member.account)

    # when the search box asks for rows
    response = client_for(member).get("/inventory/?q=cream", headers=HTMX)

    # then only the rows partial comes back, with the tab counts swapped out of band
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="inv-filters"' not in html
    assert html.lstrip().startswith('<div id="rows"')
    assert names_in(html) == ["Cloud Cream"]
    assert re.search(r'id="tab-count-all" class="badge" hx-swap-oob="true">1<', html)


def test_the_search_box_asks_for_rows_as_you_type(member):
    # given
    catalogue(member.account)
    # when
    html = client_for(member).get("/inventory/").content.decode()
    # then
    search = re.search(r'<input id="inv-q"[^>]*>', html, re.S).group(0)
    assert 'hx-trigger="keyup changed delay:300ms, search"' in search
    assert 'hx-target="#rows"' in html


def test_the_query_count_does_not_grow_with_the_rows(member):
    # given two accounts, one with 5 SKUs and one with 30 (spread over two warehouses)
    small, large = member, MembershipFactory()
    for n in range(5):
        stocked_sku(account=small.account, on_hand=n, name=f"Small {n}", avg_monthly_sales=Decimal(n))
    for n in range(30):
        stocked_sku(account=large.account, on_hand=n, name=f"Large {n}", avg_monthly_sales=Decimal(n))

    def queries_for(membership) -> int:
        client = client_for(membership)
        client.get("/inventory/")  # warm the session
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/inventory/?sort=name")
        assert response.status_code == 200
        return len(captured)

    # when / then
    assert queries_for(small) == queries_for(large)


def test_an_empty_catalogue_says_how_to_get_products_in(member):
    # when
    html = client_for(member).get("/inventory/").content.decode()
    # then
    assert "No products yet" in html
    assert 'href="/tiktok/connect/"' in html and "Connect TikTok Shop" in html
    assert 'href="/inventory/csv/"' in html and "Import CSV" in html


def test_the_list_needs_sign_in():
    response = Client().get("/inventory/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
