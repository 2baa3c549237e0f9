"""Automation rules: every condition (true and false), every action, all/any, stop, validation,
dry run and re-running rules on existing orders."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AccountFactory, UserFactory
from creatorflow.audit.models import AuditLogEntry
from creatorflow.core.errors import NotFound
from inventory.tests.factories import stocked_sku
from orders.models import AutomationRule, OrderEvent, OrderStatus
from orders.rules import (
    ACTION_TYPES,
    CONDITION_FIELDS,
    RuleInvalid,
    RulesOutcome,
    rule_create,
    rule_delete,
    rule_update,
    rule_validate,
    rules_apply,
    rules_dry_run,
    rules_evaluate,
    rules_reorder,
    rules_rerun,
)
from orders.tests.order_rows import order_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory()


@pytest.fixture
def actor():
    return UserFactory()


def rule(account, conditions, actions=({"type": "add_tag", "tag": "hit"},), match="all", **fields):
    clean_conditions, clean_actions = rule_validate(
        match=match, conditions=list(conditions), actions=list(actions)
    )
    position = AutomationRule.objects.filter(account=account).count()
    return AutomationRule.objects.create(
        account=account,
        name=f"rule {position}",
        position=position,
        match=match,
        conditions=clean_conditions,
        actions=clean_actions,
        **fields,
    )


@pytest.fixture
def sample(account):
    """An order to CA 90012: 2 × GL-LO-CLR (150 g) + 1 × GL-SS-30 (400 g), $48.50, tagged vip."""
    clear = stocked_sku(account=account, seller_sku="GL-LO-CLR", weight_grams=150)
    serum = stocked_sku(account=account, seller_sku="GL-SS-30", weight_grams=400)
    return order_row(
        account,
        items=[(clear, 2), (serum, 1)],
        total=Decimal("48.50"),
        country="US",
        state="CA",
        postal_code="90012",
        delivery_option_name="Standard Shipping",
        priority_level="MED",
        tags=["vip"],
        is_sample=False,
        buyer_message="Please gift wrap",
    )


CONDITION_CASES = [
    ("sku_in", "in", ["GL-SS-30", "OTHER"], ["NOPE"]),
    ("quantity", "eq", 3, 2),
    ("quantity", "gt", 2, 3),
    ("quantity", "gte", 3, 4),
    ("quantity", "lt", 4, 3),
    ("quantity", "lte", 3, 2),
    ("total", "gte", "48.50", "48.51"),
    ("total", "lt", "50", "48.50"),
    ("country", "eq", "us", "GB"),
    ("country", "in", ["GB", "US"], ["GB", "CA"]),
    ("state", "eq", "CA", "NY"),
    ("state", "in", "NY, CA", "NY, TX"),
    ("postal_prefix", "startswith", ["900", "10"], ["10", "94"]),
    ("delivery_option", "contains", "standard", "express"),
    ("priority", "eq", "MED", "HIGH"),
    ("priority", "in", ["HIGH", "MED"], ["VIRAL", "AUTO"]),
    ("weight_grams", "eq", 700, 699),
    ("weight_grams", "gt", 600, 700),
    ("tag", "has", "vip", "wholesale"),
    ("sample_order", "is", False, True),
    ("buyer_message_present", "is", "true", "false"),
]


@pytest.mark.parametrize(("field", "op", "true_value", "false_value"), CONDITION_CASES)
def test_each_condition_matches_and_does_not(account, sample, field, op, true_value, false_value):
    # given two rules on the same field, one that fits the sample order and one that does not
    hit = rule(account, [{"field": field, "op": op, "value": true_value}])
    miss = rule(account, [{"field": field, "op": op, "value": false_value}])
    # when
    outcome = rules_evaluate(order=sample, rules=[hit, miss])
    # then
    assert outcome.matched_rule_ids == [str(hit.id)]


def test_product_in_matches_tiktok_product_ids(account, sample):
    product_id = sample.items.first().tiktok_product_id
    hit = rule(account, [{"field": "product_in", "value": [product_id]}])
    miss = rule(account, [{"field": "product_in", "value": "1729"}])
    assert rules_evaluate(order=sample, rules=[hit, miss]).matched_rule_ids == [str(hit.id)]


def test_every_condition_field_is_covered():
    assert {case[0] for case in CONDITION_CASES} | {"product_in"} == set(CONDITION_FIELDS)


def test_every_action_applies(account, sample):
    # given one rule with every action but stop
    rule(
        account,
        [],
        [
            {"type": "hold", "reason": "Gift wrap requested"},
            {"type": "add_tag", "tag": "gift"},
            {"type": "set_priority", "level": "high"},
            {"type": "prefer_carrier", "carrier": "usps", "service": "Priority"},
            {"type": "set_package_preset", "preset": "Padded mailer"},
            {"type": "auto_ship", "value": False},
        ],
    )
    # when intake asks
    outcome = rules_apply(order=sample)
    # then
    assert outcome == RulesOutcome(
        hold_reason="Gift wrap requested",
        tags=["gift"],
        priority_level="HIGH",
        carrier="usps",
        service="Priority",
        package_preset="Padded mailer",
        auto_ship=False,
        matched_rule_ids=[str(AutomationRule.objects.get().id)],
    )
    assert set(ACTION_TYPES) == {
        "hold",
        "add_tag",
        "set_priority",
        "prefer_carrier",
        "set_package_preset",
        "auto_ship",
        "stop",
    }


def test_no_rules_gives_the_empty_outcome(sample):
    assert rules_evaluate(order=sample) == RulesOutcome("", [], None, "", "", "", True, [])


def test_inactive_rules_are_ignored_and_position_orders_them(account, sample):
    # given two rules setting the carrier (the later one wins) and an inactive one
    rule(account, [], [{"type": "prefer_carrier", "carrier": "usps"}])
    rule(account, [], [{"type": "prefer_carrier", "carrier": "ups"}])
    rule(account, [], [{"type": "prefer_carrier", "carrier": "fedex"}], is_active=False)
    # when / then
    assert rules_evaluate(order=sample).carrier == "ups"


def test_all_needs_every_condition_and_any_needs_one(account, sample):
    conditions = [{"field": "country", "value": "US"}, {"field": "state", "value": "NY"}]
    all_rule = rule(account, conditions, match="all")
    any_rule = rule(account, conditions, match="any")
    assert rules_evaluate(order=sample, rules=[all_rule, any_rule]).matched_rule_ids == [str(any_rule.id)]


def test_stop_processing_and_stop_action_end_the_list(account, sample):
    # given a stopping rule between two tagging rules
    first = rule(account, [], [{"type": "add_tag", "tag": "one"}], stop_processing=True)
    rule(account, [], [{"type": "add_tag", "tag": "two"}])
    # when / then
    assert rules_evaluate(order=sample).tags == ["one"]
    first.stop_processing = False
    first.actions = [{"type": "add_tag", "tag": "one"}, {"type": "stop"}]
    first.save()
    assert rules_evaluate(order=sample).tags == ["one"]


def test_later_conditions_see_what_earlier_rules_set(account, sample):
    rule(account, [], [{"type": "add_tag", "tag": "fragile"}, {"type": "set_priority", "level": "HIGH"}])
    second = rule(account, [{"field": "tag", "value": "fragile"}, {"field": "priority", "value": "HIGH"}])
    assert str(second.id) in rules_evaluate(order=sample).matched_rule_ids


def test_hold_reasons_accumulate(account, sample):
    rule(account, [], [{"type": "hold", "reason": "Check address"}])
    rule(account, [], [{"type": "hold", "reason": "Gift wrap"}])
    assert rules_evaluate(order=sample).hold_reason == "Check address; Gift wrap"


def test_validation_normalises():
    conditions, actions = rule_validate(
        match="any",
        conditions=[
            {"field": "country", "op": "in", "value": " us, gb "},
            {"field": "total", "op": "gte", "value": 100},
            {"field": "sample_order", "value": "yes"},
        ],
        actions=[{"type": "prefer_carrier", "carrier": " usps "}, {"type": "set_priority", "level": "viral"}],
    )
    assert conditions == [
        {"field": "country", "op": "in", "value": ["US", "GB"]},
        {"field": "total", "op": "gte", "value": "100.00"},
        {"field": "sample_order", "op": "is", "value": True},
    ]
    assert actions == [
        {"type": "prefer_carrier", "carrier": "usps", "service": ""},
        {"type": "set_priority", "level": "VIRAL"},
    ]


def test_validation_reports_every_problem_by_field():
    # when
    with pytest.raises(RuleInvalid) as caught:
        rule_validate(
            match="some",
            conditions=[
                {"field": "colour", "value": "red"},
                {"field": "quantity", "op": "contains", "value": 1},
                {"field": "total", "op": "gt", "value": "lots"},
                {"field": "priority", "value": "URGENT"},
                {"field": "sample_order", "value": "maybe"},
            ],
            actions=[{"type": "launch"}, {"type": "hold"}, {"type": "add_tag", "tag": "  "}],
        )
    # then
    assert caught.value.code == "invalid_rule"
    assert set(caught.value.fields) == {
        "match",
        "conditions.0.field",
        "conditions.1.op",
        "conditions.2.value",
        "conditions.3.value",
        "conditions.4.value",
        "actions.0.type",
        "actions.1.reason",
        "actions.2.tag",
    }


def test_a_rule_needs_an_action():
    with pytest.raises(RuleInvalid) as caught:
        rule_validate(match="all", conditions=[], actions=[])
    assert caught.value.fields == {"actions": "Add at least one action."}


def test_dry_run_over_the_latest_orders_in_constant_queries(account):
    # given 12 orders, every third one to NY, and an older NY order outside the window
    sku = stocked_sku(account=account, weight_grams=100)
    old = order_row(account, items=[(sku, 1)], state="NY")
    orders = [order_row(account, items=[(sku, 2)], state="NY" if i % 3 == 0 else "CA") for i in range(12)]
    conditions = [{"field": "state", "value": "NY"}, {"field": "weight_grams", "op": "gte", "value": 200}]
    actions = [{"type": "hold", "reason": "NY"}]

    # when
    with CaptureQueriesContext(connection) as small:
        rules_dry_run(account=account, match="all", conditions=conditions, actions=actions, limit=3)
    with CaptureQueriesContext(connection) as large:
        matched = rules_dry_run(
            account=account, match="all", conditions=conditions, actions=actions, limit=12
        )

    # then
    assert {o.pk for o in matched} == {o.pk for i, o in enumerate(orders) if i % 3 == 0}
    assert old not in matched
    assert len(small) == len(large) == 2


def test_dry_run_validates(account):
    with pytest.raises(RuleInvalid):
        rules_dry_run(
            account=account, match="all", conditions=[{"field": "nope"}], actions=[{"type": "stop"}]
        )


def test_create_update_reorder_delete_are_audited(account, actor):
    # given
    first = rule_create(
        account=account,
        name="NY hold",
        match="all",
        conditions=[{"field": "state", "value": "NY"}],
        actions=[{"type": "hold", "reason": "NY"}],
        actor=actor,
    )
    second = rule_create(
        account=account,
        name=" Tag big ",
        match="any",
        conditions=[],
        actions=[{"type": "add_tag", "tag": "big"}],
        actor=actor,
    )
    assert (first.position, second.position, second.name) == (0, 1, "Tag big")

    # when
    rule_update(rule=first, actor=actor, is_active=False, conditions=[{"field": "state", "value": "NJ"}])
    rules_reorder(account=account, rule_ids=[second.id], actor=actor)
    rule_delete(rule=second, actor=actor)

    # then
    first.refresh_from_db()
    assert (first.is_active, first.conditions, first.position) == (
        False,
        [{"field": "state", "op": "eq", "value": "NJ"}],
        1,
    )
    assert not AutomationRule.objects.filter(pk=second.pk).exists()
    actions = list(
        AuditLogEntry.objects.filter(account_id=account.pk).order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "automation_rule.create",
        "automation_rule.create",
        "automation_rule.update",
        "automation_rule.reorder",
        "automation_rule.delete",
    ]


def test_update_refuses_bad_rules_and_unknown_fields(account, actor):
    existing = rule_create(
        account=account, name="r", match="all", conditions=[], actions=[{"type": "stop"}], actor=actor
    )
    with pytest.raises(RuleInvalid) as caught:
        rule_update(rule=existing, actor=actor, actions=[])
    assert "actions" in caught.value.fields
    with pytest.raises(RuleInvalid):
        rule_update(rule=existing, actor=actor, account=AccountFactory())


def test_reorder_refuses_another_accounts_rule(account, actor):
    theirs = rule(AccountFactory(), [])
    with pytest.raises(NotFound):
        rules_reorder(account=account, rule_ids=[theirs.id], actor=actor)


def test_rerun_applies_the_outcome_to_open_orders(account, actor, sample):
    # given rules added after the orders came in, and a shipped order they would also match
    shipped = order_row(account, state="CA", status=OrderStatus.SHIPPED)
    rule(
        account,
        [{"field": "state", "value": "CA"}],
        [
            {"type": "add_tag", "tag": "west"},
            {"type": "set_priority", "level": "HIGH"},
            {"type": "prefer_carrier", "carrier": "ups", "service": "Ground"},
            {"type": "hold", "reason": "Gift wrap"},
        ],
    )

    # when
    changed = rules_rerun(orders=[sample, shipped], actor=actor)

    # then the open order has them, and the shipped one is untouched
    assert changed == 1
    sample.refresh_from_db()
    assert sample.tags == ["vip", "west"]
    assert (sample.priority_level, sample.priority_pinned, sample.processing_queue) == (
        "HIGH",
        True,
        "express",
    )
    assert (sample.preferred_carrier, sample.preferred_service) == ("ups", "Ground")
    assert (sample.status, sample.hold_reason) == (OrderStatus.HELD, "Gift wrap")
    assert OrderEvent.objects.filter(order=sample, type="rules", actor=actor).count() == 1
    assert OrderEvent.objects.filter(order=sample, type="status", to_status="held").count() == 1
    shipped.refresh_from_db()
    assert shipped.tags == [] and shipped.status == OrderStatus.SHIPPED

    # and a second run finds nothing new
    assert rules_rerun(orders=[sample], actor=actor) == 0


def test_rerun_keeps_a_pinned_priority(account, actor):
    order = order_row(account, priority_level="AUTO", priority_pinned=True)
    rule(account, [], [{"type": "set_priority", "level": "HIGH"}, {"type": "add_tag", "tag": "x"}])
    assert rules_rerun(orders=[order], actor=actor) == 1
    order.refresh_from_db()
    assert (order.priority_level, order.tags) == ("AUTO", ["x"])
