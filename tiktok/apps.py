from django.apps import AppConfig


class TiktokConfig(AppConfig):
    name = "tiktok"
    label = "tiktok"
    verbose_name = "TikTok Shop"

    def ready(self):
        # Inventory never imports tiktok: it learns of the channel through this registration.
        from inventory.channel import register_channel

        from .services.stock_push import TikTokChannel

        register_channel(TikTokChannel())
