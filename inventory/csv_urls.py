"""Stock import/export pages, mounted by the root URLconf at `inventory/csv/`."""

from django.urls import path

from . import csv_views

app_name = "inventory_csv"

urlpatterns = [
    path("", csv_views.csv_index, name="index"),
    path("export/", csv_views.csv_export, name="export"),
    path("import/", csv_views.csv_import_upload, name="import_upload"),
    path("import/<str:token>/", csv_views.csv_import_preview, name="import_preview"),
    path("import/<str:token>/apply/", csv_views.csv_import_apply, name="import_apply"),
]
