from django.contrib import admin

from .models import AuditLogEntry


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    """Staff read the log; nobody adds, edits or deletes entries, not even superusers."""

    list_display = (
        "created_at",
        "actor_label",
        "account",
        "action",
        "target_repr",
        "ip_address",
        "request_id",
    )
    list_filter = (
        "action",
        ("account", admin.RelatedOnlyFieldListFilter),
        ("actor", admin.RelatedOnlyFieldListFilter),
        "target_content_type",
    )
    search_fields = ("action", "actor_label", "target_repr", "target_object_id", "request_id", "ip_address")
    date_hierarchy = "created_at"
    list_select_related = ("account", "target_content_type")
    show_full_result_count = False  # COUNT(*) over a large log on every page is slow
    readonly_fields = [f.name for f in AuditLogEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
