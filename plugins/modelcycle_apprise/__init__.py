"""Built-in notifier `apprise`: alerts to any apprise URL (Slack, Teams, Discord, webhooks, …).

Loading this plugin imports nothing heavy: apprise is imported when a notifier is built.
"""

from __future__ import annotations

from modelcycle import hookimpl

from .notifier import AppriseNotifier, DeliveryError

__all__ = ["AppriseNotifier", "DeliveryError"]


@hookimpl
def register_notifiers():
    return [AppriseNotifier]
