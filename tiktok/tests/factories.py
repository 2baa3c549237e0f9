import factory

from accounts.tests.factories import AccountFactory
from tiktok.models import Shop


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    account = factory.SubFactory(AccountFactory)
    shop_id = factory.Sequence(lambda n: str(7495540735365777000 + n))
    name = factory.Sequence(lambda n: f"Shop {n}")
    region = "US"
