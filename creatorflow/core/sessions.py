"""Django's database session store, taking only session keys it could have issued.

A session key comes from the client's cookie. Django checks only its length before looking it up,
so a key carrying a NUL reaches PostgreSQL, which cannot compare one (a DataError: a 500 on every
page for whoever sends that cookie). Django issues 32 characters of lower-case letters and digits;
any other key is treated like no session at all, and the visitor simply starts a new one.
"""

from __future__ import annotations

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_ISSUED_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key) -> bool:
        return isinstance(key, str) and _ISSUED_KEY.fullmatch(key) is not None
