from django.contrib import admin

from .models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "account", "user", "kind", "severity", "created_at", "read_at", "emailed_at")
    list_filter = ("severity", "kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("title", "body", "kind", "account__name", "user__email")
    list_select_related = ("account", "user")
    raw_id_fields = ("account", "user")
    date_hierarchy = "created_at"
    readonly_fields = ("id", "created_at", "emailed_at")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "email_enabled", "email_min_severity", "phone_number", "updated_at")
    list_filter = ("email_enabled", "email_min_severity")
    search_fields = ("user__email", "account__name", "phone_number")
    list_select_related = ("account", "user")
    raw_id_fields = ("account", "user")
