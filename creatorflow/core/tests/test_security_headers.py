"""Security headers: a Content-Security-Policy with no inline or eval'd code, a Permissions-Policy,
and `Cache-Control: private, no-store` on what a signed-in person sees and on every PDF and CSV;
no template carries inline handlers, scripts or styles the policy would refuse."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tests.factories import MembershipFactory, UserFactory
from creatorflow.core.testing import client_for
from orders.tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
APPS = [
    "accounts",
    "billing",
    "creatorflow",
    "inventory",
    "notifications",
    "orders",
    "shipping",
    "tiktok",
    "templates",
]


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.fixture
def member():
    return MembershipFactory()


@pytest.mark.parametrize("path", ["/", "/orders/", "/inventory/", "/shipping/settings/", "/accounts/tokens/"])
def test_dashboard_pages_carry_the_policy_and_are_never_stored(member, path):
    response = client_for(member).get(path)

    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy.get("style-src", []) + policy.get("default-src", [])
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_the_login_page_carries_the_policy_too(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert _directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]
    assert "microphone=()" in response["Permissions-Policy"]


def test_the_admin_carries_the_policy_and_is_never_stored(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}


def test_an_api_answer_to_a_token_is_never_stored(member):
    response = client_for(member, api=True).get("/api/me")

    assert response.status_code == 200
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}


def test_a_packing_slip_pdf_is_never_stored(member):
    order = OrderFactory(shop__account=member.account, tiktok_order_id="577000111")
    OrderItemFactory(order=order, seller_sku="GLOW-50", quantity=1)

    response = client_for(member).get(f"/shipping/orders/{order.pk}/packing-slip.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"


def test_a_csv_export_is_never_stored(member):
    response = client_for(member).get("/inventory/csv/export/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "private, no-store"


def test_the_database_down_page_has_no_inline_style(client):
    from creatorflow.core.middleware import _PAGE

    assert "style=" not in _PAGE and "<style" not in _PAGE and "<script" not in _PAGE


INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"\sstyle\s*=|<style[\s>]", re.IGNORECASE)


def _templates():
    for app in APPS:
        yield from (p for p in (ROOT / app).rglob("*.html") if ".venv" not in p.parts)


def test_the_scan_finds_what_it_looks_for():
    # the patterns below catch the forms the policy refuses (so an empty result means something)
    assert INLINE_HANDLER.search('<form onsubmit="return confirm(1)">')
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/app.js" defer></script>')
    assert INLINE_STYLE.search('<span style="width: 5%">')


def test_no_template_has_inline_handlers_scripts_or_styles():
    found = []
    for path in _templates():
        text = path.read_text()
        for name, pattern in (
            ("handler", INLINE_HANDLER),
            ("script", INLINE_SCRIPT),
            ("style", INLINE_STYLE),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: inline {name}")
    assert list(_templates()), "no templates found: the scan looked in the wrong place"
    assert found == []
