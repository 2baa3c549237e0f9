from django.apps import AppConfig


class TiktokConfig(AppConfig):
    name = "tiktok"
    label = "tiktok"
    verbose_name = "TikTok Shop"
