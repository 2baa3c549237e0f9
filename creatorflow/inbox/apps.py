from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class InboxConfig(AppConfig):
    name = "creatorflow.inbox"
    label = "inbox"
    verbose_name = "Webhook inbox"

    def ready(self):
        # Every app's webhook handlers register themselves on import (registry.register_handler);
        # importing them here gives web processes and workers the same registry.
        autodiscover_modules("inbox_handlers")
