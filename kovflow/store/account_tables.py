"""Tables of the accounts: password credentials, sessions, login attempts, API tokens."""

from __future__ import annotations
