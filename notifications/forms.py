from django import forms

from .models import NotificationPreference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ["email_enabled", "email_min_severity", "phone_number"]
        labels = {
            "email_enabled": "Email me notifications",
            "email_min_severity": "Only when at least",
            "phone_number": "Mobile number for SMS alerts",
        }
        widgets = {"phone_number": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})}
        help_texts = {
            "email_min_severity": "Critical: stock-outs and failed shipments. Warning: low stock, held orders.",
            "phone_number": "SMS alerts are coming soon; we will only text critical alerts.",
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_phone_number(self):
        number = self.cleaned_data["phone_number"].strip()
        digits = number.removeprefix("+").replace(" ", "").replace("-", "")
        if number and (not digits.isdigit() or not 7 <= len(digits) <= 15):
            raise forms.ValidationError("Enter the number in international format, e.g. +1 555 010 0200.")
        return number
