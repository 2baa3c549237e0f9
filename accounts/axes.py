"""How django-axes names the account a failed login was for."""


def login_identifier(request, credentials) -> str | None:
    """The lower-cased email, whether it came from our login form (`email`) or the admin (`username`)."""
    for source in (credentials or {}, getattr(request, "POST", {})):
        for field in ("email", "username"):
            value = source.get(field)
            if value:
                return str(value).strip().lower()
    return None
