from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "creatorflow.outbox"
    label = "outbox"
    verbose_name = "Outbox"
