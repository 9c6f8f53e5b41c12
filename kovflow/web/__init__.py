"""The web workplace (server-rendered Dutch pages) and the JSON API under ``/api/v1``."""
