from django.apps import AppConfig


class ResilienceConfig(AppConfig):
    name = "creatorflow.resilience"
    label = "resilience"
    verbose_name = "Resilience"
