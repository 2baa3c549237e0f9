"""`manage.py rotate_encryption_keys`: re-encrypt every encrypted field with the first key.

Run after putting a new key first in FIELD_ENCRYPTION_KEYS (old keys still listed); afterwards the
old keys can be removed. Safe to run while the app serves traffic (rows are locked batch by batch)
and safe to run again. The run itself is written to the audit log.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db import transaction

from creatorflow.audit.services import audit_log
from creatorflow.fields import rotate_encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every encrypted model field with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        counts = rotate_encrypted_fields(batch_size=batch_size)
        with transaction.atomic():
            audit_log(
                actor="system",
                action="encryption_keys.rotated",
                changes={label: [None, rows] for label, rows in counts.items()},
            )
        self.stdout.write(json.dumps({"rows_reencrypted": counts}, sort_keys=True))
