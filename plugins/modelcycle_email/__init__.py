"""Built-in notifier `email`: alerts by SMTP over aiosmtplib (never the blocking smtplib).

Loading this plugin imports nothing heavy: aiosmtplib, ssl and the email package are
imported when a message is sent.
"""

from __future__ import annotations

from modelcycle import hookimpl

from .notifier import DeliveryError, EmailNotifier

__all__ = ["DeliveryError", "EmailNotifier"]


@hookimpl
def register_notifiers():
    return [EmailNotifier]
