"""Load the demo creator for `make run` (idempotent: running it again changes nothing).

The demo staff superuser has a published password, so it is created only with DEBUG on (`make run`
sets DEBUG=true); anywhere else the rest of the demo loads and the command says how to create one.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_EMAIL = "demo@creatorflow.local"
DEMO_PASSWORD = "demo-password-123"
DEMO_ACCOUNT = "Glow Lab Cosmetics (demo)"
DEMO_STAFF_EMAIL = "admin@creatorflow.local"
DEMO_STAFF_PASSWORD = "admin-password-123"


class Command(BaseCommand):
    help = "Create the demo creator (login printed) and its sample data. Safe to run repeatedly."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="URL printed for the dashboard")

    def handle(self, *args, url, **options):
        from accounts.models import User
        from accounts.services import account_create_with_owner
        from inventory.demo import load_demo_inventory
        from notifications.facade import notify
        from orders.demo import load_demo_orders
        from shipping.demo import load_demo_shipping
        from tiktok.demo import connect_demo_shop

        with transaction.atomic():
            user, account, created = account_create_with_owner(
                email=DEMO_EMAIL, password=DEMO_PASSWORD, account_name=DEMO_ACCOUNT
            )
            if created:
                notify(
                    account=account,
                    kind="welcome",
                    severity="info",
                    title="Welcome to CreatorFlow",
                    body="Connect your TikTok Shop to start importing orders.",
                    link="/",
                )
            inventory = load_demo_inventory(account=account, actor=user)
            # shipping first: the seeded orders that become ready queue their labels like live ones
            shipping = load_demo_shipping(account=account)
            orders = load_demo_orders(account=account, actor=user)
            shop = connect_demo_shop(account=account)
            staff = settings.DEBUG
            if staff and not User.objects.filter(email=DEMO_STAFF_EMAIL).exists():
                User.objects.create_superuser(email=DEMO_STAFF_EMAIL, password=DEMO_STAFF_PASSWORD)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"CreatorFlow demo is ready at {url}"))
        self.stdout.write(f"  log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
        if staff:
            self.stdout.write(f"  staff admin: {url}admin/ as {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}")
        else:
            self.stderr.write(
                f"Not creating the demo superuser {DEMO_STAFF_EMAIL}: DEBUG is off, and its password is "
                "published in the demo, so it must never exist outside local development. Create a staff "
                "user with your own password instead: python manage.py createsuperuser"
            )
        if inventory["skus"]:
            self.stdout.write(
                f"  inventory: {inventory['skus']} SKUs and {inventory['orders']} order lines added"
            )
        if orders["orders"]:
            self.stdout.write(
                f"  orders: {orders['orders']} TikTok orders and {orders['rules']} automation rules added"
            )
        if shop is not None:
            self.stdout.write(f"  TikTok Shop: {shop.name} connected to the local sandbox")
        if shipping["carriers"]:
            self.stdout.write("  shipping: the sandbox carrier buys labels for new orders automatically")
        self.stdout.write("")
