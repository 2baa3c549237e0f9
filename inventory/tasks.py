"""Celery discovers `inventory.tasks`: the tasks live in one module per area."""

from .tasks_purchasing import *  # noqa: F401,F403
from .tasks_stock import *  # noqa: F401,F403
