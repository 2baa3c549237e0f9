from django.core.management.base import BaseCommand

from creatorflow.core.schedules import sync_periodic_tasks


class Command(BaseCommand):
    help = "Make django-celery-beat's periodic tasks match the registry in code (idempotent)."

    def handle(self, *args, **options):
        counts = sync_periodic_tasks()
        self.stdout.write(", ".join(f"{k} {v}" for k, v in counts.items()))
