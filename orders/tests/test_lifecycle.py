import pytest

from orders.lifecycle import TRANSITIONS
from orders.models import OrderEvent, OrderStatus
from orders.services.lifecycle import InvalidTransition, order_transition
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

ALL = [s.value for s in OrderStatus]
ALLOWED = [(a, b) for a in ALL for b in sorted(TRANSITIONS[a])]
FORBIDDEN = [(a, b) for a in ALL for b in ALL if a != b and b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("from_status", "to_status"), FORBIDDEN)
def test_every_move_outside_the_table_is_refused(from_status, to_status):
    # given
    order = OrderFactory(status=from_status)

    # when / then
    with pytest.raises(InvalidTransition) as exc:
        order_transition(order=order, to=to_status, actor=None)
    assert exc.value.code == "invalid_transition" and exc.value.http_status == 409
    order.refresh_from_db()
    assert order.status == from_status
    assert not OrderEvent.objects.filter(order=order).exists()


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_every_move_in_the_table_is_made_with_an_event(from_status, to_status):
    # given
    order = OrderFactory(status=from_status)

    # when
    order_transition(order=order, to=to_status, actor="tiktok", reason="because")

    # then
    order.refresh_from_db()
    assert order.status == to_status
    event = OrderEvent.objects.get(order=order)
    assert (event.type, event.from_status, event.to_status, event.message, event.actor_label) == (
        "status", from_status, to_status, "because", "tiktok",
    )  # fmt: skip


def test_moving_to_the_current_status_is_a_no_op_without_event():
    order = OrderFactory(status=OrderStatus.READY)
    order_transition(order=order, to=OrderStatus.READY, actor=None)
    assert not OrderEvent.objects.filter(order=order).exists()


def test_the_status_is_read_under_the_lock_not_from_a_stale_instance():
    # given a stale copy that still says ready, while the row is already cancelled
    order = OrderFactory(status=OrderStatus.READY)
    stale = type(order).objects.get(pk=order.pk)
    order_transition(order=order, to=OrderStatus.CANCELLED, actor=None)

    # when / then: cancelled -> shipped is refused, whatever the stale copy says
    with pytest.raises(InvalidTransition):
        order_transition(order=stale, to=OrderStatus.SHIPPED, actor=None)
