"""`manage.py create_account --email E --password P --account-name N` (CONTRACT.md section 1).

Prints exactly one JSON line: {"account_id", "user_id", "api_token"}. Idempotent on the email;
every run issues a fresh API token (the old ones keep working until revoked).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.services import account_create_with_owner, api_token_create
from creatorflow.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a user, their account and the owner membership (idempotent on the email); print JSON."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the owner's sign-in email")
        parser.add_argument(
            "--password", required=True, help="the owner's password (checked by the validators)"
        )
        parser.add_argument("--account-name", required=True, help="the business name of the new account")

    def handle(self, *args, email: str, password: str, account_name: str, **options):
        try:
            user, account, _created = account_create_with_owner(
                email=email, password=password, account_name=account_name
            )
            _token, key = api_token_create(user=user, account=account, name="create_account")
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            json.dumps({"account_id": str(account.pk), "user_id": str(user.pk), "api_token": key})
        )
