"""Video analytics polling. Owned by the catalogue work."""

from __future__ import annotations


def videos_poll(*, shop):
    raise NotImplementedError
