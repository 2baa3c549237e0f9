"""Forms check shape only; the services decide (and their `DomainError.fields` land on the form)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from creatorflow.core.errors import DomainError

from .models import Role


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Put a service refusal on the form: on its fields where they match, else as a form error."""
    placed = False
    for field, messages in (error.fields or {}).items():
        if field in form.fields:
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class LoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class _PasswordPairForm(forms.Form):
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords differ.")
        return cleaned


class SignupForm(_PasswordPairForm):
    field_order = ["full_name", "email", "account_name", "password", "password_confirm"]

    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    account_name = forms.CharField(label="Business name", max_length=200)


class InvitationSignupForm(_PasswordPairForm):
    field_order = ["full_name", "password", "password_confirm"]

    full_name = forms.CharField(label="Your name", max_length=150, required=False)


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SwitchAccountForm(forms.Form):
    account = forms.UUIDField()


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API token")
