"""Sign-in, sign-up, the team page, invitations, account switching and API tokens.

Small function views: parse the form, call one service, render or redirect. Tenant objects are
always looked up within `request.account`, so a foreign id is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from creatorflow.core.errors import DomainError, NotFound
from creatorflow.core.throttling import form_throttle, retry_after_seconds, wait_in_words

from . import selectors, services
from .forms import (
    ApiTokenForm,
    InvitationSignupForm,
    InviteForm,
    LoginForm,
    RoleForm,
    SignupForm,
    SwitchAccountForm,
    add_domain_error,
)
from .models import Invitation, Role, User
from .tenancy import (
    SESSION_ACCOUNT_KEY,
    account_required,
    get_for_account_or_404,
    redirect_back,
    remember_account,
    role_required,
)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _throttled(request, form, name: str, *subjects: str | None) -> float:
    """0.0 when the form may be used now; else the seconds to wait, and `form` says so."""
    wait = form_throttle(request, name, *subjects)
    if wait > 0:
        form.add_error(None, f"Too many attempts. Try again in {wait_in_words(wait)}.")
    return wait


def _too_many(response, wait: float):
    """`response` as the 429 of a refused form, with the wait in `Retry-After`."""
    response.status_code = 429
    response["Retry-After"] = str(retry_after_seconds(wait))
    return response


# --- sign in / out / up ---------------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    """The email + password form. `authenticate()` gets the request so django-axes can count
    failures per IP and per email; a locked-out attempt is answered by axes' middleware (429)."""
    if request.user.is_authenticated and request.method == "GET":
        return redirect_back(request, settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _throttled(request, form, "login")
        if wait:
            context = {"form": form, "next": _next(request)}
            return _too_many(render(request, "accounts/login.html", context), wait)
        user = authenticate(
            request,
            email=services.normalize_email(form.cleaned_data["email"]),
            password=form.cleaned_data["password"],
        )
        if user is not None:
            login(request, user)
            return redirect_back(request, settings.LOGIN_REDIRECT_URL)
        form.add_error(None, "That email and password do not match an account.")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": _next(request)}, status=status)


@require_POST
def logout_view(request):
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters("password", "password_confirm")
@never_cache
@require_http_methods(["GET", "POST"])
def signup_view(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect("/")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.account_signup(
                email=data["email"],
                password=data["password"],
                account_name=data["account_name"],
                full_name=data["full_name"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            login(request, result.user, backend=MODEL_BACKEND)
            remember_account(request, result.account)
            messages.success(request, f"Welcome to CreatorFlow, {result.account.name} is ready.")
            return redirect("/")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


def _next(request) -> str:
    return request.POST.get("next") or request.GET.get("next") or ""


# --- team settings --------------------------------------------------------------------------------


def _team_context(request, **extra) -> dict:
    account, membership = request.account, request.membership
    can_manage = membership.has_role(Role.ADMIN)
    context = {
        "account": account,
        "membership": membership,
        "members": selectors.members_of_account(account),
        "can_manage": can_manage,
        "is_owner": membership.role == Role.OWNER,
        "roles": Role.choices,
        "invitations": selectors.invitations_pending(account) if can_manage else [],
        "invite_form": InviteForm(),
    }
    context.update(extra)
    return context


@account_required
@require_http_methods(["GET"])
def team_settings(request):
    return render(request, "accounts/settings.html", _team_context(request))


def _team_response(request, error: DomainError | None = None):
    """After a change on the team page: the members fragment for htmx, else back to the page."""
    if error is not None and not request.htmx:
        messages.error(request, error.message)
    if request.htmx:
        context = _team_context(request, error=error)
        return render(request, "accounts/settings.html#members", context, status=400 if error else 200)
    return redirect("accounts:settings")


@role_required(Role.ADMIN)
@require_POST
def invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        wait = _throttled(request, form, "invite", form.cleaned_data["email"])
        if wait:
            context = _team_context(request, invite_form=form)
            return _too_many(render(request, "accounts/settings.html", context), wait)
        try:
            services.invitation_create(
                account=request.account,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except DomainError as error:
            if error.http_status == 403:
                raise PermissionDenied(error.message) from error
            add_domain_error(form, error)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:settings")
    return render(request, "accounts/settings.html", _team_context(request, invite_form=form), status=400)


@role_required(Role.ADMIN)
@require_POST
def invitation_revoke(request, invitation_id):
    invitation = get_for_account_or_404(
        Invitation, request.account, pk=invitation_id, accepted_at__isnull=True
    )
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except DomainError as error:
        raise PermissionDenied(error.message) from error
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("accounts:settings")


@account_required
@require_POST
def member_role(request, user_id):
    membership = selectors.member_of_account_or_404(request.account, user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _team_response(request, DomainError("Choose a valid role.", code="invalid"))
    try:
        services.membership_role_change(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except DomainError as error:
        return _team_response(request, error)
    if not request.htmx:
        messages.success(request, f"{membership.user.email} is now {form.cleaned_data['role']}.")
    return _team_response(request)


@account_required
@require_POST
def member_remove(request, user_id):
    membership = selectors.member_of_account_or_404(request.account, user_id)
    leaving = membership.user_id == request.user.pk
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except DomainError as error:
        return _team_response(request, error)
    if leaving:
        request.session.pop(SESSION_ACCOUNT_KEY, None)
        messages.success(request, f"You left {request.account.name}.")
        return redirect("/")
    if not request.htmx:
        messages.success(request, f"{membership.user.email} was removed.")
    return _team_response(request)


# --- invitations (the invitee's side) -------------------------------------------------------------


@sensitive_post_parameters("password", "password_confirm")
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """Accept an invitation. Signed out: create a login for the invited email (or sign in first).
    Signed in as someone else: the invitation does not exist for you (404)."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        raise Http404("No such invitation.")
    user = request.user
    if user.is_authenticated and services.normalize_email(user.email) != services.normalize_email(
        invitation.email
    ):
        raise Http404("No such invitation.")
    context = {
        "invitation": invitation,
        "token": token,
        "base_template": "base.html" if user.is_authenticated else "base_public.html",
        "login_url": f"{reverse('accounts:login')}?next={request.path}",
        "has_login": user.is_authenticated or User.objects.filter(email__iexact=invitation.email).exists(),
    }
    if not invitation.is_open:
        context["closed"] = (
            "This invitation has already been used."
            if invitation.accepted_at
            else ("This invitation has expired; ask for a new one.")
        )
        return render(request, "accounts/invitation.html", context, status=410)

    form = InvitationSignupForm(request.POST or None) if not context["has_login"] else None
    if request.method == "POST":
        try:
            if user.is_authenticated:
                membership = services.invitation_accept(token=token, user=user)
            elif form is not None and form.is_valid():
                membership = services.invitation_accept_with_signup(
                    token=token,
                    password=form.cleaned_data["password"],
                    full_name=form.cleaned_data["full_name"],
                )
                login(request, membership.user, backend=MODEL_BACKEND)
            else:
                membership = None
        except NotFound as error:
            raise Http404(error.message) from error
        except DomainError as error:
            if form is None:
                context["closed"] = error.message
                return render(request, "accounts/invitation.html", context, status=410)
            add_domain_error(form, error)
            membership = None
        if membership is not None:
            remember_account(request, membership.account)
            messages.success(request, f"You joined {membership.account.name} as {membership.role}.")
            return redirect("/")
    context["form"] = form
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/invitation.html", context, status=status)


# --- switching accounts ---------------------------------------------------------------------------


@login_required
@require_POST
def switch_account(request):
    """Make another of the user's accounts current. An account the user is not in is a 404."""
    form = SwitchAccountForm(request.POST)
    if not form.is_valid():
        raise Http404("No such account.")
    account = selectors.account_for_user(request.user, form.cleaned_data["account"])
    remember_account(request, account)
    messages.success(request, f"Now working in {account.name}.")
    return redirect_back(request, "/")


# --- API tokens -----------------------------------------------------------------------------------


@account_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """List, and create, the user's tokens in the current account. A new key is shown in this one
    response only: it is never stored, so it cannot be shown again."""
    form = ApiTokenForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _token, new_key = services.api_token_create(
                user=request.user, account=request.account, name=form.cleaned_data["name"]
            )
            form = ApiTokenForm()
        else:
            status = 400
    context = {
        "tokens": selectors.api_tokens_for(request.user, request.account),
        "form": form,
        "new_key": new_key,
    }
    response = render(request, "accounts/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@account_required
@require_POST
def api_token_revoke(request, token_id):
    token = get_for_account_or_404(
        selectors.api_tokens_for(request.user, request.account), request.account, pk=token_id
    )
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:tokens")


# --- password reset -------------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, limited per client address and per email address: the page cannot be
    used to flood someone's inbox (the answer stays the same whether or not the email has an
    account)."""

    def form_valid(self, form):
        wait = _throttled(self.request, form, "password_reset", form.cleaned_data.get("email"))
        if wait:
            return _too_many(self.form_invalid(form), wait)
        return super().form_valid(form)
