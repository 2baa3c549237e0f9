"""Batch and pick-list pages (filled in by the batches work); included by shipping/urls.py."""

urlpatterns: list = []
