"""Staff view of the outbox: what is waiting, what failed and why; requeue failed messages."""

from __future__ import annotations

from django.contrib import admin, messages

from .models import OutboxMessage
from .services import outbox_requeue


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "queue",
        "key",
        "status",
        "attempts",
        "dispatches",
        "created_at",
        "dispatched_at",
        "completed_at",
    )
    list_filter = ("status", "queue", "task")
    search_fields = ("key", "task", "last_error")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = ["requeue_messages"]
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = (
        "task",
        "kwargs",
        "queue",
        "key",
        "status",
        "attempts",
        "dispatches",
        "last_error",
        "created_at",
        "dispatched_at",
        "started_at",
        "completed_at",
        "next_attempt_at",
    )
    fields = readonly_fields

    # Rows are written by code in the same transaction as the work they stand for: never by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_requeue_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description="Requeue selected failed messages", permissions=["requeue"])
    def requeue_messages(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        requeued = outbox_requeue(message_ids=selected, actor=request.user)
        self.message_user(request, f"Requeued {requeued} message(s).", messages.SUCCESS)
        if len(selected) > requeued:
            self.message_user(
                request,
                f"Skipped {len(selected) - requeued} message(s) that had not failed.",
                messages.WARNING,
            )
