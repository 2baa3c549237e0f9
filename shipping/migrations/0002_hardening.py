"""Per-carrier-account webhook credentials: the URL token is kept only as its SHA-256, each account
gets its own signing secret, and the sandbox carrier keeps its customers' webhook endpoints."""

import hashlib
import secrets

import django.db.models.deletion  # noqa: F401
from django.db import migrations, models

import creatorflow.fields
import shipping.models


def hash_existing_tokens(apps, schema_editor):
    CarrierAccount = apps.get_model("shipping", "CarrierAccount")
    for pk, token in CarrierAccount.objects.values_list("pk", "webhook_token"):
        digest = hashlib.sha256((token or secrets.token_urlsafe(24)).encode()).hexdigest()
        CarrierAccount.objects.filter(pk=pk).update(webhook_token_hash=digest)



# --- purchase waits and batch outcomes (kept together; see shipping/services/purchase.py)
# Words in a failed shipment's errors that name a passing cause: an open circuit, a carrier's 5xx or
# 429, a timeout or a connection failure. Orders parked before waits existed are told apart by them,
# so the sweep can retry those on its own.
TRANSIENT_WORDS = ("circuit open", "http 5", "answered 5", " 500", " 502", " 503", " 504", "429",
                   "timed out", "in time", "could not be reached", "could not reach", "limiting how fast",
                   "server error", "problem on its side", "tried again")  # fmt: skip


SHIPMENT_STATUSES = [
    ("pending", "Buying label"),
    ("waiting", "Waiting for carrier"),
    ("purchased", "Label purchased"),
    ("shipped", "Shipped"),
    ("in_transit", "In transit"),
    ("out_for_delivery", "Out for delivery"),
    ("delivered", "Delivered"),
    ("returned", "Returned"),
    ("exception", "Exception"),
    ("failed", "No label could be bought"),
    ("voided", "Voided"),
]


def classify_failed_shipments(apps, schema_editor):
    Shipment = apps.get_model("shipping", "Shipment")
    for pk, errors in Shipment.objects.filter(status="failed").values_list("pk", "errors").iterator():
        texts = [str(e).lower() for e in (errors or [])]
        transient = bool(texts) and any(any(w in t for w in TRANSIENT_WORDS) for t in texts)
        Shipment.objects.filter(pk=pk).update(failure_kind="transient" if transient else "permanent")


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="carrieraccount",
            name="webhook_token_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop),
        migrations.RemoveField(model_name="carrieraccount", name="webhook_token"),
        migrations.AlterField(
            model_name="carrieraccount",
            name="webhook_token_hash",
            field=models.CharField(
                default=shipping.models._unknown_token_hash,
                help_text="SHA-256 of the token in this account's tracking webhook URL (the token is shown once).",
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AddField(
            model_name="carrieraccount",
            name="webhook_secret",
            field=creatorflow.fields.EncryptedTextField(
                blank=True,
                default="",
                help_text="The key EasyPost (or the sandbox) signs this account's webhooks with.",
            ),
        ),
        migrations.AddField(
            model_name="carrieraccount",
            name="webhook_issued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sandboxparcel",
            name="customer",
            field=models.CharField(blank=True, help_text="Who bought it: the carrier account id.", max_length=64),
        ),
        migrations.CreateModel(
            name="SandboxWebhookEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("customer", models.CharField(max_length=64, unique=True)),
                ("token", creatorflow.fields.EncryptedTextField()),
                ("secret", creatorflow.fields.EncryptedTextField()),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        # --- purchase waits and batch outcomes
        migrations.AddField(
            model_name="shipment",
            name="failure_kind",
            field=models.CharField(
                blank=True,
                choices=[("transient", "May pass on its own"), ("permanent", "Needs a person")],
                help_text="Failed: whether the cause may pass on its own (the sweep retries those).",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="shipment",
            name="retry_at",
            field=models.DateTimeField(blank=True, help_text="Waiting: the next purchase try.", null=True),
        ),
        migrations.AddField(
            model_name="shipment",
            name="retry_count",
            field=models.PositiveSmallIntegerField(default=0, help_text="Tries that ended waiting."),
        ),
        migrations.AddField(
            model_name="shipment",
            name="wait_reason",
            field=models.CharField(blank=True, help_text="Why it waits, for the creator.", max_length=500),
        ),
        migrations.AlterField(
            model_name="labelbatchitem",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Buying label"),
                    ("labelled", "Label bought, handing to TikTok"),
                    ("waiting", "Waiting for carrier"),
                    ("done", "Shipped"),
                    ("failed", "Not shipped"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="shipment",
            name="status",
            field=models.CharField(choices=SHIPMENT_STATUSES, default="pending", max_length=20),
        ),
        migrations.AlterField(
            model_name="trackingevent",
            name="status",
            field=models.CharField(choices=SHIPMENT_STATUSES, max_length=20),
        ),
        migrations.RunPython(classify_failed_shipments, migrations.RunPython.noop),
        # --- end of purchase waits and batch outcomes
    ]
