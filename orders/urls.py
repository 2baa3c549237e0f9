from django.urls import path

from . import views, views_rules

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("review/", views.review_queue, name="review"),
    path("bulk/", views.order_bulk, name="bulk"),
    path("<uuid:order_id>/", views.order_detail, name="detail"),
    path("<uuid:order_id>/approve/", views.order_approve, name="approve"),
    path("<uuid:order_id>/hold/", views.order_hold, name="hold"),
    path("<uuid:order_id>/cancel/", views.order_cancel, name="cancel"),
    path("<uuid:order_id>/tags/", views.order_tags, name="tags"),
    path("<uuid:order_id>/backorder/", views.order_backorder, name="backorder"),
    path("rules/", views_rules.rule_list, name="rules"),
    path("rules/new/", views_rules.rule_new, name="rule-new"),
    path("rules/row/", views_rules.rule_row, name="rule-row"),
    path("rules/dry-run/", views_rules.rule_dry_run, name="rule-dry-run"),
    path("rules/<uuid:rule_id>/edit/", views_rules.rule_edit, name="rule-edit"),
    path("rules/<uuid:rule_id>/delete/", views_rules.rule_delete, name="rule-delete"),
    path("rules/<uuid:rule_id>/toggle/", views_rules.rule_toggle, name="rule-toggle"),
    path("rules/<uuid:rule_id>/move/", views_rules.rule_move, name="rule-move"),
]
