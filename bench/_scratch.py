"""A throwaway PostgreSQL database for one benchmark: created, migrated, used, dropped.

Benchmarks never touch the database DATABASE_URL names: they create their own next to it on the
same server, point Django's default connection at it for the run, and drop it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def conninfo(settings_dict: dict, dbname: str) -> dict:
    """psycopg connection arguments for `dbname` on the server of a Django DATABASES entry."""
    return {
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "dbname": dbname,
    }


@contextmanager
def scratch_database(name: str) -> Iterator[dict]:
    """Create and migrate database `name`, make it Django's default for the block, then drop it.

    Yields its psycopg connection arguments, for workers that connect without Django.
    """
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    default = settings.DATABASES["default"]
    original_name = default["NAME"]
    server = psycopg.connect(**conninfo(default, "postgres"), autocommit=True)
    server.execute(f'CREATE DATABASE "{name}"')
    try:
        connections.close_all()
        default["NAME"] = name  # the connection handler reads this very dict
        call_command("migrate", verbosity=0, interactive=False)
        yield conninfo(default, name)
    finally:
        connections.close_all()
        default["NAME"] = original_name
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()


def services_ready(name: str, *, broker: str | None = None) -> bool:
    """True when PostgreSQL (and, with `broker`, that Redis) can be used; else says why on stderr."""
    import sys

    from django.conf import settings

    if not settings.USING_POSTGRES:
        print(f"{name}: needs PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
        return False
    if broker is None:
        return True
    import redis

    try:
        redis.Redis.from_url(broker).ping()
    except redis.RedisError:
        print(f"{name}: needs Redis at {broker}", file=sys.stderr)
        return False
    return True
