"""Connecting shops: the OAuth exchange, several shops per account, disconnect, and the
authorization webhooks (type 6 deauthorised, type 7 expiring). Owned by the connect work.

`shops_connect` talks to TikTok twice (token exchange, authorised shops) with no transaction open,
then writes every shop, its first-import run and the run's task in one transaction. A shop id that
already belongs to another account refuses the whole connection: nothing of it is stored (an
all-or-nothing answer is one the creator can act on; half a connection is harder to explain), and
the tokens we were just given are dropped again unless shops of this account still use them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from creatorflow.audit.facade import audit_log
from creatorflow.core.errors import Conflict
from creatorflow.outbox.facade import outbox_enqueue
from notifications.facade import notify

from ..client import TikTokClient, token_get
from ..models import Shop, ShopAuthorization, SyncRun
from ..tokens import authorization_store

logger = logging.getLogger(__name__)

SHOPS_PAGE = "/tiktok/shops/"
CONNECT_PAGE = "/tiktok/connect/"
CONFLICT_CODE = "shop_connected_elsewhere"
# How long an "expiring" notice is remembered (past the expiry itself TikTok stops warning).
EXPIRY_NOTICE_MEMORY_S = 60 * 86400


def _shop_fields(raw: dict) -> dict:
    """Our columns from one entry of `/authorization/202309/shops` (ids kept as strings)."""
    return {
        "name": str(raw.get("name") or raw.get("id"))[:200],
        "region": str(raw.get("region") or "")[:8],
        "seller_type": str(raw.get("seller_type") or "")[:32],
        "code": str(raw.get("code") or "")[:64],
        "cipher": str(raw.get("cipher") or "")[:255],
    }


def _drop_if_unused(authorization_pk) -> bool:
    """Delete a ShopAuthorization no shop points at any more: its tokens go with it."""
    if authorization_pk is None:
        return False
    deleted, _ = ShopAuthorization.objects.filter(pk=authorization_pk).exclude(shops__isnull=False).delete()
    return bool(deleted)


def _refuse(*, authorization: ShopAuthorization, foreign: list[str]) -> Conflict:
    _drop_if_unused(authorization.pk)
    names = ", ".join(foreign)
    return Conflict(
        f"TikTok shop {names} is already connected to another CreatorFlow account, so nothing was "
        "connected. Disconnect it there first, or authorize only your other shops.",
        code=CONFLICT_CODE,
        fields={"shop_ids": foreign},
    )


def shops_connect(*, account, auth_code: str, actor) -> list[Shop]:
    """Exchange the code, store the seller's tokens, upsert every authorised shop, start the first import.

    Network first (token exchange, authorised shops), outside any transaction; then one transaction
    locks the account's existing rows for those shop ids, upserts them (status syncing, fresh
    authorization, connected now), and per shop creates a FULL_IMPORT run and its outbox task (a
    first import already running for the shop is reused). Reconnecting a shop of this account
    refreshes it in place; the authorization it used before is deleted if nothing else uses it.
    Raises TikTokError (exchange or read failed; nothing stored) or Conflict (`shop_connected_elsewhere`:
    a shop id belongs to another account; nothing stored).
    """
    grant = token_get(auth_code)
    authorization = authorization_store(account=account, grant=grant)
    try:
        raw_shops = TikTokClient(authorization=authorization).authorized_shops()
    except Exception:
        _drop_if_unused(authorization.pk)
        raise
    by_id = {str(raw["id"]): raw for raw in raw_shops if raw.get("id") not in (None, "")}
    if not by_id:
        _drop_if_unused(authorization.pk)
        raise Conflict("TikTok did not authorise any shop for this seller.", code="no_authorized_shops")

    foreign = list(
        Shop.objects.filter(shop_id__in=list(by_id))
        .exclude(account=account)
        .values_list("shop_id", flat=True)
    )
    if foreign:
        raise _refuse(authorization=authorization, foreign=sorted(foreign))

    now = timezone.now()
    try:
        with transaction.atomic():
            existing = {
                shop.shop_id: shop
                for shop in Shop.objects.select_for_update()
                .filter(account=account, shop_id__in=list(by_id))
                .order_by("pk")
            }
            shops, replaced_authorizations = [], set()
            for shop_id in sorted(by_id):
                fields = {
                    **_shop_fields(by_id[shop_id]),
                    "authorization": authorization,
                    "status": Shop.Status.SYNCING,
                    "status_message": "",
                    "connected_at": now,
                    "disconnected_at": None,
                }
                shop = existing.get(shop_id)
                if shop is None:
                    shop = Shop.objects.create(account=account, shop_id=shop_id, **fields)
                    action, changes = "tiktok.shop.connect", {"status": [None, Shop.Status.SYNCING]}
                else:
                    if shop.authorization_id not in (None, authorization.pk):
                        replaced_authorizations.add(shop.authorization_id)
                    changes = {"status": [shop.status, Shop.Status.SYNCING]}
                    for name, value in fields.items():
                        setattr(shop, name, value)
                    shop.save()
                    action = "tiktok.shop.reconnect"
                _first_import(shop)
                audit_log(actor=actor, action=action, target=shop, account=account, changes=changes)
                shops.append(shop)
            for stale in sorted(replaced_authorizations):
                _drop_if_unused(stale)
    except IntegrityError as exc:
        # Another account inserted one of these shop ids between our check and our insert.
        raced = list(
            Shop.objects.filter(shop_id__in=list(by_id))
            .exclude(account=account)
            .values_list("shop_id", flat=True)
        )
        if not raced:
            raise
        raise _refuse(authorization=authorization, foreign=sorted(raced)) from exc
    logger.info("tiktok: account %s connected shops %s", account.pk, [s.shop_id for s in shops])
    return shops


def _first_import(shop: Shop) -> SyncRun:
    """A FULL_IMPORT run and its task (sent on commit); a first import already running is reused."""
    running = SyncRun.objects.filter(
        shop=shop, kind=SyncRun.Kind.FULL_IMPORT, status=SyncRun.Status.RUNNING
    ).first()
    if running is not None:
        return running
    run = SyncRun.objects.create(shop=shop, kind=SyncRun.Kind.FULL_IMPORT)
    outbox_enqueue(
        task="tiktok.first_import",
        kwargs={"shop_pk": str(shop.pk), "run_pk": str(run.pk)},
        queue="integrations",
        key=f"tiktok.first_import:{run.pk}",
    )
    return run


def _disconnect_locked(shop: Shop, *, actor, message: str) -> bool:
    """Mark the locked shop disconnected and drop its tokens. False when it already was."""
    if shop.status == Shop.Status.DISCONNECTED and shop.authorization_id is None:
        return False
    old_status, authorization_pk = shop.status, shop.authorization_id
    shop.status = Shop.Status.DISCONNECTED
    shop.status_message = message
    shop.authorization = None
    shop.disconnected_at = timezone.now()
    shop.save(update_fields=["status", "status_message", "authorization", "disconnected_at"])
    _drop_if_unused(authorization_pk)
    audit_log(
        actor=actor,
        action="tiktok.shop.disconnect",
        target=shop,
        account=shop.account,
        changes={"status": [old_status, Shop.Status.DISCONNECTED]},
    )
    return True


def _locked(shop: Shop) -> Shop:
    return Shop.objects.select_for_update(of=("self",)).select_related("account").get(pk=shop.pk)


def shop_disconnect(*, shop, actor) -> None:
    """Stop syncing a shop: status disconnected, tokens gone (when no other shop of the seller
    uses them), orders and catalogue kept. Idempotent; locks the shop row for the change."""
    with transaction.atomic():
        locked = _locked(shop)
        _disconnect_locked(locked, actor=actor, message="Disconnected in CreatorFlow.")
    shop.refresh_from_db()


def shop_deauthorized(*, shop) -> None:
    """Type 6: mark the shop disconnected and notify the creator.

    The notification is written in the same transaction as the status change and only when the
    shop was still connected, so a redelivered webhook (or one for a shop the creator already
    disconnected) changes nothing and notifies no one.
    """
    with transaction.atomic():
        locked = _locked(shop)
        changed = _disconnect_locked(
            locked, actor="tiktok", message="The seller removed CreatorFlow's access in TikTok Shop."
        )
        if changed:
            notify(
                account=locked.account,
                kind="tiktok.shop_deauthorized",
                severity="critical",
                title=f"TikTok Shop “{locked.name}” was disconnected",
                body=(
                    "The seller removed CreatorFlow's access to this shop in TikTok Shop. Orders and "
                    "stock no longer sync. Connect the shop again to resume."
                ),
                link=SHOPS_PAGE,
            )
    shop.refresh_from_db()


def _expiry(data: dict) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(data.get("expire_time")), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def shop_authorization_expiring(*, shop, data: dict) -> None:
    """Type 7: notify the creator with a re-connect link (and the expiry date when TikTok gives one).

    TikTok repeats this warning; one notice per shop and expiry is enough. The "already told"
    marker is an atomic cache add (Redis SET NX in production), removed again if the notice
    could not be written, so a failure is retried rather than swallowed. A shop that is no longer
    connected gets no notice: there is nothing to renew.
    """
    shop.refresh_from_db()
    if not shop.is_active:
        return
    expires = _expiry(data)
    marker = f"tiktok:expiring-notice:{shop.pk}:{int(expires.timestamp()) if expires else 'unknown'}"
    if not cache.add(marker, "1", EXPIRY_NOTICE_MEMORY_S):
        return
    when = f" on {expires:%d %b %Y at %H:%M} UTC" if expires else " soon"
    try:
        notify(
            account=shop.account,
            kind="tiktok.authorization_expiring",
            severity="warning",
            title=f"Reconnect TikTok Shop “{shop.name}”",
            body=(
                f"CreatorFlow's access to this shop expires{when}. Connect the shop again before "
                "then so orders and stock keep syncing."
            ),
            link=CONNECT_PAGE,
        )
    except Exception:
        cache.delete(marker)
        raise
