"""Time: turn due deadlines into messages and escalations, and run the worker that does it.

``sweep`` claims due deadline rows (the database is the timer); ``worker`` is the metronome: a
simulated-time loop for tests and the demo, and an APScheduler 3.x process for production. A
lease lets one worker act on SQLite; on PostgreSQL row claims let several share the work.
"""
