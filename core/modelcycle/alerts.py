"""Alerts that are never lost, and never spam.

Delivery is at-least-once: an alert is written to the store as pending *before* it
is sent; a success writes its `sent` marker (put-if-absent, so two senders cannot
both record it) and appends it to the alert log, then removes the pending object;
a failure keeps it pending with the error and the time of the next attempt
(backoff doubling from 1 minute to 1 hour). `alerts retry`, the next check run and
the next scenario run deliver pending alerts. The alert id is stable for a (check
result, notifier) pair, so a retry is recognised as the same alert.

A sender killed (``kill -9``) after the marker leaves the pending object behind, and
maybe no log entry. Readers see such an alert as sent, not pending; the next delivery
attempt finishes the job without sending again: it appends the log entry if it is
missing (the marker names the log position to look from) and removes the pending
object. So every alert is either pending or sent, and one marked sent is logged once
(unless two processes finish the same alert at the same moment: then the log may hold
it twice, as the notifier may have been sent it twice).

Cooldown: the same check with the same outcome is not alerted again within
`[alerts] cooldown`.

Layout: alerts/pending/<id>.json, alerts/sent/<id>.json, alerts/log/… (a Journal),
alerts/cooldown/<check>/<outcome>.json.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .interfaces import Message
from .journal import Journal

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project

BACKOFF_START = 60.0
BACKOFF_MAX = 3600.0


def now() -> datetime:
    return datetime.now(UTC)


class _Fields(dict):
    """Template fields; an unknown field shows as {name} instead of failing the alert."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(project: Project, result: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of the alert for a check result, from the [alerts] templates."""
    settings = project.settings.alerts
    value = result.get("value")
    fields = _Fields(
        project=project.name,
        check=result["check"],
        outcome=result["outcome"],
        model=result["model"],
        version=result.get("version") if result.get("version") is not None else "-",
        metric=result["metric"],
        value=f"{value:.4g}" if isinstance(value, float) else value,
        message=result.get("message", ""),
        thresholds=", ".join(f"{k} {v}" for k, v in (result.get("thresholds") or {}).items()) or "-",
        evaluation=result.get("evaluation") if result.get("evaluation") is not None else "-",
        at=result.get("at"),
        dashboard=f"Dashboard: {settings.dashboard_url}" if settings.dashboard_url else "",
    )
    return settings.subject.format_map(fields), settings.text.format_map(fields).rstrip()


def check_templates(project: Project) -> None:
    """Render the templates on a sample result now, so a broken one fails at start, not at alert time."""
    sample = {
        "check": "c",
        "outcome": "ERROR",
        "model": "m",
        "version": 1,
        "metric": "roc_auc",
        "value": 0.5,
        "message": "",
        "thresholds": {"min": 0.7},
        "evaluation": 1,
        "at": now().isoformat(),
    }
    try:
        render(project, sample)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise project.settings.error("alerts", f"a template is not valid: {exc}; write fields as {{name}}") from None


def alert_id(result: dict[str, Any], notifier: str) -> str:
    key = f"{result['check']}\0{result.get('seq')}\0{result['at']}\0{notifier}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def routes(project: Project, result: dict[str, Any]) -> list[str]:
    """The notifiers a check result goes to: the check's own `notify`, else [alerts] notify."""
    if result["outcome"] not in project.settings.alerts.on:
        return []
    check = project.settings.checks.get(result["check"])
    if check is not None and check.notify is not None:
        return list(check.notify)
    return list(project.settings.alerts.notify)


def _cooldown_key(result: dict[str, Any]) -> str:
    return f"alerts/cooldown/{result['check']}/{result['outcome']}.json"


def _cooling(project: Project, result: dict[str, Any]) -> bool:
    """True when the same check had the same outcome alerted within the cooldown."""
    last = project.store.get_json(_cooldown_key(result))
    if last is None:
        return False
    return now() - datetime.fromisoformat(last["at"]) < timedelta(seconds=project.settings.alerts.cooldown)


def raise_alerts(project: Project, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queue and send the alerts a batch of check results calls for; returns the alerts."""
    alerts = [alert for result in results for alert in queue_alerts(project, result)]
    return [deliver(project, alert) for alert in alerts]


def queue_alerts(project: Project, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Write as pending the alerts one check result calls for (none in cooldown); returns them.

    Called right after the result is recorded, so that a crash between the two loses at
    most that one result's alerts.
    """
    targets = routes(project, result)
    if not targets:
        return []
    if _cooling(project, result):
        result["alert"] = "suppressed: cooldown"
        return []
    subject, text = render(project, result)
    queued = [queue(project, notifier, subject, text, {"kind": "check", **result}) for notifier in targets]
    # only once queued: a crash before this line re-alerts rather than loses the alert
    project.store.write_json(_cooldown_key(result), {"at": now().isoformat()})
    return queued


def queue(
    project: Project, notifier: str, subject: str, text: str, about: dict[str, Any], html: str | None = None
) -> dict[str, Any]:
    """Write an alert as pending (before any attempt to send it)."""
    created = now().isoformat()
    identity = alert_id(
        {"check": about.get("check", about.get("kind")), "seq": about.get("seq"), "at": about.get("at", created)},
        notifier,
    )
    alert = project.settings.redactor(
        {
            "id": identity,
            "notifier": notifier,
            "subject": subject,
            "text": text,
            "html": html,
            "about": about,
            "status": "pending",
            "created_at": created,
            "attempts": 0,
            "last_error": None,
            "next_attempt_at": created,
        }
    )
    project.store.put_json_if_absent(f"alerts/pending/{identity}.json", alert)
    return alert


def _sent_key(alert_id: str) -> str:
    return f"alerts/sent/{alert_id}.json"


def _log(project: Project) -> Journal:
    return Journal(project.store, "alerts/log")


def _logged(project: Project, alert_id: str, after: int | None) -> bool:
    """Whether the alert log holds `alert_id`, among the entries after number `after`."""
    log = _log(project)
    if after is None:  # a marker older than the position it now records: read the whole log
        return any(entry.get("id") == alert_id for entry in log.all())
    seq = after + 1
    while (entry := log.get(seq)) is not None:
        if entry.get("id") == alert_id:
            return True
        seq += 1
    return False


def _record_sent(project: Project, sent: dict[str, Any]) -> None:
    _log(project).append(lambda seq, _prev: {"seq": seq, **sent})
    project.plugins.fire("after_alert_sent", project=project, alert=sent)


def deliver(project: Project, alert: dict[str, Any]) -> dict[str, Any]:
    """One attempt to send a pending alert; returns it marked sent or still pending."""
    store = project.store
    marker = store.get_json(_sent_key(alert["id"]))
    if marker is not None:  # sent already: by someone else, or by a sender killed before it finished
        sent = {**alert, "status": "sent", "attempts": alert["attempts"] + 1, "sent_at": marker.get("sent_at")}
        sent["last_error"] = None
        if not _logged(project, alert["id"], marker.get("after")):
            _record_sent(project, sent)
        store.delete(f"alerts/pending/{alert['id']}.json")
        return sent
    attempted = now()
    try:
        notifier = project.notifier(alert["notifier"])
        notifier.send(Message(alert["subject"], alert["text"], alert.get("html"), alert))
    except Exception as exc:  # noqa: BLE001 - any failure keeps the alert pending
        attempts = alert["attempts"] + 1
        delay = min(BACKOFF_START * 2 ** (attempts - 1), BACKOFF_MAX)
        failed = project.settings.redactor(
            {
                **alert,
                "attempts": attempts,
                "last_error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                "last_attempt_at": attempted.isoformat(),
                "next_attempt_at": (attempted + timedelta(seconds=delay)).isoformat(),
            }
        )
        store.write_json(f"alerts/pending/{alert['id']}.json", failed)
        return failed
    sent = {
        **alert,
        "status": "sent",
        "attempts": alert["attempts"] + 1,
        "sent_at": now().isoformat(),
        "last_error": None,
    }
    # `after`: the log entry comes after this one (HEAD may lag, never lead), so finishing the
    # job of a sender killed before its log entry reads only what was logged since
    after = _log(project).hint()
    if store.put_json_if_absent(_sent_key(alert["id"]), {"sent_at": sent["sent_at"], "after": after}):
        _record_sent(project, sent)
    store.delete(f"alerts/pending/{alert['id']}.json")
    return sent


def _queued(project: Project) -> list[dict[str, Any]]:
    """Every pending object, oldest first, including those of alerts already sent."""
    out = []
    for key in project.store.list("alerts/pending"):
        raw = project.store.get(key)
        if raw is not None:
            out.append(json.loads(raw))
    return sorted(out, key=lambda a: a["created_at"])


def pending(project: Project) -> list[dict[str, Any]]:
    """Alerts still to deliver, oldest first; one whose sender was killed after sending it is not
    among them (its pending object goes at the next delivery attempt)."""
    return [a for a in _queued(project) if project.store.get(_sent_key(a["id"])) is None]


def retry(project: Project, *, force: bool = False) -> list[dict[str, Any]]:
    """Send pending alerts: all of them with `force`, else those whose backoff has passed."""
    due = now()
    return [
        deliver(project, alert)
        for alert in _queued(project)
        if force or datetime.fromisoformat(alert["next_attempt_at"]) <= due
    ]


def sent(project: Project, limit: int | None = None) -> list[dict[str, Any]]:
    """Sent alerts, oldest first: the alert log, then any alert marked sent by a sender killed
    before it logged it (the next delivery attempt logs it)."""
    log = _log(project).all()
    logged = {entry.get("id") for entry in log}
    for alert in _queued(project):
        marker = project.store.get_json(_sent_key(alert["id"])) if alert["id"] not in logged else None
        if marker is not None:
            log.append({**alert, "status": "sent", "attempts": alert["attempts"] + 1, "sent_at": marker.get("sent_at")})
    return log if limit is None else log[-limit:]
