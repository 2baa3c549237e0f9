import factory

from creatorflow.health.models import HealthCheckRecord


class HealthCheckRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthCheckRecord

    status = "healthy"
    checks = factory.LazyFunction(
        lambda: {
            "database": {"status": "healthy", "latency_ms": 1.2},
            "redis": {"status": "skipped", "configured": False, "latency_ms": None},
            "celery": {"status": "healthy", "queue_depth": 0},
            "tiktok": {"status": "healthy", "circuit": "closed"},
            "carriers": {"status": "healthy", "circuits": {}},
        }
    )
    duration_ms = 3.0
