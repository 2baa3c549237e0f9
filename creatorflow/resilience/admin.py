from django.contrib import admin

from .models import RateWindowState


@admin.register(RateWindowState)
class RateWindowStateAdmin(admin.ModelAdmin):
    """Read-only: the rows are the rate limiter's working state, edited by nobody."""

    list_display = ("key", "updated_at")
    search_fields = ("key",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
