"""Forms for the supplier and purchase order pages. They check input; the services decide.

Every choice field is limited to the current account's rows, so a foreign id posted by hand is
"not a valid choice" rather than something the service has to catch.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms

from .models import SKU, PurchaseOrder, Supplier, Warehouse

LINE_ROWS = 5


class SupplierForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(
        required=False, help_text="Purchase orders are emailed here, with the PDF and CSV attached."
    )
    lead_time_days = forms.IntegerField(
        min_value=0,
        max_value=365,
        initial=7,
        label="Lead time (days)",
        help_text="From order to delivery. Reorder suggestions cover this plus a safety margin.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_supplier(cls, supplier: Supplier, data=None) -> SupplierForm:
        initial = {name: getattr(supplier, name) for name in ("name", "email", "lead_time_days", "notes")}
        return cls(data, initial=initial)


class PurchaseOrderForm(forms.Form):
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.none())
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), label="Ship to")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, account, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = Supplier.objects.filter(account=account).order_by("name")
        warehouses = Warehouse.objects.filter(account=account).order_by("-is_default", "name")
        self.fields["warehouse"].queryset = warehouses
        default = warehouses.first()
        if default is not None and not self.is_bound:
            self.initial.setdefault("warehouse", default.pk)


class LineForm(forms.Form):
    """One order line; an empty row (no SKU) is ignored, so the page can offer spare rows."""

    sku = forms.ModelChoiceField(queryset=SKU.objects.none(), required=False, label="SKU")
    quantity = forms.IntegerField(min_value=1, required=False)
    unit_cost = forms.DecimalField(
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="Empty: the SKU's cost.",
    )

    def __init__(self, *args, account, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["sku"].queryset = SKU.objects.filter(account=account, is_active=True).order_by(
            "seller_sku"
        )

    def clean(self):
        data = super().clean()
        if data.get("sku") and not data.get("quantity"):
            self.add_error("quantity", "Enter how many to order.")
        return data


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, account, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "account": self.account}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            account=self.account,
        )
        self.add_fields(form, None)
        return form

    def clean(self):
        if any(self.errors):
            return
        chosen = [form.cleaned_data["sku"] for form in self.forms if form.cleaned_data.get("sku")]
        if not chosen:
            raise forms.ValidationError("Add at least one line.")
        if len({sku.pk for sku in chosen}) != len(chosen):
            raise forms.ValidationError("Each SKU may appear on one line only.")

    def lines(self) -> list[tuple]:
        """(sku, quantity, unit cost or None) for the filled rows, for `po_create`."""
        return [
            (form.cleaned_data["sku"], form.cleaned_data["quantity"], form.cleaned_data.get("unit_cost"))
            for form in self.forms
            if form.cleaned_data.get("sku")
        ]


LineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=LINE_ROWS, max_num=200)


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All"), ("open", "Open"), *PurchaseOrder.Status.choices], required=False
    )


def receive_fields(data) -> tuple[dict[int, int], dict[int, int], dict[int, str]]:
    """Read the receive form: (quantities by line id, received quantities the form showed, errors).

    Fields are `qty-<line id>` (blank means 0) and `seen-<line id>`; the service checks the rest
    (over-receipt, lines of another order), so its message is the one the person reads.
    """
    quantities: dict[int, int] = {}
    seen: dict[int, int] = {}
    errors: dict[int, str] = {}
    for key, value in data.items():
        prefix, _, line_id = key.partition("-")
        if prefix not in ("qty", "seen") or not line_id.isdigit():
            continue
        raw = (value or "").strip()
        if prefix == "qty":
            if not raw:
                continue
            if not raw.isdigit():
                errors[int(line_id)] = "Enter a whole number of units, 0 or more."
                continue
            quantities[int(line_id)] = int(raw)
        elif raw.isdigit():
            seen[int(line_id)] = int(raw)
    return quantities, seen, errors
