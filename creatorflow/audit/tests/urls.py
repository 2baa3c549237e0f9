"""A test-only URLconf: a tiny service-like view that renames an account and audits it."""

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from accounts.models import Account
from creatorflow.audit.services import audit_log, diff, snapshot


def rename_account(request, account_id):
    with transaction.atomic():
        account = get_object_or_404(Account.objects.select_for_update(), pk=account_id)
        before = snapshot(account, ["name", "is_active"])
        account.name = request.POST["name"]
        account.save(update_fields=["name"])
        entry = audit_log(
            actor=request.user,
            action="account.renamed",
            target=account,
            changes=diff(before, account, ["name", "is_active"]),
        )
    return HttpResponse(str(entry.pk))


urlpatterns = [path("rename/<uuid:account_id>/", rename_account)]
