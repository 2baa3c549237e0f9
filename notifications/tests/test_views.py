"""The bell, the list, mark read / mark all read, preferences: tenant-scoped, CSRF-protected."""

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from creatorflow.core.testing import assert_other_account_gets_404, client_for
from notifications.models import Notification, NotificationPreference, Severity

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MembershipFactory(account__name="Glow Labs", user__email="owner@example.com")


def test_the_bell_counts_unread_notifications_of_the_current_account(member):
    # given two unread and one read notification in the member's account, one for another member,
    # and unread ones in another account
    NotificationFactory.create_batch(2, account=member.account)
    NotificationFactory(account=member.account, read_at=timezone.now())
    colleague = MembershipFactory(account=member.account).user
    NotificationFactory(account=member.account, user=colleague)
    NotificationFactory.create_batch(3, account=MembershipFactory().account)

    # when the bell polls
    response = client_for(member).get("/notifications/bell/", headers={"HX-Request": "true"})

    # then it shows 2 and keeps polling every 30 s
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-testid="unread-count">\s*2\s*<', html)
    assert 'hx-trigger="every 30s' in html
    assert "<html" not in html


def test_the_bell_is_in_the_top_bar_of_every_signed_in_page(member):
    # given one unread notification
    NotificationFactory(account=member.account)
    # when the member opens the dashboard
    html = client_for(member).get("/").content.decode()
    # then the bell shows 1
    assert re.search(r'data-testid="unread-count">\s*1\s*<', html)


def test_the_list_shows_the_members_notifications_newest_first_and_filters_unread(member):
    # given an older read and a newer unread notification, and another account's
    NotificationFactory(
        account=member.account,
        title="Old news",
        read_at=timezone.now(),
        created_at=timezone.now() - timezone.timedelta(hours=2),
    )
    NotificationFactory(account=member.account, title="Fresh alert")
    NotificationFactory(account=MembershipFactory().account, title="Someone else's")
    client = client_for(member)

    # when the member lists all, then unread only
    all_html = client.get("/notifications/").content.decode()
    unread_html = client.get("/notifications/?filter=unread").content.decode()

    # then all shows both, newest first, and never another account's
    assert all_html.index("Fresh alert") < all_html.index("Old news")
    assert "Someone else&#x27;s" not in all_html and "Someone else's" not in all_html
    # and unread shows only the unread one
    assert "Fresh alert" in unread_html and "Old news" not in unread_html


def test_the_list_is_paginated(member):
    # given 25 notifications
    NotificationFactory.create_batch(25, account=member.account)
    client = client_for(member)

    # when the first and second pages are requested
    first = client.get("/notifications/")
    second = client.get("/notifications/?page=2")

    # then 20 are on the first page and 5 on the second
    assert len(first.context["notifications"]) == 20
    assert len(second.context["notifications"]) == 5
    assert "Page 1 of 2" in first.content.decode()


def test_the_list_makes_the_same_number_of_queries_for_3_or_20_rows(member):
    # given a client, warmed up (session, login)
    client = client_for(member)
    NotificationFactory.create_batch(3, account=member.account)
    client.get("/notifications/")

    # when the page is rendered with 3 rows, then with 20
    with CaptureQueriesContext(connection) as few:
        client.get("/notifications/")
    NotificationFactory.create_batch(17, account=member.account)
    with CaptureQueriesContext(connection) as many:
        client.get("/notifications/")

    # then the count does not grow with the rows (no query per row), and stays small
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 10, [q["sql"] for q in many.captured_queries]


def test_htmx_filter_returns_only_the_list_fragment(member):
    # given
    NotificationFactory(account=member.account, title="Fresh alert")
    # when the unread tab is clicked (htmx)
    response = client_for(member).get("/notifications/?filter=unread", headers={"HX-Request": "true"})
    # then only the list is returned
    html = response.content.decode()
    assert 'id="notification-list"' in html and "Fresh alert" in html
    assert "<html" not in html and '<nav class="mainnav"' not in html


def test_mark_read_over_htmx_returns_the_row_and_tells_the_bell(member):
    # given an unread notification
    notification = NotificationFactory(account=member.account, title="Fresh alert")

    # when it is marked read from the list
    response = client_for(member).post(
        f"/notifications/{notification.pk}/read/", headers={"HX-Request": "true"}
    )

    # then it is read, the row comes back without its button, and the bell is told to refresh
    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.read_at is not None
    html = response.content.decode()
    assert f'id="notification-{notification.pk}"' in html and "Mark read" not in html
    assert "notifications-changed" in json.loads(response.headers["HX-Trigger"])


def test_mark_read_without_htmx_redirects_to_the_list(member):
    notification = NotificationFactory(account=member.account)
    response = client_for(member).post(f"/notifications/{notification.pk}/read/")
    assert response.status_code == 302 and response.url == "/notifications/"
    notification.refresh_from_db()
    assert notification.is_read


def test_mark_read_of_another_accounts_notification_is_404(member):
    # given a notification of the member's account
    notification = NotificationFactory(account=member.account)
    # then a member of another account gets 404 marking it read, and it stays unread for them
    assert_other_account_gets_404(f"/notifications/{notification.pk}/read/", owner=member, method="post")


def test_another_accounts_notification_stays_unread_after_their_attempt(member):
    # given another account's notification
    foreign = NotificationFactory(account=MembershipFactory().account)
    # when the member tries to mark it read
    response = client_for(member).post(f"/notifications/{foreign.pk}/read/")
    # then 404 and nothing changed
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_a_colleagues_personal_notification_is_404(member):
    # given a notification addressed to another member of the same account
    colleague = MembershipFactory(account=member.account).user
    personal = NotificationFactory(account=member.account, user=colleague)
    # when the member tries to mark it read
    response = client_for(member).post(f"/notifications/{personal.pk}/read/")
    # then it does not exist for them
    assert response.status_code == 404


def test_mark_all_read_marks_only_the_current_accounts(member):
    # given unread notifications here and in another account
    NotificationFactory.create_batch(3, account=member.account)
    foreign = NotificationFactory(account=MembershipFactory().account)

    # when the member marks all read
    response = client_for(member).post("/notifications/read-all/")

    # then theirs are read, the other account's are not
    assert response.status_code == 302
    assert not Notification.objects.filter(account=member.account, read_at__isnull=True).exists()
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_htmx_post_needs_the_csrf_token_from_hx_headers(member):
    # given a browser-like client that enforces CSRF, signed in, with the page loaded
    notification = NotificationFactory(account=member.account)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get("/notifications/").content.decode()
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page).group(1)
    url = f"/notifications/{notification.pk}/read/"

    # when htmx posts without the header
    refused = client.post(url, headers={"HX-Request": "true"})
    # then it is refused and nothing changes
    assert refused.status_code == 403
    notification.refresh_from_db()
    assert notification.read_at is None

    # when htmx posts with the header that hx-headers adds
    accepted = client.post(url, headers={"HX-Request": "true", "X-CSRFToken": token})
    # then it succeeds
    assert accepted.status_code == 200
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_signed_out_users_are_sent_to_log_in():
    response = Client().get("/notifications/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/notifications/"


def test_preferences_are_saved_for_the_member_in_the_current_account(member):
    # given the preferences page shows the defaults
    client = client_for(member)
    page = client.get("/notifications/preferences/")
    assert page.status_code == 200
    assert page.context["form"].initial["email_min_severity"] == Severity.WARNING

    # when the member switches email to critical only and adds a phone number
    response = client.post(
        "/notifications/preferences/",
        {"email_enabled": "on", "email_min_severity": "critical", "phone_number": "+1 555 010 0200"},
    )

    # then it is stored for them in this account
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=member.user, account=member.account)
    assert (pref.email_enabled, pref.email_min_severity, pref.phone_number) == (
        True,
        "critical",
        "+1 555 010 0200",
    )
    assert not pref.wants_email(Severity.WARNING) and pref.wants_email(Severity.CRITICAL)


def test_preferences_refuse_a_malformed_phone_number(member):
    response = client_for(member).post(
        "/notifications/preferences/",
        {"email_enabled": "on", "email_min_severity": "warning", "phone_number": "call me"},
    )
    assert response.status_code == 200
    assert "international format" in response.content.decode()
    assert not NotificationPreference.objects.exists()
