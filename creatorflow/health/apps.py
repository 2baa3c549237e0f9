from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "creatorflow.health"
    label = "health"
    verbose_name = "Health"
