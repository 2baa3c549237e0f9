from creatorflow.core.schedules import Periodic

PERIODIC_TASKS = [
    Periodic(
        name="resilience.purge_idle_buckets",
        task="resilience.purge_idle_buckets",
        crontab={"minute": 41, "hour": 4},
    ),
]
