from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "creatorflow.relay"
    label = "relay"
    verbose_name = "Relay"
