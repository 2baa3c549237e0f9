"""The automation rule editor: create, edit, inline validation errors, dry run, reorder, toggle,
delete, viewers read-only, tenancy."""

from decimal import Decimal

import pytest

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from orders.models import AutomationRule
from orders.rules import rule_create
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MembershipFactory()


def a_rule(member, name="Hold big orders", **kw):
    return rule_create(
        account=member.account,
        name=name,
        match="all",
        conditions=[{"field": "total", "op": "gt", "value": "100"}],
        actions=[{"type": "hold", "reason": "Big order"}],
        actor=member.user,
        **kw,
    )


def test_create_a_rule_from_the_editor_rows(member):
    client = client_for(member)
    page = client.get("/orders/rules/new/").content.decode()
    assert "Order total" in page and "Hold for review" in page and "Dry run" in page

    response = client.post(
        "/orders/rules/new/",
        {
            "name": "Hold big orders",
            "match": "all",
            "is_active": "on",
            "c_field": ["total"],
            "c_op": ["gt"],
            "c_value": ["100"],
            "a_type": ["hold", "add_tag"],
            "a_value": ["Big order", "big"],
        },
    )

    assert response.status_code == 302
    rule = AutomationRule.objects.get(account=member.account)
    assert rule.actions[0]["type"] == "hold" and rule.actions[0]["reason"] == "Big order"
    assert rule.actions[1]["tag"] == "big"
    assert rule.conditions[0]["field"] == "total"


def test_invalid_rows_show_their_errors_inline(member):
    html = (
        client_for(member)
        .post(
            "/orders/rules/new/",
            {
                "name": "Bad",
                "match": "all",
                "c_field": ["total"],
                "c_op": ["gt"],
                "c_value": ["lots"],
                "a_type": ["hold"],
                "a_value": [""],
            },
            headers={"HX-Request": "true"},
        )
        .content.decode()
    )
    assert html.lstrip().startswith('<form id="rule-editor"')
    assert html.count('class="errorlist"') >= 2
    assert not AutomationRule.objects.exists()


def test_edit_a_rule(member):
    rule = a_rule(member)
    client = client_for(member)
    page = client.get(f"/orders/rules/{rule.pk}/edit/").content.decode()
    assert 'value="Big order"' in page and 'value="100' in page
    client.post(
        f"/orders/rules/{rule.pk}/edit/",
        {
            "name": "Renamed",
            "match": "any",
            "c_field": ["country"],
            "c_op": ["eq"],
            "c_value": ["us"],
            "a_type": ["add_tag"],
            "a_value": ["usa"],
        },
    )
    rule.refresh_from_db()
    assert rule.name == "Renamed" and rule.match == "any" and not rule.is_active
    assert rule.conditions[0]["value"] == "US"


def test_dry_run_counts_the_matching_recent_orders(member):
    OrderFactory(shop__account=member.account, total=Decimal("150.00"), tiktok_order_id="BIG")
    OrderFactory(shop__account=member.account, total=Decimal("20.00"), tiktok_order_id="SMALL")
    html = (
        client_for(member)
        .post(
            "/orders/rules/dry-run/",
            {
                "match": "all",
                "c_field": ["total"],
                "c_op": ["gt"],
                "c_value": ["100"],
                "a_type": ["hold"],
                "a_value": ["x"],
            },
            headers={"HX-Request": "true"},
        )
        .content.decode()
    )
    assert "Of your last 200 orders, 1 would match" in html
    assert "BIG" in html and "SMALL" not in html


def test_reorder_toggle_and_delete(member):
    first, second = a_rule(member, "First"), a_rule(member, "Second")
    client = client_for(member)
    client.post(f"/orders/rules/{second.pk}/move/", {"direction": "up"}, headers={"HX-Request": "true"})
    assert list(AutomationRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Second",
        "First",
    ]
    client.post(f"/orders/rules/{first.pk}/toggle/")
    first.refresh_from_db()
    assert not first.is_active
    html = client.post(f"/orders/rules/{first.pk}/delete/", headers={"HX-Request": "true"}).content.decode()
    assert "deleted" in html and not AutomationRule.objects.filter(pk=first.pk).exists()


def test_viewers_see_rules_but_cannot_change_them(member):
    rule = a_rule(member)
    viewer = MembershipFactory(account=member.account, role="viewer")
    client = client_for(viewer)
    assert "Hold big orders" in client.get("/orders/rules/").content.decode()
    assert "New rule" not in client.get("/orders/rules/").content.decode()
    assert client.post(f"/orders/rules/{rule.pk}/edit/", {"name": "x"}).status_code == 403
    assert client.post("/orders/rules/new/", {"name": "x"}).status_code == 403
    assert client.post(f"/orders/rules/{rule.pk}/delete/").status_code == 403


@pytest.mark.parametrize(("suffix", "method"), [("edit/", "get"), ("toggle/", "post"), ("move/", "post")])
def test_rule_urls_are_tenant_scoped(member, suffix, method):
    rule = a_rule(member)
    assert_other_account_gets_404(
        f"/orders/rules/{rule.pk}/{suffix}",
        owner=member,
        method=method,
        data={"direction": "up"} if method == "post" else None,
    )


def test_delete_is_tenant_scoped(member):
    rule = a_rule(member)
    assert_other_account_gets_404(f"/orders/rules/{rule.pk}/delete/", owner=member, method="post")
