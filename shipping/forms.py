"""Forms for the shipping settings and the shipments list. They check shapes; the services decide.

A service's `ShippingSettingsInvalid` carries per-field messages; `apply_errors` puts them on the
form so they show next to the field they are about.
"""

from __future__ import annotations

from django import forms

from .models import LabelFormat, Provider, RatePolicy
from .services.settings import ADDRESS_FIELDS, KEYED_PROVIDERS

KEY_SET_MARK = "•••• set"


def apply_errors(form: forms.Form, error) -> None:
    """Show a service's DomainError on `form`: each field's message on its field, the rest on top."""
    placed = False
    for name, message in (getattr(error, "fields", None) or {}).items():
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CarrierAccountForm(_Form):
    provider = forms.ChoiceField(choices=Provider.choices)
    name = forms.CharField(max_length=120, help_text="Shown on the settings page and the shipments list.")
    api_key = forms.CharField(
        required=False,
        max_length=500,
        label="API key",
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Needed for EasyPost and Shippo; the sandbox needs none. Stored encrypted.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    preference = forms.IntegerField(
        min_value=0, max_value=1000, initial=0, help_text="Lower is tried first when rates tie."
    )
    services_allowed = forms.CharField(
        required=False,
        label="Services allowed",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Carriers (USPS) or CARRIER:service pairs (UPS:Ground), separated by commas. Empty allows all.",
    )

    def __init__(self, *args, carrier_account=None, **kwargs):
        self.carrier_account = carrier_account
        if carrier_account is not None:
            kwargs.setdefault(
                "initial",
                {
                    "provider": carrier_account.provider,
                    "name": carrier_account.name,
                    "enabled": carrier_account.enabled,
                    "preference": carrier_account.preference,
                    "services_allowed": ", ".join(carrier_account.services_allowed or []),
                },
            )
        super().__init__(*args, **kwargs)
        if carrier_account is not None and carrier_account.api_key:
            self.fields["api_key"].help_text = f"{KEY_SET_MARK}. Leave empty to keep the stored key."

    @property
    def key_is_set(self) -> bool:
        return bool(self.carrier_account is not None and self.carrier_account.api_key)

    def clean(self):
        data = super().clean()
        provider = data.get("provider")
        if provider in KEYED_PROVIDERS and not data.get("api_key") and not self.key_is_set:
            self.add_error("api_key", f"{Provider(provider).label} needs an API key.")
        return data


class ShippingProfileForm(_Form):
    rate_policy = forms.ChoiceField(choices=RatePolicy.choices, widget=forms.RadioSelect)
    label_format = forms.ChoiceField(choices=LabelFormat.choices)
    ship_from = forms.ChoiceField(required=False, label="Ship from")
    verify_addresses = forms.BooleanField(
        required=False, help_text="Ask the carrier (EasyPost) to check each address before buying."
    )
    contact_name = forms.CharField(required=False, max_length=120, label="Contact name")
    phone = forms.CharField(required=False, max_length=40)
    address_line1 = forms.CharField(required=False, max_length=200, label="Address line 1")
    address_line2 = forms.CharField(required=False, max_length=200, label="Address line 2")
    city = forms.CharField(required=False, max_length=100)
    state = forms.CharField(required=False, max_length=100, label="State / region")
    postal_code = forms.CharField(required=False, max_length=20, label="Postal code")
    country = forms.CharField(required=False, max_length=2, help_text="Two letters, e.g. US.")

    ADDRESS_FIELDS = ADDRESS_FIELDS  # the warehouse fields the service accepts

    def __init__(self, *args, profile, warehouses, **kwargs):
        self.warehouses = list(warehouses)
        initial = {
            "rate_policy": profile.rate_policy,
            "label_format": profile.label_format,
            "ship_from": str(profile.ship_from_id or ""),
            "verify_addresses": profile.verify_addresses,
        }
        place = profile.ship_from
        if place is not None:
            initial.update({name: getattr(place, name) for name in self.ADDRESS_FIELDS})
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["ship_from"].choices = [("", "No warehouse chosen")] + [
            (str(w.pk), str(w)) for w in self.warehouses
        ]

    def address(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in self.ADDRESS_FIELDS}


class PackagePresetForm(_Form):
    name = forms.CharField(max_length=60)
    length_mm = forms.IntegerField(min_value=1, max_value=3000, label="Length (mm)")
    width_mm = forms.IntegerField(min_value=1, max_value=3000, label="Width (mm)")
    height_mm = forms.IntegerField(min_value=1, max_value=3000, label="Height (mm)")
    tare_grams = forms.IntegerField(
        min_value=0,
        max_value=70_000,
        initial=0,
        label="Empty weight (g)",
        help_text="The box or mailer itself.",
    )
    max_weight_grams = forms.IntegerField(
        min_value=0, max_value=70_000, initial=0, label="Maximum weight (g)", help_text="0: no limit."
    )

    FIELDS = ("name", "length_mm", "width_mm", "height_mm", "tare_grams", "max_weight_grams")

    @classmethod
    def for_preset(cls, preset, data=None) -> PackagePresetForm:
        return cls(data, initial={name: getattr(preset, name) for name in cls.FIELDS})
