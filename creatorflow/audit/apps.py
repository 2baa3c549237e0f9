from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "creatorflow.audit"
    label = "audit"
    verbose_name = "Audit log"
