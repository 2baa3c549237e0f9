"""The audit log: who, what, from where, written with the change; read-only in the admin."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import RequestFactory

from accounts.tests.factories import AccountFactory, MembershipFactory, UserFactory
from creatorflow.audit.context import audit_context, current_context
from creatorflow.audit.models import AuditLogEntry
from creatorflow.audit.services import audit_log, diff

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.mark.urls("creatorflow.audit.tests.urls")
def test_a_request_through_the_middleware_records_actor_changes_ip_and_user_agent(client):
    # given a signed-in owner of an account
    membership = MembershipFactory(account__name="Old name")
    client.force_login(membership.user, backend=MODEL_BACKEND)

    # when they rename it through a view whose service audits without being given the request
    response = client.post(
        f"/rename/{membership.account.pk}/",
        {"name": "New name"},
        HTTP_USER_AGENT="Mozilla/5.0 (pytest)",
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_REQUEST_ID="req-abc-123",
    )

    # then one entry says who did what to which account, from where
    assert response.status_code == 200
    entry = AuditLogEntry.objects.get(pk=int(response.content))
    assert entry.actor == membership.user
    assert entry.actor_label == membership.user.email
    assert entry.account == membership.account  # inferred: the target is the account
    assert entry.action == "account.renamed"
    assert entry.target_object_id == str(membership.account.pk)
    assert entry.target_repr == "New name"
    assert entry.changes == {"name": ["Old name", "New name"]}
    assert entry.ip_address == "203.0.113.7"
    assert entry.user_agent == "Mozilla/5.0 (pytest)"
    assert entry.request_id == response["X-Request-ID"] == "req-abc-123"
    # and the context did not leak past the request
    assert current_context() is None


def test_with_a_request_argument_ip_and_user_agent_come_from_it():
    # given a request object and no middleware context
    request = RequestFactory().post("/", HTTP_USER_AGENT="curl/8.0", REMOTE_ADDR="2001:db8::1")
    user = UserFactory()
    account = AccountFactory()

    # when a service audits with it
    with transaction.atomic():
        entry = audit_log(actor=user, action="token.created", account=account, request=request)

    # then its origin is recorded
    entry.refresh_from_db()
    assert (entry.ip_address, entry.user_agent) == ("2001:db8::1", "curl/8.0")
    assert len(entry.request_id) == 32  # generated when the caller sent none


@pytest.mark.parametrize(
    ("trusted_proxies", "expected"),
    [(0, "10.0.0.1"), (1, "203.0.113.9"), (2, "198.51.100.1"), (3, "10.0.0.1")],
)
def test_x_forwarded_for_is_believed_only_as_far_as_proxies_are_trusted(settings, trusted_proxies, expected):
    # given a request that passed through proxies; the leftmost entry could be forged by the client
    settings.TRUSTED_PROXY_COUNT = trusted_proxies
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9"
    )

    # when it is audited
    entry = audit_log(actor="system", action="probe", request=request)

    # then the client address is the one our trusted proxies vouch for
    assert entry.ip_address == expected


def test_system_work_is_labelled_from_the_task_context():
    # given a Celery task that set its audit context
    account = AccountFactory()
    with audit_context(actor_label="celery", request_id="task-42"):
        # when a service audits without a user
        with transaction.atomic():
            entry = audit_log(actor=None, action="reservation.expired", target=account)

    # then the entry names the task as the actor
    assert (entry.actor, entry.actor_label, entry.request_id) == (None, "celery", "task-42")
    assert entry.account_id == account.pk
    assert entry.ip_address is None


def test_an_entry_rolls_back_with_the_service_transaction():
    # given a service that audits and then fails
    account = AccountFactory()

    # when its transaction rolls back
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            audit_log(actor="system", action="account.renamed", target=account)
            raise RuntimeError("constraint violated later")

    # then no entry describes the change that never happened
    assert not AuditLogEntry.objects.filter(action="account.renamed").exists()


def test_diff_reports_only_changed_fields_as_json_safe_pairs():
    # given an old snapshot and new values of different types
    old = {"price": Decimal("9.90"), "ship_by": datetime(2025, 1, 2, 3, 4, tzinfo=UTC), "sku": "A", "qty": 1}
    new = {"price": Decimal("12.50"), "ship_by": datetime(2025, 1, 2, 3, 4, tzinfo=UTC), "sku": "A", "qty": 2}

    # when diffed
    changes = diff(old, new, ["price", "ship_by", "sku", "qty", "missing"])

    # then only what changed is listed, in a form JSONField stores as-is
    assert changes == {"price": ["9.90", "12.50"], "qty": [1, 2]}


def test_diff_compares_foreign_keys_by_id():
    # given a membership moved to another account
    membership = MembershipFactory()
    other = AccountFactory()
    before = {"account": membership.account_id}
    membership.account = other

    # when diffed, then the ids are compared and recorded
    assert diff(before, membership, ["account"]) == {"account": [str(before["account"]), str(other.pk)]}


def result_rows(response) -> str:
    html = response.content.decode()
    return html[html.index("<tbody>") : html.index("</tbody>")]


def test_the_admin_lists_and_filters_entries_but_cannot_change_them(admin_client):
    # given two entries for two accounts
    first, second = AccountFactory(name="First"), AccountFactory(name="Second")
    entry = audit_log(actor="system", action="stock.adjusted", target=first)
    audit_log(actor="system", action="order.cancelled", target=second)

    # when staff filter the list by account and search it
    listing = admin_client.get(f"/admin/audit/auditlogentry/?account__id__exact={first.pk}")
    searched = admin_client.get("/admin/audit/auditlogentry/?q=cancelled")

    # then they see the matching entry only (the filter sidebar lists every action, so look at rows)
    assert listing.status_code == 200
    assert result_rows(listing).count("<tr>") == 1 and "stock.adjusted" in result_rows(listing)
    assert result_rows(searched).count("<tr>") == 1 and "order.cancelled" in result_rows(searched)

    # and no one may add, change or delete entries
    assert admin_client.get("/admin/audit/auditlogentry/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/audit/auditlogentry/{entry.pk}/change/", {"action": "forged"}).status_code
        == 403
    )
    assert (
        admin_client.post(f"/admin/audit/auditlogentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.action == "stock.adjusted"
    assert AuditLogEntry.objects.count() == 2
