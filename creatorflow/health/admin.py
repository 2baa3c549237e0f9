from django.contrib import admin

from .models import HealthCheckRecord


@admin.register(HealthCheckRecord)
class HealthCheckRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "status", "duration_ms")
    list_filter = ("status", "created_at")
    search_fields = ("status",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "status", "checks", "duration_ms")
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False  # rows are written by the beat job only
