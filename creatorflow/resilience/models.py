"""The rate limiter's database fallback: one row per sliding window.

Used only when no Redis is configured (the embedded `make run` default); with Redis the windows are
sorted sets there and this table stays empty.
"""

from django.db import models


class RateWindowState(models.Model):
    """The sliding-window limiter's database fallback: the grant times of one key's last window."""

    key = models.CharField(max_length=200, primary_key=True)
    stamps = models.JSONField(default=list, help_text="Unix times of the grants still inside the window.")
    updated_at = models.FloatField(help_text="Unix time of the last grant or refusal.")

    class Meta:
        verbose_name = "rate-limit window"

    def __str__(self) -> str:
        return f"{self.key}: {len(self.stamps or [])} in the window"
