"""kovflow: case management for the referral routes of passende kinderopvang.

The public API is small on purpose: services for use cases, the errors they raise, and the clock.
Heavy modules (database, CLI) are imported lazily by the entry points.
"""

__version__ = "0.1.0"
