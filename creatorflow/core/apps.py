from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_schedules(sender, using="default", **kwargs):
    # Runs once per migrate, after the last app: keeps beat in step with the code on every deploy.
    from django.db import connections

    if "django_celery_beat_periodictask" not in connections[using].introspection.table_names():
        return
    from .schedules import sync_periodic_tasks

    sync_periodic_tasks()


class CoreConfig(AppConfig):
    name = "creatorflow.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        post_migrate.connect(_sync_schedules, sender=self, dispatch_uid="cf-sync-periodic-tasks")
