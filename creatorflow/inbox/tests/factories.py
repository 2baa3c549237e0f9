import factory
from django.utils import timezone

from creatorflow.inbox.models import InboundEvent


class InboundEventFactory(factory.django.DjangoModelFactory):
    """A stored event as inbox_store leaves it, without dispatching anything."""

    class Meta:
        model = InboundEvent

    provider = "test"
    external_id = factory.Sequence(lambda n: f"evt-{n}")
    event_type = "record"
    body = factory.LazyAttribute(lambda o: f'{{"id": "{o.external_id}", "type": "{o.event_type}"}}'.encode())
    headers = factory.LazyFunction(dict)
    status = InboundEvent.Status.RECEIVED
    received_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.SelfAttribute("received_at")
