from .selectors import memberships_for_user


def current_account(request):
    """`current_account`, `current_membership`, and `user_memberships` (a lazy list, queried only
    when a template uses it, e.g. for an account switcher)."""
    user = getattr(request, "user", None)
    return {
        "current_account": getattr(request, "account", None),
        "current_membership": getattr(request, "membership", None),
        "user_memberships": lambda: list(memberships_for_user(user)) if user is not None else [],
    }
