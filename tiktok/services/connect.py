"""Connecting shops: the OAuth exchange, several shops per account, disconnect, and the
authorization webhooks (type 6 deauthorised, type 7 expiring). Owned by the connect work."""

from __future__ import annotations


def shops_connect(*, account, auth_code: str, actor) -> list:
    """Exchange the code, store the seller's tokens, upsert every authorised shop, start the first import."""
    raise NotImplementedError


def shop_disconnect(*, shop, actor) -> None:
    raise NotImplementedError


def shop_deauthorized(*, shop) -> None:
    """Type 6: mark the shop disconnected and notify the creator."""
    raise NotImplementedError


def shop_authorization_expiring(*, shop, data: dict) -> None:
    """Type 7: notify the creator with a re-connect link."""
    raise NotImplementedError
