from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender, using="default", **kwargs):
    """Runs once per migrate: what a deploy needs besides the migrations themselves.

    - the database cache table (the embedded default's cache: circuit breakers, CSV previews) —
      `createcachetable` is idempotent and does nothing when the cache is Redis;
    - beat's periodic tasks brought in step with the registry in code.
    """
    from django.core.management import call_command
    from django.db import connections

    call_command("createcachetable", database=using, verbosity=0)
    if "django_celery_beat_periodictask" not in connections[using].introspection.table_names():
        return
    from .schedules import sync_periodic_tasks

    sync_periodic_tasks()


class CoreConfig(AppConfig):
    name = "creatorflow.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="cf-after-migrate")
