"""Writing audit entries. Called by other apps' services, inside their transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .context import context_from_request, current_context
from .models import AuditLogEntry

REDACTED = "[redacted]"
TARGET_REPR_MAX = 200


def audit_log(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    account=None,
    changes: Mapping[str, Any] | None = None,
    request=None,
) -> AuditLogEntry:
    """Append one audit entry and return it.

    Call it inside the service's `transaction.atomic()` block, after the change: the entry then
    commits or rolls back with the change it describes (no entry for a change that never happened,
    no change without its entry). It takes no locks beyond the INSERT.

    - `actor`: the acting `User`; or a label such as "system" / "celery" for work no person did;
      or None, which uses the current audit context's label (set by a task) or "system".
    - `account`: the tenant the action belongs to; defaults to `target.account_id` when the target
      has one, or the target itself when it is an `Account`.
    - `changes`: `{field: [old, new]}`, usually from `diff()`; must be JSON-serialisable with
      DjangoJSONEncoder. Never put secrets here (diff() redacts encrypted fields).
    - `request`: when given, IP / user agent / request id come from it; otherwise from the context
      that `AuditContextMiddleware` (or `audit_context()`) set for this request or task.
    """
    context = context_from_request(request) if request is not None else current_context()
    user, label = _actor(actor, default_label=(context.actor_label if context else "") or "system")
    entry = AuditLogEntry(
        actor=user,
        actor_label=label[:254],
        account_id=_account_id(account, target),
        action=action,
        changes=dict(changes or {}),
        ip_address=context.ip_address if context else None,
        user_agent=context.user_agent if context else "",
        request_id=context.request_id if context else "",
    )
    if target is not None:
        entry.target_content_type = ContentType.objects.get_for_model(target)
        entry.target_object_id = str(target.pk)
        entry.target_repr = str(target)[:TARGET_REPR_MAX]
    entry.save(force_insert=True)
    return entry


def _actor(actor, *, default_label: str):
    if actor is None:
        return None, default_label
    if isinstance(actor, str):
        return None, actor
    if not getattr(actor, "is_authenticated", False):  # AnonymousUser
        return None, "anonymous"
    return actor, actor.get_username()


def _account_id(account, target):
    if account is not None:
        return account.pk if isinstance(account, models.Model) else account
    if target is None:
        return None
    if target._meta.label == "accounts.Account":
        return target.pk
    return getattr(target, "account_id", None)


def diff(old, new, fields: Iterable[str]) -> dict[str, list]:
    """`{field: [old, new]}` for each of `fields` whose value differs between `old` and `new`.

    Either side may be a model instance or a mapping (e.g. a snapshot taken with `snapshot()` before
    the change); a missing key reads as None. Foreign keys compare by id without a query. Values are
    made JSON-safe (Decimal, datetime and UUID become strings). Fields stored encrypted on either
    side are reported as changed without their values.
    """
    changes: dict[str, list] = {}
    for name in fields:
        before, after = _value(old, name), _value(new, name)
        if before == after:
            continue
        if _is_encrypted(old, name) or _is_encrypted(new, name):
            changes[name] = [REDACTED, REDACTED]
        else:
            changes[name] = [_jsonable(before), _jsonable(after)]
    return changes


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields` on `obj`, to `diff()` against after changing it."""
    return {name: _value(obj, name) for name in fields}


def _model_field(obj, name: str):
    if not isinstance(obj, models.Model):
        return None
    try:
        return obj._meta.get_field(name)
    except Exception:  # FieldDoesNotExist or a reverse relation name: read it as an attribute
        return None


def _value(obj, name: str):
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    field = _model_field(obj, name)
    if field is not None and getattr(field, "attname", None) and field.is_relation and field.many_to_one:
        return getattr(obj, field.attname)
    return getattr(obj, name, None)


def _is_encrypted(obj, name: str) -> bool:
    from creatorflow.fields import EncryptedTextField

    return isinstance(_model_field(obj, name), EncryptedTextField)


def _jsonable(value):
    if isinstance(value, models.Model):
        value = value.pk
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
