"""Purchasing tasks: thin, load by id, call one service."""

__all__: list[str] = []
