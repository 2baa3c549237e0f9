"""Conventions the whole code base relies on, checked over every app rather than file by file."""

import pytest
from django.apps import apps
from django.contrib import admin

from creatorflow.celery import app as celery_app

OUR_APPS = {
    "core",
    "inbox",
    "outbox",
    "audit",
    "health",
    "accounts",
    "tiktok",
    "orders",
    "inventory",
    "shipping",
    "billing",
    "notifications",
}


def test_celery_is_configured_for_safe_delivery():
    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert {q.name for q in conf.task_queues} == {"default", "webhooks", "integrations", "bulk"}


def test_every_task_of_ours_has_an_explicit_name_and_a_known_queue():
    celery_app.loader.import_default_modules()
    ours = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
    assert ours, "no tasks registered"
    queues = {q.name for q in celery_app.conf.task_queues}
    for name, task in ours.items():
        module_app = task.__module__.split(".")[0]
        assert module_app in {"creatorflow", *OUR_APPS}, f"{name} is not ours"
        assert "." in name and not name.startswith(task.__module__ + "."), (
            f"{name}: give the task an explicit name"
        )
        assert "queue" not in type(task).__dict__, f"{name}: route it in CELERY_TASK_ROUTES, not on the task"
        route = celery_app.amqp.router.route({}, name, args=(), kwargs={})
        assert route["queue"].name in queues, f"{name}: routed to unknown queue {route['queue'].name}"


def test_webhook_processing_has_its_own_queue():
    route = celery_app.amqp.router.route({}, "inbox.process_event", args=(), kwargs={})
    assert route["queue"].name == "webhooks"


@pytest.mark.parametrize(
    "model", [m for m in apps.get_models() if m._meta.app_label in OUR_APPS], ids=lambda m: m._meta.label
)
def test_every_model_of_ours_is_in_the_admin(model):
    assert admin.site.is_registered(model), f"register {model._meta.label} in its app's admin.py"
