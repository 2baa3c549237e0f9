"""Writes for users, accounts, memberships, invitations and API tokens.

Every function here owns its transaction and takes keyword arguments only. Secrets (invitation
tokens, API keys) are generated here, handed to the caller once and stored only as a SHA-256.
Refusals are `DomainError`s with a stable code; views turn them into form errors, the API into JSON.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from creatorflow.outbox.facade import outbox_enqueue

from .models import ROLE_RANK, Account, ApiToken, Invitation, Membership, Role, User, hash_secret

INVITATION_LIFETIME = timedelta(days=7)
API_KEY_PREFIX = "cf_"
# Long enough to recognise a key in a list, far too short to guess the rest of it.
API_KEY_SHOWN_CHARS = 11
_EMAIL_TAKEN = "An account with this email already exists."


class AccountWithOwner(NamedTuple):
    user: User
    account: Account
    created: bool


# --- small helpers ------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _clean_email(email: str) -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(
            "Enter a valid email address.", code="invalid", fields={"email": exc.messages}
        ) from exc
    return email


def _clean_password(password: str | None, *, user: User) -> None:
    if not password:
        raise DomainError(
            "A password is required.", code="invalid", fields={"password": ["A password is required."]}
        )
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(
            "The password is too weak: " + " ".join(exc.messages),
            code="invalid",
            fields={"password": exc.messages},
        ) from exc


def _clean_account_name(account_name: str) -> str:
    name = (account_name or "").strip()
    if not name:
        raise DomainError(
            "A business name is required.",
            code="invalid",
            fields={"account_name": ["This field is required."]},
        )
    if len(name) > Account._meta.get_field("name").max_length:
        raise DomainError(
            "The business name is too long.",
            code="invalid",
            fields={"account_name": ["At most 200 characters."]},
        )
    return name


def _require_role(*, actor: User, account: Account, at_least: str) -> Membership:
    membership = Membership.objects.filter(user=actor, account=account).first()
    if membership is None or not membership.has_role(at_least):
        raise PermissionDenied(f"Only an {at_least} or owner of {account.name} may do this.")
    return membership


def _lock_owners(account: Account) -> list[Membership]:
    """Lock the account's owner memberships (in pk order) so two owners cannot demote each other."""
    return list(
        Membership.objects.select_for_update().filter(account=account, role=Role.OWNER).order_by("pk")
    )


# --- sign-up and operator set-up ------------------------------------------------------------------


def account_signup(*, email: str, password: str, account_name: str, full_name: str = "") -> AccountWithOwner:
    """Create a user, their account and the owner membership in one transaction.

    Validates the email, the password (the configured validators) and the business name; an email
    already registered is a `Conflict` (code `email_taken`). The unique index on the lower-cased
    email settles a race between two sign-ups.
    """
    email = _clean_email(email)
    name = _clean_account_name(account_name)
    _clean_password(password, user=User(email=email, full_name=full_name))
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_EMAIL_TAKEN, code="email_taken", fields={"email": [_EMAIL_TAKEN]})
    try:
        with transaction.atomic(durable=True):
            user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
            account = Account.objects.create(name=name)
            Membership.objects.create(user=user, account=account, role=Role.OWNER)
            audit_log(actor=user, action="account.signup", target=account, account=account)
    except IntegrityError as exc:
        raise Conflict(_EMAIL_TAKEN, code="email_taken", fields={"email": [_EMAIL_TAKEN]}) from exc
    return AccountWithOwner(user=user, account=account, created=True)


def account_create_with_owner(*, email: str, password: str, account_name: str) -> AccountWithOwner:
    """Make sure `email` exists as a user owning an account; idempotent on the email.

    Used by `manage.py create_account` and the demo loader. Inputs are validated on every call.
    An existing user keeps their password; if they already own an account, the one named
    `account_name` (else their oldest owned account) is returned with `created=False`. Nests inside
    a caller's transaction (no durable block) so a loader can wrap many calls.
    """
    email = _clean_email(email)
    name = _clean_account_name(account_name)
    _clean_password(password, user=User(email=email))
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _account_create_with_owner(email=email, password=password, name=name)
        except IntegrityError:
            # A concurrent call created the same user first; the second pass finds it.
            continue
    raise Conflict("Could not create the account; try again.")


def _account_create_with_owner(*, email: str, password: str, name: str) -> AccountWithOwner:
    user = User.objects.filter(email__iexact=email).first()
    created = False
    if user is None:
        user = User.objects.create_user(email=email, password=password)
        created = True
    owned = list(
        Membership.objects.filter(user=user, role=Role.OWNER)
        .select_related("account")
        .order_by("created_at", "pk")
    )
    if owned:
        by_name = [m for m in owned if m.account.name == name]
        return AccountWithOwner(user=user, account=(by_name or owned)[0].account, created=created)
    account = Account.objects.create(name=name)
    Membership.objects.create(user=user, account=account, role=Role.OWNER)
    audit_log(actor=user, action="account.create", target=account, account=account)
    return AccountWithOwner(user=user, account=account, created=True)


# --- invitations ----------------------------------------------------------------------------------


def invitation_create(
    *, account: Account, email: str, role: str, actor: User, base_url: str = ""
) -> Invitation:
    """Invite `email` to `account` with `role` and email them a link carrying a random token.

    Only owners and admins may invite; only an owner may invite another owner. An open invitation
    for the same email is replaced (so "invite again" resends). The email goes out after commit
    through the outbox (`invitation_send`), which issues the token then: no token exists before,
    and only its SHA-256 is ever stored. `base_url` (e.g. "https://app.example.com") makes the
    link absolute.
    """
    email = _clean_email(email)
    if role not in Role.values:
        raise DomainError("Choose a valid role.", code="invalid", fields={"role": ["Choose a valid role."]})
    with transaction.atomic(durable=True):
        inviter = _require_role(actor=actor, account=account, at_least=Role.ADMIN)
        if ROLE_RANK[Role(role)] > ROLE_RANK[Role(inviter.role)]:
            raise PermissionDenied("You cannot invite someone with a higher role than your own.")
        if Membership.objects.filter(account=account, user__email__iexact=email).exists():
            message = f"{email} is already a member."
            raise Conflict(message, code="already_member", fields={"email": [message]})
        Invitation.objects.filter(account=account, email__iexact=email, accepted_at__isnull=True).delete()
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            # Nobody holds a token for this hash: invitation_send issues the real one.
            token_hash=hash_secret(secrets.token_urlsafe(32)),
            invited_by=actor,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        audit_log(
            actor=actor,
            action="invitation.create",
            target=invitation,
            account=account,
            changes={"email": [None, email], "role": [None, role]},
        )
        outbox_enqueue(
            task="accounts.send_invitation",
            kwargs={"invitation_id": str(invitation.pk), "base_url": base_url},
            key=f"invitation:{invitation.pk}",
        )
    return invitation


def invitation_send(*, invitation_id, base_url: str = "") -> int:
    """Issue the invitation's token and email its link. Returns the number of emails sent (0 or 1).

    Runs in a task (through the outbox), outside any transaction, so a slow or failing mail server
    never holds up or breaks the request that invited. The token is made here and only its hash
    stored, so no plaintext token sits in the outbox or anywhere else; the hash is replaced
    before sending. A retry after a failed send issues a fresh token; a repeat after a send that
    succeeded (worker lost before the outbox recorded it) sends a second email whose link
    replaces the first. An invitation accepted, withdrawn or expired meanwhile is not sent.
    """
    token = secrets.token_urlsafe(32)
    issued = Invitation.objects.filter(
        pk=invitation_id, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).update(token_hash=hash_secret(token))
    if not issued:
        return 0
    invitation = Invitation.objects.select_related("account", "invited_by").get(pk=invitation_id)
    link = base_url.rstrip("/") + reverse("accounts:invitation_accept", args=[token])
    context = {"invitation": invitation, "link": link}
    return mail.send_mail(
        subject=f"You're invited to join {invitation.account.name} on CreatorFlow",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


def invitation_for_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("account").filter(token_hash=hash_secret(token or "")).first()


def invitation_accept(*, token: str, user: User) -> Membership:
    """Accept the invitation behind `token` as `user`; returns the user's membership.

    The invitation is bound to its email: for anyone else (or an unknown token) it does not exist
    (`NotFound`). An expired or used invitation is refused. A user who is already a member keeps
    their role. The invitation row is locked so it is accepted once.
    """
    with transaction.atomic(durable=True):
        return _invitation_accept(token=token, user=user)


def invitation_accept_with_signup(*, token: str, password: str, full_name: str = "") -> Membership:
    """Create the invited person's login (for the invitation's email) and accept, all or nothing."""
    invitation = invitation_for_token(token)
    if invitation is None:
        raise NotFound("This invitation does not exist.")
    email = normalize_email(invitation.email)
    _clean_password(password, user=User(email=email, full_name=full_name))
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("You already have a login: sign in to accept.", code="email_taken")
    try:
        with transaction.atomic(durable=True):
            user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
            return _invitation_accept(token=token, user=user)
    except IntegrityError as exc:
        raise Conflict("You already have a login: sign in to accept.", code="email_taken") from exc


def _invitation_accept(*, token: str, user: User) -> Membership:
    """Expects to run inside a transaction (it locks the invitation row)."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("account")
        .filter(token_hash=hash_secret(token or ""))
        .first()
    )
    if invitation is None or normalize_email(invitation.email) != normalize_email(user.email):
        raise NotFound("This invitation does not exist.")
    if invitation.accepted_at is not None:
        raise DomainError("This invitation has already been used.", code="invitation_used")
    if invitation.expires_at <= timezone.now():
        raise DomainError("This invitation has expired; ask for a new one.", code="invitation_expired")
    membership, _ = Membership.objects.get_or_create(
        user=user, account=invitation.account, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_log(
        actor=user,
        action="invitation.accept",
        target=invitation,
        account=invitation.account,
        changes={"role": [None, membership.role]},
    )
    return membership


def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    """Withdraw an open invitation (owner/admin). Its link stops working at once."""
    with transaction.atomic(durable=True):
        _require_role(actor=actor, account=invitation.account, at_least=Role.ADMIN)
        audit_log(actor=actor, action="invitation.revoke", target=invitation, account=invitation.account)
        Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).delete()


# --- memberships ----------------------------------------------------------------------------------


def membership_role_change(*, membership: Membership, role: str, actor: User) -> Membership:
    """Change a member's role. Owners/admins only; only an owner grants or takes away ownership.

    Locks the account's owners first, so the last owner can never be demoted, even by two owners
    demoting each other at the same moment.
    """
    if role not in Role.values:
        raise DomainError("Choose a valid role.", code="invalid", fields={"role": ["Choose a valid role."]})
    with transaction.atomic(durable=True):
        owners = _lock_owners(membership.account)
        acting = _require_role(actor=actor, account=membership.account, at_least=Role.ADMIN)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        old_role = membership.role
        if old_role == role:
            return membership
        if Role.OWNER in (old_role, role) and acting.role != Role.OWNER:
            raise PermissionDenied("Only an owner can grant or take away ownership.")
        if old_role == Role.OWNER and len(owners) <= 1:
            raise Conflict(
                "An account needs at least one owner: make someone else owner first.", code="last_owner"
            )
        membership.role = role
        membership.save(update_fields=["role"])
        audit_log(
            actor=actor,
            action="membership.role_change",
            target=membership,
            account=membership.account,
            changes={"role": [old_role, role]},
        )
    return membership


def membership_remove(*, membership: Membership, actor: User) -> None:
    """Remove a member (owners/admins, or members leaving themselves) and revoke their API tokens
    for this account. The last owner can never be removed; only an owner removes an owner.
    """
    with transaction.atomic(durable=True):
        owners = _lock_owners(membership.account)
        membership = Membership.objects.select_for_update().select_related("account").get(pk=membership.pk)
        if membership.user_id != actor.pk:
            acting = _require_role(actor=actor, account=membership.account, at_least=Role.ADMIN)
            if membership.role == Role.OWNER and acting.role != Role.OWNER:
                raise PermissionDenied("Only an owner can remove another owner.")
        if membership.role == Role.OWNER and len(owners) <= 1:
            raise Conflict(
                "An account needs at least one owner: make someone else owner first.", code="last_owner"
            )
        ApiToken.objects.filter(
            user_id=membership.user_id, account=membership.account, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        audit_log(
            actor=actor,
            action="membership.remove",
            target=membership,
            account=membership.account,
            changes={"user": [str(membership.user_id), None], "role": [membership.role, None]},
        )
        membership.delete()


# --- API tokens -----------------------------------------------------------------------------------


def api_token_create(*, user: User, account: Account, name: str = "API token") -> tuple[ApiToken, str]:
    """Create an API token for `user` acting in `account`; returns the row and the plaintext key.

    The key is returned once and never stored (only its SHA-256 and a short prefix to recognise
    it). The user must be a member of the account.
    """
    name = (name or "").strip() or "API token"
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise DomainError(
            "The name is too long.", code="invalid", fields={"name": ["At most 100 characters."]}
        )
    with transaction.atomic():
        if not Membership.objects.filter(user=user, account=account).exists():
            raise PermissionDenied("You are not a member of this account.")
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=user, account=account, name=name, prefix=key[:API_KEY_SHOWN_CHARS], key_hash=hash_secret(key)
        )
        audit_log(
            actor=user,
            action="api_token.create",
            target=token,
            account=account,
            changes={"name": [None, name]},
        )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: User, as_staff: bool = False) -> ApiToken:
    """Revoke a token (its owner, or an owner/admin of its account). Idempotent.

    `as_staff=True` is for the Django admin, whose caller has already checked the staff user's
    permission; staff need not be a member of the account.
    """
    with transaction.atomic():
        if token.user_id != actor.pk and not as_staff:
            _require_role(actor=actor, account=token.account, at_least=Role.ADMIN)
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_log(actor=actor, action="api_token.revoke", target=token, account=token.account)
    token.refresh_from_db(fields=["revoked_at"])
    return token
