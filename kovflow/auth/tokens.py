"""Opaque tokens for sessions, CSRF and API clients, and the digests the database stores.

Tokens are 256-bit random values (``secrets.token_urlsafe(32)``). For such values a plain SHA-256
is the right digest: a slow password hash protects low-entropy secrets against guessing, and a
256-bit random value cannot be guessed, so a fast digest loses nothing and lets every request be
checked by one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

# A recognisable prefix lets secret scanners find an API token pasted where it does not belong.
API_TOKEN_PREFIX = "kovflow_"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The hex SHA-256 of a token: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def account_digest(username: str) -> str:
    """The throttling key of a username as typed (case and surrounding space ignored)."""
    return hashlib.sha256(b"account:" + username.strip().casefold().encode("utf-8")).hexdigest()


def address_digest(address: str) -> str:
    """The throttling key of a client address; the address itself is never stored.

    An IPv4 digest can be reversed by trying every address, which is why attempts are kept only
    as long as throttling needs them (``services.accounts``).
    """
    return hashlib.sha256(b"address:" + address.strip().encode("utf-8")).hexdigest()
