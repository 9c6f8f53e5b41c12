"""Persistence: the only package that imports SQLModel and SQLAlchemy.

``tables`` defines the schema (SQLModel classes, migrated by Alembic), ``db`` makes engines with the
right settings per backend, ``repo`` holds the queries, written in SQLAlchemy Core on the hot path.
"""
