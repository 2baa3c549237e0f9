import factory

from accounts.tests.factories import AccountFactory
from notifications.models import Notification, NotificationPreference, Severity


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    account = factory.SubFactory(AccountFactory)
    kind = "stock.low"
    severity = Severity.WARNING
    title = factory.Sequence(lambda n: f"Stock is low on SKU-{n}")
    body = "Only 3 left; at the current pace it sells out in 5 hours."
    link = "/inventory/"


class NotificationPreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationPreference

    user = factory.SubFactory("accounts.tests.factories.UserFactory")
    account = factory.SubFactory(AccountFactory)
    email_enabled = True
    email_min_severity = Severity.WARNING
