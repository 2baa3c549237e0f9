"""Dashboard forms. They parse input only; the rules (limits, approval, enough stock) live in
`inventory.services.stock`, whose `DomainError.fields` come back here as field errors."""

from __future__ import annotations

from django import forms

from .models import Warehouse


class AdjustForm(forms.Form):
    quantity = forms.IntegerField(
        label="Change",
        help_text="Units to add, or a negative number to remove. More than 100 waits for approval.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "e.g. -3 or 24"}),
    )
    reason = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Damaged in transit", "maxlength": 500}),
    )
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.none(), required=False, empty_label=None, label="Warehouse"
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        warehouses = Warehouse.objects.filter(account=account)
        if warehouses.count() > 1:
            self.fields["warehouse"].queryset = warehouses
        else:  # one warehouse (or none yet): the service picks the default
            del self.fields["warehouse"]

    def add_domain_error(self, error) -> None:
        """Show a `DomainError` on the form: messages for our fields on those fields, and the error's
        own message on top when none of its fields is ours (e.g. InsufficientStock names SKUs)."""
        placed = False
        for field, messages in (error.fields or {}).items():
            if field not in self.fields:
                continue
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                self.add_error(field, str(message))
                placed = True
        if not placed:
            self.add_error(None, error.message)
