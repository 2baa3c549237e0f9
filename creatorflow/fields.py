"""Model fields encrypted at rest with Fernet, rotatable (DESIGN.md: tokens and carrier keys).

`settings.FIELD_ENCRYPTION_KEYS` is a list of Fernet keys: the first encrypts, every key decrypts
(`MultiFernet`). To rotate: put a new key first, deploy, run `manage.py rotate_encryption_keys`
(re-encrypts every row with the new key), then drop the old key.

What the fields give up, on purpose: Fernet ciphertext is randomised (a fresh IV per write), so the
database cannot compare values. Lookups other than `isnull` raise `FieldError` instead of silently
matching nothing, and the fields cannot be unique or indexed. Serialisers (dumpdata) see plaintext,
like any Python code reading the attribute: treat dumps as secret. A value that no configured key can
decrypt raises `DecryptionError` on read: a wrong key must never look like an empty secret.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

_lock = threading.Lock()
_cached: tuple[tuple[str, ...], MultiFernet] | None = None


class DecryptionError(Exception):
    """Stored ciphertext that none of FIELD_ENCRYPTION_KEYS decrypts (a missing or wrong key)."""


def get_fernet() -> MultiFernet:
    """The MultiFernet for the current keys; rebuilt whenever the setting changes (tests override it)."""
    global _cached
    keys = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ())
    cached = _cached
    if cached is not None and cached[0] == keys:
        return cached[1]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: encrypted fields need at least one key.")
    try:
        fernet = MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from exc
    with _lock:
        _cached = (keys, fernet)
    return fernet


def encrypt_str(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_str(token: str, *, label: str = "value") -> str:
    try:
        return get_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionError(
            f"cannot decrypt {label}: none of FIELD_ENCRYPTION_KEYS matches (missing or wrong key?)"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text value stored as Fernet ciphertext, plaintext in Python. None stays NULL.

    Not searchable or sortable in the database (see module docstring).
    """

    description = "Text encrypted at rest (Fernet)"

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.unique or self.db_index:
            errors.append(
                checks.Error(
                    "Encrypted fields cannot be unique or indexed: the ciphertext is randomised.",
                    obj=self,
                    id="creatorflow.E001",
                )
            )
        return errors

    # Python value -> stored text
    def _serialize(self, value) -> str:
        return value if isinstance(value, str) else str(value)

    def _deserialize(self, text: str):
        return text

    def get_prep_value(self, value):
        value = models.Field.get_prep_value(self, value)
        if value is None:
            return None
        return encrypt_str(self._serialize(value))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return self._deserialize(decrypt_str(value, label=f"{self.model.__name__}.{self.name}"))

    def to_python(self, value):
        # Values reaching Python (forms, fixtures, assignment) are plaintext already.
        return value

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted and cannot be filtered with "
                f"'{lookup_name}'; only __isnull is supported."
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        return None  # no transforms on ciphertext; Django then reports the lookup as unsupported


class EncryptedJSONField(EncryptedTextField):
    """A JSON-serialisable value (dict, list, str, number, bool) encrypted as one text blob.

    Decimals, dates and UUIDs are written as strings (DjangoJSONEncoder) and read back as strings.
    Note that JSON null is stored as SQL NULL.
    """

    description = "JSON encrypted at rest (Fernet)"

    def _serialize(self, value) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)

    def _deserialize(self, text: str):
        return json.loads(text)

    def formfield(self, **kwargs):
        from django import forms

        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def models_with_encrypted_fields() -> list[type[models.Model]]:
    """Every installed, managed, concrete model that has an encrypted field (proxies excluded)."""
    return [
        m
        for m in apps.get_models()
        if not m._meta.proxy and m._meta.managed and not m._meta.swapped and encrypted_fields(m)
    ]


def rotate_encrypted_fields(
    *, model_classes: Iterable[type[models.Model]] | None = None, batch_size: int = 500
) -> dict[str, int]:
    """Re-encrypt every encrypted value with the first key of FIELD_ENCRYPTION_KEYS.

    Returns rows rewritten per model label. Precondition: every key that encrypted a stored value is
    still in the setting (reading decrypts with any of them). Each batch runs in its own transaction
    and locks its rows (`select_for_update`, primary-key order) between reading and rewriting, so a
    concurrent update of the same row is neither lost nor overwritten with the old value. Idempotent:
    running it twice just re-encrypts again. `model_classes` defaults to every installed model.
    """
    counts: dict[str, int] = {}
    for model in model_classes if model_classes is not None else models_with_encrypted_fields():
        names = [f.name for f in encrypted_fields(model)]
        manager = model._base_manager
        rewritten = 0
        last_pk = None
        while True:
            with transaction.atomic():
                rows = manager.order_by("pk").select_for_update()
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                batch = list(rows.values_list("pk", *names)[:batch_size])
                for pk, *values in batch:
                    # the queryset decrypted with any key; update() encrypts with the first one
                    manager.filter(pk=pk).update(**dict(zip(names, values, strict=True)))
            if not batch:
                break
            rewritten += len(batch)
            last_pk = batch[-1][0]
        counts[model._meta.label] = rewritten
    return counts
