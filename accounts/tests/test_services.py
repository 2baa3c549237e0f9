import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services
from accounts.models import Account, ApiToken, Invitation, Membership, Role, User, hash_secret
from accounts.tests.factories import AccountFactory, MembershipFactory, UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from creatorflow.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

STRONG = "orchid-lantern-42-walrus"


def _token_from_last_email() -> str:
    return re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[-1].body).group(1)


def test_signup_creates_user_account_and_owner_membership():
    # when
    result = services.account_signup(
        email=" Maya@Example.com ", password=STRONG, account_name="Maya's Shop", full_name="Maya"
    )

    # then
    assert result.created is True
    assert result.user.email == "maya@example.com"
    assert result.user.check_password(STRONG)
    assert result.account.name == "Maya's Shop"
    assert Membership.objects.get(user=result.user, account=result.account).role == Role.OWNER


def test_signup_refuses_a_taken_email_and_a_weak_password():
    # given
    UserFactory(email="taken@example.com")

    # when / then
    with pytest.raises(Conflict) as taken:
        services.account_signup(email="TAKEN@example.com", password=STRONG, account_name="Shop")
    assert taken.value.code == "email_taken"
    with pytest.raises(DomainError) as weak:
        services.account_signup(email="new@example.com", password="123", account_name="Shop")
    assert "password" in weak.value.fields
    assert not User.objects.filter(email="new@example.com").exists()


def test_create_with_owner_is_idempotent_on_the_email():
    # given
    first = services.account_create_with_owner(email="ops@example.com", password=STRONG, account_name="Ops")

    # when
    second = services.account_create_with_owner(email="OPS@example.com", password=STRONG, account_name="Ops")

    # then
    assert first.created is True and second.created is False
    assert (second.user, second.account) == (first.user, first.account)
    assert Account.objects.count() == 1
    assert Membership.objects.count() == 1


def test_invitation_stores_only_the_hash_and_emails_the_link(django_capture_on_commit_callbacks):
    # given
    owner = MembershipFactory(role=Role.OWNER)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            account=owner.account, email="Friend@Example.com", role=Role.MEMBER, actor=owner.user
        )

    # then
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["friend@example.com"]
    token = _token_from_last_email()
    invitation.refresh_from_db()
    assert invitation.token_hash == hash_secret(token)
    assert token not in str(Invitation.objects.values_list().get(pk=invitation.pk))
    # the email went through the outbox, and the token is not stored there either
    message = OutboxMessage.objects.get(key=f"invitation:{invitation.pk}")
    assert message.status == "done" and token not in str(message.kwargs)


def test_a_failing_mail_server_does_not_fail_the_invitation(settings, django_capture_on_commit_callbacks):
    # given: the mail server refuses connections
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    owner = MembershipFactory(role=Role.OWNER)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            account=owner.account, email="later@example.com", role=Role.MEMBER, actor=owner.user
        )

    # then: the invitation stands and its email waits in the outbox for a retry
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    message = OutboxMessage.objects.get(key=f"invitation:{invitation.pk}")
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at > timezone.now()  # the retry is due later, for the relay to send


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_only_owner_or_admin_may_invite(role):
    # given
    member = MembershipFactory(role=role)

    # when / then
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            account=member.account, email="x@example.com", role=Role.VIEWER, actor=member.user
        )
    assert not Invitation.objects.exists()


def test_an_admin_cannot_invite_an_owner():
    admin = MembershipFactory(role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            account=admin.account, email="x@example.com", role=Role.OWNER, actor=admin.user
        )


def test_invitation_accept_grants_the_invited_role_once(django_capture_on_commit_callbacks):
    # given
    admin = MembershipFactory(role=Role.ADMIN)
    invitee = UserFactory(email="viewer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            account=admin.account, email=invitee.email, role=Role.VIEWER, actor=admin.user
        )
    token = _token_from_last_email()

    # when
    membership = services.invitation_accept(token=token, user=invitee)

    # then
    assert (membership.account, membership.role) == (admin.account, Role.VIEWER)
    with pytest.raises(DomainError) as again:
        services.invitation_accept(token=token, user=invitee)
    assert again.value.code == "invitation_used"


def test_invitation_is_bound_to_its_email(django_capture_on_commit_callbacks):
    # given
    owner = MembershipFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            account=owner.account, email="a@example.com", role=Role.MEMBER, actor=owner.user
        )

    # when / then
    with pytest.raises(NotFound):
        services.invitation_accept(token=_token_from_last_email(), user=UserFactory(email="b@example.com"))
    assert not Membership.objects.filter(user__email="b@example.com").exists()


def test_the_last_owner_can_be_neither_removed_nor_demoted():
    # given
    owner = MembershipFactory(role=Role.OWNER)
    admin = MembershipFactory(account=owner.account, role=Role.ADMIN)

    # when / then
    with pytest.raises(Conflict) as demote:
        services.membership_role_change(membership=owner, role=Role.ADMIN, actor=owner.user)
    assert demote.value.code == "last_owner"
    with pytest.raises(Conflict):
        services.membership_remove(membership=owner, actor=owner.user)
    with pytest.raises(PermissionDenied):
        services.membership_remove(membership=owner, actor=admin.user)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_with_two_owners_one_may_step_down():
    # given
    first = MembershipFactory(role=Role.OWNER)
    MembershipFactory(account=first.account, role=Role.OWNER)

    # when
    services.membership_role_change(membership=first, role=Role.MEMBER, actor=first.user)

    # then
    first.refresh_from_db()
    assert first.role == Role.MEMBER


def test_removing_a_member_revokes_their_tokens_for_that_account():
    # given
    owner = MembershipFactory()
    member = MembershipFactory(account=owner.account, role=Role.MEMBER)
    token, _key = services.api_token_create(user=member.user, account=owner.account, name="ci")

    # when
    services.membership_remove(membership=member, actor=owner.user)

    # then
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_api_token_key_is_returned_once_and_stored_hashed():
    # given
    owner = MembershipFactory()

    # when
    token, key = services.api_token_create(user=owner.user, account=owner.account, name="Zapier")

    # then
    assert key.startswith("cf_") and key.startswith(token.prefix)
    assert token.key_hash == hash_secret(key)
    assert key not in str(ApiToken.objects.values_list().get(pk=token.pk))


def test_api_token_needs_a_membership():
    with pytest.raises(PermissionDenied):
        services.api_token_create(user=UserFactory(), account=AccountFactory(), name="x")


def test_state_changes_are_audited_in_the_same_transaction():
    # given
    owner = MembershipFactory(role=Role.OWNER)
    member = MembershipFactory(account=owner.account, role=Role.MEMBER)

    # when
    services.membership_role_change(membership=member, role=Role.ADMIN, actor=owner.user)

    # then
    entry = AuditLogEntry.objects.get(action="membership.role_change")
    assert entry.actor == owner.user and entry.account_id == owner.account.pk
    assert entry.changes == {"role": ["member", "admin"]}
