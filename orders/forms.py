"""Dashboard forms for orders and automation rules. They parse input only: what may happen to an
order lives in `orders.services.actions`, what a rule may say in `orders.rules`; their
`DomainError.fields` come back here as field errors."""

from __future__ import annotations

from django import forms

from inventory.models import SKU

from .models import AutomationRule

BULK_ACTIONS = (
    ("approve", "Approve"),
    ("hold", "Hold"),
    ("cancel", "Cancel"),
    ("rerun", "Re-run rules"),
)
BACKORDER_OPTIONS = (
    ("wait", "Wait for stock"),
    ("ship_partial", "Ship what is in stock"),
    ("substitute", "Substitute a SKU"),
    ("cancel", "Cancel the order"),
)


class DomainErrorsMixin:
    def add_domain_error(self, error) -> None:
        """Messages for our fields on those fields; the error's own message on top otherwise."""
        placed = False
        for field, messages in (getattr(error, "fields", None) or {}).items():
            if field not in self.fields:
                continue
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                self.add_error(field, str(message))
                placed = True
        if not placed:
            self.add_error(None, error.message)


class BulkForm(DomainErrorsMixin, forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    reason = forms.CharField(required=False, max_length=500)

    def clean(self):
        cleaned = super().clean()
        cleaned["ids"] = self.data.getlist("ids")[:500]
        if not cleaned["ids"]:
            raise forms.ValidationError("Select at least one order.")
        return cleaned


class ReasonForm(DomainErrorsMixin, forms.Form):
    reason = forms.CharField(
        required=False, max_length=500, widget=forms.TextInput(attrs={"placeholder": "Reason"})
    )


class TagsForm(DomainErrorsMixin, forms.Form):
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. gift, vip"}),
    )

    def clean_tags(self) -> list[str]:
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]


class BackorderForm(DomainErrorsMixin, forms.Form):
    option = forms.ChoiceField(choices=BACKORDER_OPTIONS)
    substitute_sku = forms.CharField(required=False, max_length=100, label="Substitute SKU")

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_substitute_sku(self):

        code = self.cleaned_data["substitute_sku"].strip()
        if not code:
            return None
        sku = SKU.objects.filter(account=self.account, seller_sku=code).first()
        if sku is None:
            raise forms.ValidationError("No SKU with this code in your catalogue.")
        return sku

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("option") == "substitute" and not cleaned.get("substitute_sku") and not self.errors:
            self.add_error("substitute_sku", "Choose the SKU to ship instead.")
        return cleaned


class RuleForm(DomainErrorsMixin, forms.Form):
    """The rule's own fields. Its condition and action rows are parsed by `rule_rows`."""

    name = forms.CharField(
        max_length=120, widget=forms.TextInput(attrs={"placeholder": "e.g. Hold big orders"})
    )
    match = forms.ChoiceField(choices=AutomationRule.Match.choices, initial=AutomationRule.Match.ALL)
    stop_processing = forms.BooleanField(required=False, label="Stop here when it matches")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


def rule_rows(data) -> tuple[list[dict], list[dict]]:
    """The condition and action rows of the editor's POST, in order, blank rows dropped.

    Conditions come as parallel lists `c_field`/`c_op`/`c_value`; actions as `a_type`/`a_value`.
    """
    conditions = [
        {"field": field, "op": op, "value": value.strip()}
        for field, op, value in zip(
            data.getlist("c_field"), data.getlist("c_op"), data.getlist("c_value"), strict=False
        )
        if field
    ]
    actions = [
        {"type": action_type, "value": value.strip()}
        for action_type, value in zip(data.getlist("a_type"), data.getlist("a_value"), strict=False)
        if action_type
    ]
    return conditions, actions
