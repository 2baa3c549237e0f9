"""The dashboard shell and home: sign-in required, navigation, health panel, latest notifications."""

import re

import pytest
from django.test import Client

from accounts.tests.factories import AccountFactory, MembershipFactory
from creatorflow.core.testing import client_for
from creatorflow.health.tests.factories import HealthCheckRecordFactory
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

NAV = ["Orders", "Inventory", "Shipping", "Content", "Analytics", "Settings"]


@pytest.fixture
def member():
    return MembershipFactory(account__name="Glow Labs", user__full_name="Maya Lopez")


def test_signed_out_visitors_are_sent_to_log_in():
    response = Client().get("/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/"


def test_home_renders_the_shell_for_a_member(member):
    # when a member opens the dashboard
    response = client_for(member).get("/")

    # then the shell has the navigation, the account, the bell, logout and the health panel
    assert response.status_code == 200
    html = response.content.decode()
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    for label in NAV:
        assert f">{label}</a>" in nav
    assert "Welcome, Maya" in html and "Glow Labs" in html
    assert 'id="notification-bell"' in html
    assert re.search(r'<form method="post" action="/accounts/logout/">', html)
    assert 'id="health-panel"' in html and 'hx-trigger="every 30s"' in html
    assert "Connect your TikTok Shop" in html
    # and htmx comes from our own static files, with the CSRF token for every htmx request
    head = html.split("<body")[0]
    assert re.search(r'<script src="/static/django_htmx/htmx[^"]*\.js"', head)
    assert not re.search(r'(src|href)="(https?:)?//', head), "no CDN"
    assert re.search(r"<body[^>]*hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html)


def test_the_account_switcher_lists_every_membership_and_switches(member):
    # given the user belongs to a second account
    other = AccountFactory(name="Second Shop")
    MembershipFactory(user=member.user, account=other, role="member")
    client = client_for(member)

    # when the dashboard is shown
    html = client.get("/").content.decode()

    # then the switcher has one form per account, posting its id to /accounts/switch/
    forms = re.findall(r'<form method="post" action="/accounts/switch/">.*?</form>', html, re.S)
    assert len(forms) == 2
    second = next(f for f in forms if "Second Shop" in f)
    assert "csrfmiddlewaretoken" in second
    assert f'name="account" value="{other.pk}"' in second

    # when the second account's form is submitted as the browser would
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)"', second))
    response = client.post("/accounts/switch/", fields, follow=True)

    # then the dashboard now works in the second account
    assert response.status_code == 200
    assert response.context["current_account"] == other
    assert "Here is what is happening at Second Shop." in response.content.decode()


def test_the_health_panel_shows_the_latest_record(member):
    # given beat recorded a degraded run
    record = HealthCheckRecordFactory(status="degraded")
    record.checks["tiktok"] = {"status": "degraded", "circuit": "open"}
    record.save()

    # when
    html = client_for(member).get("/").content.decode()

    # then the panel shows it
    panel = re.search(r'<section id="health-panel".*?</section>', html, re.S).group(0)
    assert 'badge-degraded">degraded' in panel
    assert "circuit open" in panel


def test_the_health_panel_says_when_nothing_was_recorded_yet(member):
    html = client_for(member).get("/").content.decode()
    assert "No health check recorded yet" in html


def test_the_htmx_poll_gets_only_the_health_fragment(member):
    # given a recorded run
    HealthCheckRecordFactory(status="healthy")

    # when the panel polls
    response = client_for(member).get("/dashboard/health/", headers={"HX-Request": "true"})

    # then only the panel comes back, ready to replace itself
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<section id="health-panel"') and html.endswith("</section>")
    assert "<html" not in html and "mainnav" not in html
    assert 'badge-healthy">healthy' in html


def test_home_lists_the_latest_notifications_of_the_current_account_only(member):
    # given notifications here and in another account
    NotificationFactory(account=member.account, title="Lip oil is running low")
    NotificationFactory(account=MembershipFactory().account, title="Not yours")

    # when
    html = client_for(member).get("/").content.decode()

    # then
    assert "Lip oil is running low" in html
    assert "Not yours" not in html


def test_home_without_notifications_says_what_will_show_up(member):
    html = client_for(member).get("/").content.decode()
    assert "All quiet" in html


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/inventory/", "after the first sync"),
        ("/shipping/", "Add a carrier account"),
        ("/content/", "TikTok videos"),
        ("/analytics/", "Orders per hour"),
        ("/settings/", "Notifications"),
    ],
)
def test_each_section_has_a_page_that_says_what_comes_next(member, path, says):
    # when
    response = client_for(member).get(path)
    # then it renders, marks its nav item current, and explains the next step
    assert response.status_code == 200
    html = response.content.decode()
    assert says in html
    assert f'href="{path}" aria-current="page"' in html


def test_sections_need_sign_in():
    response = Client().get("/shipping/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
