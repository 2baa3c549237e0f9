"""What other apps use of accounts.

Views: `account_required`, `role_required(...)`, `get_for_account_or_404(...)`; DRF: `HasAccount`
(authentication itself is configured in settings). Set-up code (demo loader): the services below.
Models (`Account`, `Membership`, `Role`) are imported from `accounts.models` for foreign keys.
"""

from .authentication import HasAccount
from .selectors import account_for_user, memberships_for_user
from .services import account_create_with_owner, api_token_create
from .tenancy import account_required, get_for_account_or_404, role_required

__all__ = [
    "HasAccount",
    "account_create_with_owner",
    "account_for_user",
    "account_required",
    "api_token_create",
    "get_for_account_or_404",
    "memberships_for_user",
    "role_required",
]
