"""Notifications: mails that say *that* there is work, never *what* it is about.

``render`` turns a template name and an allow-listed ``MailContext`` into subject, text and HTML;
``mailers`` hands messages to a folder, the console or an SMTP relay; ``outbox`` delivers the rows
the steps and the sweep wrote, with retries, backoff and a dead letter for permanent failures.
"""
