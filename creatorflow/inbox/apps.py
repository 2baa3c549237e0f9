from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "creatorflow.inbox"
    label = "inbox"
    verbose_name = "Webhook inbox"
