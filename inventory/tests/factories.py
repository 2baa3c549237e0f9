"""Factories for inventory rows. `stocked_sku()` is the usual starting point of a test."""

from decimal import Decimal

import factory

from accounts.tests.factories import AccountFactory
from inventory.models import SKU, Product, StockLevel, Supplier, Warehouse
from inventory.services.summary import stock_summary_refresh


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    code = factory.Sequence(lambda n: f"WH{n}")
    is_default = False
    contact_name = "Shipping Desk"
    address_line1 = "100 Commerce St"
    city = "Los Angeles"
    state = "CA"
    postal_code = "90012"
    country = "US"


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Supplier {n}")
    email = factory.Sequence(lambda n: f"orders{n}@supplier.example.com")
    lead_time_days = 7


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Product {n}")


class SKUFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SKU

    product = factory.SubFactory(ProductFactory)
    account = factory.SelfAttribute("product.account")
    seller_sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.LazyAttribute(lambda o: f"{o.product.name} {o.variant}".strip())
    variant = ""
    price = Decimal("19.99")
    cost = Decimal("6.50")
    weight_grams = 150
    length_mm, width_mm, height_mm = 120, 80, 40


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel
        skip_postgeneration_save = True

    sku = factory.SubFactory(SKUFactory)
    warehouse = factory.SubFactory(WarehouseFactory, account=factory.SelfAttribute("..sku.account"))
    on_hand = 100
    reserved = 0

    @factory.post_generation
    def refresh_summary(obj, create, extracted, **kwargs):
        # Rows made here skip the services, so bring the SKU's stock summary up to date as they would.
        if create:
            stock_summary_refresh(sku_ids=[obj.sku_id])


def stocked_sku(*, account=None, on_hand: int = 100, warehouse=None, **sku_fields) -> SKU:
    """A SKU with `on_hand` units in one warehouse (the account's default, created if missing)."""
    account = account or AccountFactory()
    if warehouse is None:
        warehouse = Warehouse.objects.filter(account=account, is_default=True).first() or WarehouseFactory(
            account=account, is_default=True
        )
    sku = SKUFactory(product__account=account, **sku_fields)
    StockLevelFactory(sku=sku, warehouse=warehouse, on_hand=on_hand)
    return sku
