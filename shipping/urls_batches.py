"""Batch and pick-list pages (shipping/views_batches.py); included by shipping/urls.py."""

from django.urls import path

from . import views_batches as views

urlpatterns: list = [
    path("batches/", views.batches, name="batches"),
    path("batches/<uuid:batch_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<uuid:batch_id>/progress/", views.batch_progress_fragment, name="batch-progress"),
    path("batches/<uuid:batch_id>/retry/", views.batch_retry, name="batch-retry"),
    path("batches/<uuid:batch_id>/pdf/", views.batch_pdf, name="batch-pdf"),
    path("pick-list/", views.pick_list, name="pick-list"),
]
