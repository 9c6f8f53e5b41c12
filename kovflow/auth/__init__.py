"""Building blocks of authentication, free of database access: password hashing and rules
(``passwords``), opaque tokens and their digests (``tokens``), the throttling rule
(``throttle``) and the ``[auth]`` settings (``settings``). ``services.accounts`` combines them.
"""
