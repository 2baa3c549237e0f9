"""Staff view of the webhook inbox: find events, read the raw body, replay dead letters."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from .models import InboundEvent
from .services import inbox_replay

BODY_PREVIEW_CHARS = 20000


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "provider",
        "event_type",
        "external_id",
        "status",
        "ignored",
        "attempts",
        "received_at",
        "processing_finished_at",
        "next_attempt_at",
    )
    list_filter = ("status", "provider", "ignored", "event_type")
    search_fields = ("external_id", "event_type", "source", "last_error")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    actions = ["replay_events"]
    list_per_page = 100
    show_full_result_count = False  # COUNT(*) over a large inbox is slow; the pager does not need it
    fields = (
        "provider",
        "event_type",
        "external_id",
        "status",
        "ignored",
        "attempts",
        "last_error",
        "received_at",
        "processing_started_at",
        "processing_finished_at",
        "next_attempt_at",
        "headers_pretty",
        "raw_body",
    )
    readonly_fields = fields

    class Media:
        # The raw body wraps by a class: a style attribute would break the Content-Security-Policy.
        css = {"all": ["css/admin.css"]}

    # The inbox is a record of what platforms sent: staff read and replay it, never edit it.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Headers")
    def headers_pretty(self, obj: InboundEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.headers or {}, indent=2, sort_keys=True))

    @admin.display(description="Raw body")
    def raw_body(self, obj: InboundEvent) -> str:
        text = obj.body_text()
        suffix = (
            ""
            if len(text) <= BODY_PREVIEW_CHARS
            else f"\n… ({len(text) - BODY_PREVIEW_CHARS} more characters)"
        )
        return format_html(
            '<pre class="cf-pre-wrap">{}{}</pre><p>{} bytes</p>',
            text[:BODY_PREVIEW_CHARS],
            suffix,
            len(obj.body_bytes),
        )

    def has_replay_permission(self, request) -> bool:
        # Editing is off for everyone, but replaying needs the model's change permission.
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description="Replay selected dead or failed events", permissions=["replay"])
    def replay_events(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        replayed = inbox_replay(event_ids=selected, actor=request.user)
        skipped = len(selected) - replayed
        self.message_user(request, f"Replayed {replayed} event(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} event(s) that were not dead or failed.", messages.WARNING
            )
