from django.db import migrations, models


class Migration(migrations.Migration):
    """The token bucket becomes a sliding window: its state table is replaced (the rows were only
    working state of the last second, nothing to carry over)."""

    dependencies = [
        ("resilience", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateWindowState",
            fields=[
                ("key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                (
                    "stamps",
                    models.JSONField(default=list, help_text="Unix times of the grants still inside the window."),
                ),
                ("updated_at", models.FloatField(help_text="Unix time of the last grant or refusal.")),
            ],
            options={"verbose_name": "rate-limit window"},
        ),
        migrations.DeleteModel(name="TokenBucketState"),
    ]
