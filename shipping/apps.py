from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    label = "shipping"
    verbose_name = "Shipping"
