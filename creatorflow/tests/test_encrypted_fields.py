"""Encrypted model fields: round trip, no plaintext at rest, lookups refused, key rotation."""

import io
import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps, override_settings

from creatorflow.audit.models import AuditLogEntry
from creatorflow.audit.services import diff, snapshot
from creatorflow.fields import (
    DecryptionError,
    EncryptedJSONField,
    EncryptedTextField,
    rotate_encrypted_fields,
)

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
SECRET = "shpat-0123456789-very-secret-token"


@pytest.fixture
def secret_model(transactional_db):
    """A test-only model in an isolated app registry, its table made by the schema editor."""
    with isolate_apps("creatorflow.tests"):

        class ShopSecret(models.Model):
            label = models.CharField(max_length=50)
            access_token = EncryptedTextField()
            extra = EncryptedJSONField(null=True, blank=True)

            class Meta:
                app_label = "tests"

            def __str__(self):
                return self.label

    with connection.schema_editor() as editor:
        editor.create_model(ShopSecret)
    yield ShopSecret
    with connection.schema_editor() as editor:
        editor.delete_model(ShopSecret)


def raw_rows(model, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


@override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A])
def test_values_round_trip_and_are_ciphertext_at_rest(secret_model):
    # given a row with a secret token and a JSON blob
    secret_model.objects.create(label="shop", access_token=SECRET, extra={"refresh": "r-123", "n": 5})

    # when it is read back, and when the table is read with raw SQL
    row = secret_model.objects.get()
    stored_token, stored_extra = raw_rows(secret_model, "access_token")[0], raw_rows(secret_model, "extra")[0]

    # then Python sees plaintext, the database only Fernet tokens of key A
    assert row.access_token == SECRET
    assert row.extra == {"refresh": "r-123", "n": 5}
    assert SECRET not in stored_token and "r-123" not in stored_extra
    assert Fernet(KEY_A).decrypt(stored_token.encode()).decode() == SECRET


@override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A])
def test_null_stays_null(secret_model):
    # given a row without the optional JSON value
    secret_model.objects.create(label="shop", access_token="", extra=None)

    # when read, then it is None and filterable with isnull (the one lookup allowed)
    assert secret_model.objects.get().extra is None
    assert raw_rows(secret_model, "extra") == [None]
    assert secret_model.objects.filter(extra__isnull=True).count() == 1
    assert secret_model.objects.get().access_token == ""


@override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A])
@pytest.mark.parametrize("lookup", ["access_token", "access_token__icontains", "access_token__in"])
def test_lookups_on_ciphertext_are_refused(secret_model, lookup):
    # given an encrypted field, when it is used in a filter, then a clear error says why
    value = [SECRET] if lookup.endswith("__in") else SECRET
    with pytest.raises(FieldError, match="encrypted"):
        secret_model.objects.filter(**{lookup: value}).count()


def test_rotation_re_encrypts_with_the_first_key(secret_model):
    # given rows written with key A
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A]):
        for n in range(3):
            secret_model.objects.create(label=f"shop{n}", access_token=f"{SECRET}-{n}", extra={"n": n})

    # when key B is put first, the rows still read fine, and rotation runs (in batches of 2)
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        assert [r.access_token for r in secret_model.objects.order_by("id")] == [
            f"{SECRET}-{n}" for n in range(3)
        ]
        counts = rotate_encrypted_fields(model_classes=[secret_model], batch_size=2)

    # then every stored value decrypts with key B alone, and no longer with key A
    assert counts == {"tests.ShopSecret": 3}
    stored = raw_rows(secret_model, "access_token") + raw_rows(secret_model, "extra")
    assert [Fernet(KEY_B).decrypt(v.encode()).decode() for v in stored[:3]] == [
        f"{SECRET}-{n}" for n in range(3)
    ]
    for value in stored:
        with pytest.raises(InvalidToken):
            Fernet(KEY_A).decrypt(value.encode())
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]):
        assert [r.extra for r in secret_model.objects.order_by("id")] == [{"n": n} for n in range(3)]


def test_a_missing_key_is_an_error_not_an_empty_value(secret_model):
    # given a row written with key A
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_A]):
        secret_model.objects.create(label="shop", access_token=SECRET)

    # when only key B is configured, then reading fails loudly, naming the field
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]):
        with pytest.raises(DecryptionError, match="ShopSecret.access_token"):
            secret_model.objects.get()


def test_audit_diff_redacts_encrypted_fields(secret_model):
    # given a row whose token and label change
    row = secret_model.objects.create(label="old", access_token=SECRET)
    before = snapshot(row, ["label", "access_token"])
    row.label, row.access_token = "new", SECRET + "-rotated"

    # when the change is diffed for the audit log
    changes = diff(before, row, ["label", "access_token"])

    # then the label shows, the secret does not
    assert changes == {"label": ["old", "new"], "access_token": ["[redacted]", "[redacted]"]}


@pytest.mark.django_db
def test_the_rotate_command_runs_and_is_audited():
    # given the installed models (whatever encrypted fields they have)
    # when an operator runs the command
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)

    # then the run is in the audit log, done by the system
    entry = AuditLogEntry.objects.get(action="encryption_keys.rotated")
    assert entry.actor is None and entry.actor_label == "system"
    assert "rows_reencrypted" in json.loads(out.getvalue())


@isolate_apps("creatorflow.tests")
def test_a_unique_or_indexed_encrypted_field_fails_the_system_check():
    # given a model that asks the database to index randomised ciphertext
    class BadSecret(models.Model):
        token = EncryptedTextField(unique=True)

        class Meta:
            app_label = "tests"

        def __str__(self):
            return "bad"

    # when the field is checked, then it is refused with our error id
    assert [error.id for error in BadSecret._meta.get_field("token").check()] == ["creatorflow.E001"]
