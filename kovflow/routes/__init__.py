"""Route definitions: frozen specs parsed from TOML files, their checks, guards and machines.

Nothing in this package does database or network I/O; the loader only reads route files.
"""
