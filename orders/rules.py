"""Automation rules: the creator's ordered "when these conditions, do these actions" list.

A rule is `match` ("all" or "any"), `conditions` [{"field", "op", "value"}] and `actions`
[{"type", ...params}]. The vocabulary is CONDITION_FIELDS and ACTION_TYPES below; the dashboard's
rule editor and the API build their forms from them, and `rule_validate` is the one place that
decides what is valid (it also normalises: trims text, upper-cases countries, turns comma-separated
text into lists, stores money as a "0.00" string), so stored rules are always in canonical form.

Evaluation (`rules_evaluate`) goes down the account's active rules by position, like a person
working down the list: tags and hold reasons accumulate; for single-valued settings (priority,
carrier, package preset, auto-ship) a later matching rule replaces an earlier one; a rule with
`stop_processing` or a "stop" action ends the list after its own actions. Conditions on `priority`
and `tag` see what earlier rules already set. A rule without conditions matches every order.

Intake (orders/services) calls `rules_apply` and applies the outcome itself in its transaction;
`rules_rerun` is the dashboard's "re-run rules on these orders", which applies the outcome here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from accounts.models import Account
from creatorflow.audit.services import audit_log, diff, snapshot
from creatorflow.core.errors import DomainError, NotFound

from .lifecycle import OPEN_STATUSES, can_transition
from .models import AutomationRule, Order, OrderEvent, OrderItem, OrderStatus, PriorityLevel
from .priority import hours_left, is_express_delivery, queue_for

NUMBER_OPS = ("gt", "gte", "lt", "lte", "eq")
LEVELS = tuple(str(level) for level in PriorityLevel.values)
MAX_TEXT = 200
MAX_LIST = 500


@dataclass(frozen=True)
class ConditionField:
    """One condition field: `kinds` maps each allowed op to the kind of value it takes."""

    label: str
    kinds: dict[str, str]
    help: str = ""

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(self.kinds)


# value kinds: text, text_list, int, decimal, bool, level, level_list
CONDITION_FIELDS: dict[str, ConditionField] = {
    "sku_in": ConditionField("SKU", {"in": "text_list"}, "Any item's seller SKU is one of these."),
    "product_in": ConditionField("TikTok product", {"in": "text_list"}, "Any item's TikTok product id."),
    "quantity": ConditionField("Units", dict.fromkeys(NUMBER_OPS, "int"), "Total units in the order."),
    "total": ConditionField("Order total", dict.fromkeys(NUMBER_OPS, "decimal"), "In the order's currency."),
    "country": ConditionField("Country", {"eq": "text", "in": "text_list"}, "ISO code, e.g. US."),
    "state": ConditionField("State", {"eq": "text", "in": "text_list"}, "As TikTok gives it, e.g. CA."),
    "postal_prefix": ConditionField("Postal code", {"startswith": "text_list"}, "Starts with any of these."),
    "delivery_option": ConditionField("Delivery option", {"contains": "text"}, "Name contains (any case)."),
    "priority": ConditionField("Priority", {"eq": "level", "in": "level_list"}, "VIRAL, HIGH, MED or AUTO."),
    "weight_grams": ConditionField(
        "Parcel weight (g)", dict.fromkeys(NUMBER_OPS, "int"), "Sum of SKU weight × quantity."
    ),
    "tag": ConditionField("Tag", {"has": "text"}, "The order has this tag."),
    "sample_order": ConditionField("Sample order", {"is": "bool"}, "TikTok free-sample order."),
    "buyer_message_present": ConditionField("Buyer message", {"is": "bool"}, "The buyer left a message."),
}


@dataclass(frozen=True)
class ActionType:
    """One action: `params` maps each parameter to its kind; `required` must be present."""

    label: str
    params: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()


ACTION_TYPES: dict[str, ActionType] = {
    "hold": ActionType("Hold for review", {"reason": "text"}, ("reason",)),
    "add_tag": ActionType("Add tag", {"tag": "text"}, ("tag",)),
    "set_priority": ActionType("Set priority", {"level": "level"}, ("level",)),
    "prefer_carrier": ActionType("Prefer carrier", {"carrier": "text", "service": "text"}, ("carrier",)),
    "set_package_preset": ActionType("Package preset", {"preset": "text"}, ("preset",)),
    "auto_ship": ActionType("Auto-ship", {"value": "bool"}, ("value",)),
    "stop": ActionType("Stop processing further rules"),
}

RULE_FIELDS = ("name", "match", "conditions", "actions", "stop_processing", "is_active")


class RuleInvalid(DomainError):
    """The rule cannot be saved; `fields` maps "conditions.0.value" (etc.) to a message."""

    code = "invalid_rule"


@dataclass(frozen=True)
class RulesOutcome:
    hold_reason: str
    tags: list[str]
    priority_level: str | None
    carrier: str
    service: str
    package_preset: str
    auto_ship: bool
    matched_rule_ids: list[str]


NO_OUTCOME = RulesOutcome("", [], None, "", "", "", True, [])


# --- validation ---------------------------------------------------------------------------------


def rule_validate(*, match: str, conditions: list, actions: list) -> tuple[list, list]:
    """Normalised copies of `conditions` and `actions`, or RuleInvalid listing every problem."""
    errors: dict[str, str] = {}
    if match not in AutomationRule.Match.values:
        errors["match"] = 'Choose "all" or "any".'
    clean_conditions = _validate_conditions(conditions, errors)
    clean_actions = _validate_actions(actions, errors)
    if errors:
        raise RuleInvalid("This rule is not valid.", fields=errors)
    return clean_conditions, clean_actions


def _validate_conditions(conditions, errors: dict) -> list:
    if not isinstance(conditions, list):
        errors["conditions"] = "Give a list of conditions."
        return []
    clean = []
    for index, condition in enumerate(conditions):
        key = f"conditions.{index}"
        if not isinstance(condition, dict):
            errors[key] = "Each condition needs a field, an operator and a value."
            continue
        spec = CONDITION_FIELDS.get(condition.get("field"))
        if spec is None:
            errors[f"{key}.field"] = "Unknown field."
            continue
        op = condition.get("op") or spec.ops[0]
        if op not in spec.kinds:
            errors[f"{key}.op"] = f"Use one of: {', '.join(spec.ops)}."
            continue
        try:
            value = _clean_value(spec.kinds[op], condition.get("value"))
        except ValueError as exc:
            errors[f"{key}.value"] = str(exc)
            continue
        if condition["field"] == "country":
            value = [v.upper() for v in value] if isinstance(value, list) else value.upper()
        clean.append({"field": condition["field"], "op": op, "value": value})
    return clean


def _validate_actions(actions, errors: dict) -> list:
    if not isinstance(actions, list) or not actions:
        errors["actions"] = "Add at least one action."
        return []
    clean = []
    for index, action in enumerate(actions):
        key = f"actions.{index}"
        spec = ACTION_TYPES.get(action.get("type")) if isinstance(action, dict) else None
        if spec is None:
            errors[f"{key}.type"] = "Unknown action."
            continue
        cleaned = {"type": action["type"]}
        for param, kind in spec.params.items():
            raw = action.get(param)
            if raw in (None, "") and param not in spec.required:
                cleaned[param] = ""
                continue
            try:
                cleaned[param] = _clean_value(kind, raw)
            except ValueError as exc:
                errors[f"{key}.{param}"] = str(exc)
        clean.append(cleaned)
    return clean


def _clean_value(kind: str, raw):
    """The canonical JSON value of `raw` for `kind`; ValueError with the message a creator sees."""
    if kind == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("Enter a value.")
        if len(raw.strip()) > MAX_TEXT:
            raise ValueError(f"At most {MAX_TEXT} characters.")
        return raw.strip()
    if kind in ("text_list", "level_list"):
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("Enter a list of values.")
        values = list(dict.fromkeys(i.strip() for i in items if i.strip()))
        if not values:
            raise ValueError("Enter at least one value.")
        if len(values) > MAX_LIST:
            raise ValueError(f"At most {MAX_LIST} values.")
        if kind == "level_list":
            return [_clean_value("level", v) for v in values]
        return values
    if kind == "level":
        level = raw.strip().upper() if isinstance(raw, str) else raw
        if level not in LEVELS:
            raise ValueError(f"Use one of: {', '.join(LEVELS)}.")
        return level
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueError("Enter a whole number.")
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError("Enter a whole number.") from None
        if value < 0:
            raise ValueError("Enter zero or more.")
        return value
    if kind == "decimal":
        if isinstance(raw, bool) or not isinstance(raw, int | str | Decimal | float):
            raise ValueError("Enter an amount.")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("Enter an amount.") from None
        if not value.is_finite() or value < 0:
            raise ValueError("Enter an amount of zero or more.")
        return str(value.quantize(Decimal("0.01")))
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, str) else None
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError("Choose true or false.")
    raise AssertionError(f"unknown value kind {kind}")


# --- evaluation ---------------------------------------------------------------------------------


def rules_evaluate(*, order: Order, rules=None) -> RulesOutcome:
    """What the rules decide for `order`; reads the order, its items and their SKUs, writes nothing.

    `rules` defaults to the account's active rules by position (one query); items come from a
    prefetch of `items` when the caller made one, else one query with their SKUs.
    """
    outcome, _ = _evaluate(order, _active_rules(order.account_id) if rules is None else list(rules))
    return outcome


def rules_apply(*, order: Order, actor=None) -> RulesOutcome:
    """The rules' outcome for intake. Writes nothing: intake applies it in its own transaction."""
    return rules_evaluate(order=order)


def rules_dry_run(*, account, match: str, conditions: list, actions: list, limit: int = 200) -> list[Order]:
    """Which of the account's latest `limit` orders this (unsaved) rule would match.

    Validates first (RuleInvalid as for saving). Two queries whatever `limit`: the orders, and their
    items with SKUs. Matches on each order as it is now (its current priority and tags).
    """
    conditions, actions = rule_validate(match=match, conditions=conditions, actions=actions)
    rule = AutomationRule(account=account, match=match, conditions=conditions, actions=actions)
    orders = list(
        Order.objects.filter(account=account)
        .order_by("-created_at", "-pk")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("sku")))[:limit]
    )
    return [order for order in orders if _matches(rule, _Facts(order), order.priority_level, order.tags)]


def _active_rules(account_id) -> list[AutomationRule]:
    return list(
        AutomationRule.objects.filter(account_id=account_id, is_active=True).order_by(
            "position", "created_at"
        )
    )


def _evaluate(order: Order, rules: list[AutomationRule]) -> tuple[RulesOutcome, set[str]]:
    """The outcome and the names of the settings some matching rule set (so re-runs touch only those)."""
    if not rules:
        return NO_OUTCOME, set()
    facts = _Facts(order)
    holds: list[str] = []
    tags: list[str] = []
    state = {"priority_level": None, "carrier": "", "service": "", "package_preset": "", "auto_ship": True}
    touched: set[str] = set()
    matched: list[str] = []
    for rule in rules:
        level = state["priority_level"] or order.priority_level
        if not _matches(rule, facts, level, [*order.tags, *tags]):
            continue
        matched.append(str(rule.id))
        stop = rule.stop_processing
        for action in rule.actions:
            kind = action.get("type")
            if kind == "hold":
                if action["reason"] not in holds:
                    holds.append(action["reason"])
            elif kind == "add_tag":
                if action["tag"] not in tags:
                    tags.append(action["tag"])
            elif kind == "set_priority":
                state["priority_level"] = action["level"]
            elif kind == "prefer_carrier":
                state["carrier"], state["service"] = action["carrier"], action.get("service") or ""
            elif kind == "set_package_preset":
                state["package_preset"] = action["preset"]
            elif kind == "auto_ship":
                state["auto_ship"] = bool(action["value"])
            elif kind == "stop":
                stop = True
            touched.add(kind)
        if stop:
            break
    outcome = RulesOutcome(hold_reason="; ".join(holds), tags=tags, matched_rule_ids=matched, **state)
    return outcome, touched


class _Facts:
    """What conditions read from an order, computed once per order (items and SKUs loaded once)."""

    def __init__(self, order: Order):
        if "items" in getattr(order, "_prefetched_objects_cache", {}):
            items = list(order.items.all())
        else:
            items = list(order.items.select_related("sku")) if order.pk else []
        self.order = order
        self.seller_skus = {i.seller_sku or (i.sku.seller_sku if i.sku_id else "") for i in items} - {""}
        self.product_ids = {i.tiktok_product_id for i in items} - {""}
        self.quantity = sum(i.quantity for i in items)
        self.weight = sum((i.sku.weight_grams if i.sku_id else 0) * i.quantity for i in items)


def _matches(rule: AutomationRule, facts: _Facts, level: str, tags: list[str]) -> bool:
    if not rule.conditions:
        return True
    results = (_condition(c, facts, level, tags) for c in rule.conditions)
    return any(results) if rule.match == AutomationRule.Match.ANY else all(results)


def _condition(condition: dict, facts: _Facts, level: str, tags: list[str]) -> bool:
    name, op, value = condition["field"], condition["op"], condition["value"]
    order = facts.order
    if name == "sku_in":
        return bool(facts.seller_skus & set(value))
    if name == "product_in":
        return bool(facts.product_ids & set(value))
    if name == "quantity":
        return _compare(facts.quantity, op, int(value))
    if name == "total":
        return _compare(order.total, op, Decimal(value))
    if name == "weight_grams":
        return _compare(facts.weight, op, int(value))
    if name in ("country", "state"):
        actual = (getattr(order, name) or "").strip().upper()
        wanted = [v.upper() for v in value] if op == "in" else [value.upper()]
        return actual in wanted
    if name == "postal_prefix":
        postal = (order.postal_code or "").strip().upper()
        return any(postal.startswith(prefix.upper()) for prefix in value)
    if name == "delivery_option":
        return value.lower() in (order.delivery_option_name or "").lower()
    if name == "priority":
        return level in (value if op == "in" else [value])
    if name == "tag":
        return value in tags
    if name == "sample_order":
        return bool(order.is_sample) is value
    if name == "buyer_message_present":
        return bool((order.buyer_message or "").strip()) is value
    return False


def _compare(actual, op: str, expected) -> bool:
    return {
        "gt": actual > expected,
        "gte": actual >= expected,
        "lt": actual < expected,
        "lte": actual <= expected,
        "eq": actual == expected,
    }[op]


# --- managing rules -----------------------------------------------------------------------------


def rule_create(
    *, account, name: str, match: str, conditions: list, actions: list, stop_processing: bool = False, actor
) -> AutomationRule:
    """Validate and append a rule at the end of the account's list; audit-logged.

    Locks the account row so two rules created at once get distinct positions.
    """
    name = _clean_name(name)
    conditions, actions = rule_validate(match=match, conditions=conditions, actions=actions)
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()
        last = AutomationRule.objects.filter(account=account).aggregate(last=Max("position"))["last"]
        rule = AutomationRule.objects.create(
            account=account,
            name=name,
            match=match,
            conditions=conditions,
            actions=actions,
            stop_processing=bool(stop_processing),
            position=0 if last is None else last + 1,
        )
        audit_log(
            actor=actor,
            action="automation_rule.create",
            target=rule,
            changes={f: [None, v] for f, v in snapshot(rule, (*RULE_FIELDS, "position")).items()},
        )
    return rule


def rule_update(*, rule: AutomationRule, actor, **fields) -> AutomationRule:
    """Change any of name, match, conditions, actions, stop_processing, is_active; re-validated whole."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise RuleInvalid("This rule is not valid.", fields={f: "Unknown field." for f in sorted(unknown)})
    match = fields.get("match", rule.match)
    conditions, actions = rule_validate(
        match=match,
        conditions=fields.get("conditions", rule.conditions),
        actions=fields.get("actions", rule.actions),
    )
    with transaction.atomic():
        locked = AutomationRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(locked, RULE_FIELDS)
        locked.match, locked.conditions, locked.actions = match, conditions, actions
        if "name" in fields:
            locked.name = _clean_name(fields["name"])
        for flag in ("stop_processing", "is_active"):
            if flag in fields:
                setattr(locked, flag, bool(fields[flag]))
        changes = diff(before, locked, RULE_FIELDS)
        if changes:
            locked.save()
            audit_log(actor=actor, action="automation_rule.update", target=locked, changes=changes)
    return locked


def rule_delete(*, rule: AutomationRule, actor) -> None:
    with transaction.atomic():
        audit_log(
            actor=actor,
            action="automation_rule.delete",
            target=rule,
            changes={f: [v, None] for f, v in snapshot(rule, RULE_FIELDS).items()},
        )
        AutomationRule.objects.filter(pk=rule.pk).delete()


def rules_reorder(*, account, rule_ids: list, actor) -> None:
    """Put the listed rules first, in that order; the account's other rules follow as they were.

    An id that is not one of the account's rules is NotFound (another tenant's id looks missing).
    """
    wanted = [str(rule_id) for rule_id in rule_ids]
    with transaction.atomic():
        rules = list(
            AutomationRule.objects.select_for_update()
            .filter(account=account)
            .order_by("position", "created_at")
        )
        by_id = {str(rule.id): rule for rule in rules}
        missing = [rule_id for rule_id in wanted if rule_id not in by_id]
        if missing:
            raise NotFound("Rule not found.", fields={"rule_ids": f"Unknown rule: {missing[0]}"})
        ordered = [by_id[rule_id] for rule_id in dict.fromkeys(wanted)]
        ordered += [rule for rule in rules if str(rule.id) not in set(wanted)]
        before = [str(rule.id) for rule in rules]
        for position, rule in enumerate(ordered):
            rule.position = position
        AutomationRule.objects.bulk_update(ordered, ["position"])
        after = [str(rule.id) for rule in ordered]
        if before != after:
            audit_log(
                actor=actor,
                action="automation_rule.reorder",
                account=account,
                changes={"order": [before, after]},
            )


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RuleInvalid("This rule is not valid.", fields={"name": "Give the rule a name."})
    if len(name.strip()) > 120:
        raise RuleInvalid("This rule is not valid.", fields={"name": "At most 120 characters."})
    return name.strip()


# --- re-running rules on existing orders --------------------------------------------------------


def rules_rerun(*, orders, actor) -> int:
    """Re-run the account's rules on these orders (open ones only); returns how many changed.

    For each order, in its own short transaction under the order's row lock: tags merged in, carrier,
    service, package preset and auto-ship set where a matching rule set them, the priority level set
    (and pinned) unless a person or rule already pinned it, a hold moves the order to `held` through
    the lifecycle's `order_transition` when the lifecycle allows it from the order's status, and a
    "rules" timeline event.
    Idempotent: a second run finds nothing new to merge (it still records the re-run on the timeline).
    """
    ids = [order.pk for order in orders]
    changed = 0
    rules_by_account: dict = {}
    items = Prefetch("items", queryset=OrderItem.objects.select_related("sku"))
    for order_id in ids:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(of=("self",))
                .filter(pk=order_id, status__in=OPEN_STATUSES)
                .prefetch_related(items)
                .first()
            )
            if order is None:
                continue
            if order.account_id not in rules_by_account:
                rules_by_account[order.account_id] = _active_rules(order.account_id)
            outcome, touched = _evaluate(order, rules_by_account[order.account_id])
            fields = _apply(order, outcome, touched)
            if "priority_level" in fields:
                order.processing_queue = queue_for(
                    level=order.priority_level,
                    express_delivery=is_express_delivery(order),
                    hours=hours_left(order, timezone.now()),
                )
                fields.append("processing_queue")
            if fields:
                order.save(update_fields=[*fields, "updated_at"])
            moved = False
            if (
                outcome.hold_reason
                and order.status != OrderStatus.HELD
                and can_transition(order.status, OrderStatus.HELD)
            ):
                # the lifecycle service (orders.services, intake's module) is imported late on purpose;
                # it nests in this transaction as a savepoint and writes the "status" event
                from .services.lifecycle import order_transition

                order_transition(order=order, to=OrderStatus.HELD, actor=actor, reason=outcome.hold_reason)
                moved = True
            OrderEvent.objects.create(
                order=order,
                type="rules",
                message=_rerun_message(outcome),
                data={"matched_rule_ids": outcome.matched_rule_ids, "changed": fields},
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label="" if getattr(actor, "pk", None) else str(actor or "system"),
            )
        changed += bool(fields or moved)
    return changed


def _apply(order: Order, outcome: RulesOutcome, touched: set[str]) -> list[str]:
    """Set what the outcome decided on `order` (unsaved); returns the names of fields that changed."""
    fields: list[str] = []

    def put(name, value):
        if getattr(order, name) != value:
            setattr(order, name, value)
            fields.append(name)

    new_tags = [tag for tag in outcome.tags if tag not in order.tags]
    if new_tags:
        put("tags", [*order.tags, *new_tags])
    if outcome.hold_reason:
        put("hold_reason", outcome.hold_reason[:500])
    if outcome.priority_level and not order.priority_pinned:
        put("priority_level", outcome.priority_level)
        put("priority_pinned", True)
    if "prefer_carrier" in touched:
        put("preferred_carrier", outcome.carrier)
        put("preferred_service", outcome.service)
    if "set_package_preset" in touched:
        put("package_preset", outcome.package_preset)
    if "auto_ship" in touched:
        put("auto_ship", outcome.auto_ship)
    return fields


def _rerun_message(outcome: RulesOutcome) -> str:
    if not outcome.matched_rule_ids:
        return "Rules re-run: no rule matched."
    count = len(outcome.matched_rule_ids)
    return f"Rules re-run: {count} rule{'s' if count != 1 else ''} matched."
