"""The automation rule editor: the ordered list (move, toggle, delete), the create/edit form with
condition and action rows added by htmx, inline errors from `RuleInvalid.fields`, and the dry run.

What a rule may say and how it runs live in `orders.rules`; this module parses and renders.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.facade import account_required, get_for_account_or_404, role_required
from creatorflow.core.errors import DomainError

from . import rules
from .forms import RuleForm, rule_rows
from .models import AutomationRule

DRY_RUN_LIMIT = 200
OP_LABELS = (
    ("eq", "is"),
    ("ne", "is not"),
    ("gt", "more than"),
    ("gte", "at least"),
    ("lt", "less than"),
    ("lte", "at most"),
    ("in", "is one of"),
    ("contains", "contains"),
    ("startswith", "starts with"),
    ("has", "has"),
    ("is", "is (yes/no)"),
)


def _choices(vocabulary) -> list[tuple[str, str]]:
    """(value, label) pairs from a vocabulary given as a dict, pairs or plain names."""
    if isinstance(vocabulary, dict):
        pairs = []
        for key, spec in vocabulary.items():
            label = spec.get("label") if isinstance(spec, dict) else getattr(spec, "label", None)
            label = spec if isinstance(spec, str) else label
            pairs.append((key, label or key.replace("_", " ").capitalize()))
        return pairs
    pairs = []
    for entry in vocabulary:
        if isinstance(entry, list | tuple):
            pairs.append((entry[0], entry[1] if len(entry) > 1 else entry[0]))
        else:
            pairs.append((entry, str(entry).replace("_", " ").capitalize()))
    return pairs


def _vocab() -> dict:
    used = {op for spec in rules.CONDITION_FIELDS.values() for op in getattr(spec, "ops", ())}
    labels = dict(OP_LABELS)
    ops = [(op, label) for op, label in OP_LABELS if op in used] + [
        (op, op) for op in sorted(used - set(labels))
    ]
    return {
        "field_choices": _choices(rules.CONDITION_FIELDS),
        "op_choices": ops or list(OP_LABELS),
        "action_choices": _choices(rules.ACTION_TYPES),
    }


def _action_params(action_type: str) -> list[str]:
    """The parameter names of an action in `ACTION_TYPES` (["value"] when it names none)."""
    spec = rules.ACTION_TYPES.get(action_type)
    params = getattr(spec, "params", None)
    if spec is not None and params is not None:
        return list(params)
    return ["value"]


def _to_rule_actions(actions: list[dict]) -> list[dict]:
    """Editor rows to rule actions: one text box per action; an action with several parameters
    (prefer carrier: carrier, service) takes them comma-separated in that order."""
    out = []
    for row in actions:
        action = {"type": row["type"]}
        params = _action_params(row["type"])
        if params:
            values = [row["value"]] if len(params) == 1 else [v.strip() for v in row["value"].split(",")]
            for param, value in zip(params, values, strict=False):
                if value != "":
                    action[param] = value
        out.append(action)
    return out


def _from_rule_actions(actions: list[dict]) -> list[dict]:
    rows = []
    for action in actions or []:
        params = _action_params(action.get("type", ""))
        values = [_text(action.get(param)) for param in params]
        rows.append({"type": action.get("type", ""), "value": ", ".join(v for v in values if v)})
    return rows


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _row_errors(fields: dict, prefix: str, count: int) -> list[list[str]]:
    errors = [[] for _ in range(count)]
    for key, messages_ in (fields or {}).items():
        parts = str(key).split(".")
        if parts[0] == prefix and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < count:
            errors[int(parts[1])] += [
                str(m) for m in (messages_ if isinstance(messages_, list | tuple) else [messages_])
            ]
    return errors


def _other_errors(fields: dict, *, skip=()) -> list[str]:
    out = []
    for key, messages_ in (fields or {}).items():
        head = str(key).split(".")[0]
        if head in skip:
            continue
        if head in ("conditions", "actions") and "." in str(key):
            continue
        for message in messages_ if isinstance(messages_, list | tuple) else [messages_]:
            out.append(str(message) if head in ("conditions", "actions", "__all__") else f"{key}: {message}")
    return out


def _editor_context(request, *, rule, form, conditions, actions, error_fields=None, extra_errors=()) -> dict:
    condition_errors = _row_errors(error_fields, "conditions", len(conditions))
    action_errors = _row_errors(error_fields, "actions", len(actions))
    return {
        "rule": rule,
        "form": form,
        "conditions": [
            dict(row, errors=errs) for row, errs in zip(conditions, condition_errors, strict=True)
        ],
        "actions": [dict(row, errors=errs) for row, errs in zip(actions, action_errors, strict=True)],
        "rule_errors": list(extra_errors) + _other_errors(error_fields, skip=tuple(form.fields)),
        "can_edit": request.membership.has_role("member"),
        "dry_run_limit": DRY_RUN_LIMIT,
        **_vocab(),
    }


# --- list -------------------------------------------------------------------------------------


def _rule_or_404(request, rule_id) -> AutomationRule:
    return get_for_account_or_404(AutomationRule, request.account, pk=rule_id)


def _list_context(request) -> dict:
    account_rules = list(
        AutomationRule.objects.filter(account=request.account).order_by("position", "created_at")
    )
    return {"rules": account_rules, "can_edit": request.membership.has_role("member")}


@require_GET
@account_required
def rule_list(request):
    return render(request, "orders/rules.html", _list_context(request))


def _list_response(request, notice: str = "", error: str = ""):
    if request.htmx:
        context = {**_list_context(request), "notice": notice, "list_error": error}
        return render(request, "orders/rules.html#rule-list", context)
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect("orders:rules")


@require_POST
@role_required("member")
def rule_move(request, rule_id):
    """Swap the rule with its neighbour above or below and save the new order."""
    rule = _rule_or_404(request, rule_id)
    ids = list(
        AutomationRule.objects.filter(account=request.account)
        .order_by("position", "created_at")
        .values_list("pk", flat=True)
    )
    index = ids.index(rule.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        try:
            rules.rules_reorder(account=request.account, rule_ids=ids, actor=request.user)
        except DomainError as error:
            return _list_response(request, error=error.message)
    return _list_response(request)


@require_POST
@role_required("member")
def rule_toggle(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    try:
        rules.rule_update(rule=rule, actor=request.user, is_active=not rule.is_active)
    except DomainError as error:
        return _list_response(request, error=error.message)
    return _list_response(request, notice=f"“{rule.name}” {'paused' if rule.is_active else 'switched on'}.")


@require_POST
@role_required("member")
def rule_delete(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    name = rule.name
    try:
        rules.rule_delete(rule=rule, actor=request.user)
    except DomainError as error:
        return _list_response(request, error=error.message)
    return _list_response(request, notice=f"Rule “{name}” deleted.")


# --- the editor -------------------------------------------------------------------------------


def _save(request, rule: AutomationRule | None):
    form = RuleForm(request.POST)
    conditions, actions = rule_rows(request.POST)
    if not form.is_valid():
        context = _editor_context(request, rule=rule, form=form, conditions=conditions, actions=actions)
        return _editor_response(request, context)
    data = form.cleaned_data
    fields = {
        "name": data["name"],
        "match": data["match"],
        "conditions": conditions,
        "actions": _to_rule_actions(actions),
        "stop_processing": data["stop_processing"],
    }
    try:
        if rule is None:
            rule = rules.rule_create(account=request.account, actor=request.user, **fields)
            if not data["is_active"]:
                rules.rule_update(rule=rule, actor=request.user, is_active=False)
            notice = f"Rule “{rule.name}” created."
        else:
            rules.rule_update(rule=rule, actor=request.user, is_active=data["is_active"], **fields)
            notice = f"Rule “{rule.name}” saved."
    except DomainError as error:
        form.add_domain_error(error)
        context = _editor_context(
            request, rule=rule, form=form, conditions=conditions, actions=actions, error_fields=error.fields
        )
        return _editor_response(request, context)
    messages.success(request, notice)
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect("/orders/rules/")
    return redirect("orders:rules")


def _editor_response(request, context):
    if request.htmx:
        return render(request, "orders/rule_form.html#editor", context)
    return render(request, "orders/rule_form.html", context)


@require_http_methods(["GET", "POST"])
@account_required
def rule_new(request):
    if request.method == "POST":
        if not request.membership.has_role("member"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("This needs the member role.")
        return _save(request, None)
    context = _editor_context(
        request,
        rule=None,
        form=RuleForm(),
        conditions=[{"field": "", "op": "", "value": ""}],
        actions=[{"type": "", "value": ""}],
    )
    return render(request, "orders/rule_form.html", context)


@require_http_methods(["GET", "POST"])
@account_required
def rule_edit(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    if request.method == "POST":
        if not request.membership.has_role("member"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("This needs the member role.")
        return _save(request, rule)
    form = RuleForm(
        initial={
            "name": rule.name,
            "match": rule.match,
            "stop_processing": rule.stop_processing,
            "is_active": rule.is_active,
        }
    )
    conditions = [
        {"field": c.get("field", ""), "op": c.get("op", ""), "value": _text(c.get("value"))}
        for c in rule.conditions or []
    ]
    context = _editor_context(
        request, rule=rule, form=form, conditions=conditions, actions=_from_rule_actions(rule.actions)
    )
    return render(request, "orders/rule_form.html", context)


@require_GET
@role_required("member")
def rule_row(request):
    """One empty condition row (?kind=condition) or action row (?kind=action) for the editor."""
    kind = "action" if request.GET.get("kind") == "action" else "condition"
    row = (
        {"type": "", "value": "", "errors": []}
        if kind == "action"
        else {"field": "", "op": "", "value": "", "errors": []}
    )
    template = (
        "orders/rule_form.html#action-row" if kind == "action" else "orders/rule_form.html#condition-row"
    )
    return render(request, template, {"row": row, "can_edit": True, **_vocab()})


@require_POST
@role_required("member")
def rule_dry_run(request):
    """Which of the account's last 200 orders the rule in the editor (saved or not) would match."""
    data: QueryDict = request.POST
    conditions, actions = rule_rows(data)
    match = (
        data.get("match") if data.get("match") in AutomationRule.Match.values else AutomationRule.Match.ALL
    )
    context = {"dry_run_limit": DRY_RUN_LIMIT}
    try:
        matched = rules.rules_dry_run(
            account=request.account,
            match=match,
            conditions=conditions,
            actions=_to_rule_actions(actions),
            limit=DRY_RUN_LIMIT,
        )
    except DomainError as error:
        context["dry_run_error"] = error.message
        context["dry_run_fields"] = [
            f"{key}: {', '.join(str(m) for m in (msgs if isinstance(msgs, list | tuple) else [msgs]))}"
            for key, msgs in (error.fields or {}).items()
        ]
    else:
        context["matched"] = matched
        context["matched_count"] = len(matched)
    return render(request, "orders/rule_form.html#dry-run", context)
