"""Alerts that are never lost, and never spam.

Delivery is at-least-once: an alert is written to the store as pending *before* it
is sent; a success writes its `sent` marker (put-if-absent, so two senders cannot
both record it) and appends it to the alert log, then removes the pending object;
a failure keeps it pending with the error and the time of the next attempt
(backoff doubling from 1 minute to 1 hour). `alerts retry`, the next check run and
the next scenario run deliver pending alerts. The alert id is stable for a (check
result, notifier) pair, so a retry is recognised as the same alert.

Concurrent senders (three `alerts retry` at once, a check run beside a scenario run):
before sending, a sender claims the attempt, put-if-absent on
alerts/sending/<id>/<attempt number>.json; of senders racing for one alert one sends,
the others leave it. The winner reads the sent marker again after claiming, so an
alert a slower sender already finished is not sent twice.

A sender killed (``kill -9``) after the marker leaves the pending object behind, and
maybe no log entry. Readers see such an alert as sent, not pending; the next delivery
attempt finishes the job without sending again: it appends the log entry if it is
missing (reading every entry from the log position the marker names, including those
that win a race against its own append, so the alert is logged once) and removes the
pending object. So every alert is either pending or sent, and one marked sent is logged once.

What can still duplicate: a sender killed after the notifier accepted the message but
before the marker (or a sender paused longer than CLAIM_SECONDS mid-send, or a clock
more than that far off) leaves a claim that is taken for a dead sender once it is
CLAIM_SECONDS old, and the alert is sent again. No channel can avoid it: SMTP, webhooks
and Apprise's services accept a message with no key by which a second copy could be
refused, so delivery is at-least-once, never at-most-once.

Cooldown: the same check with the same outcome is not alerted again within
`[alerts] cooldown`. The right to alert is claimed first (the next entry of the journal
alerts/cooldown/<check>/<outcome>/, put-if-absent), so concurrent check runs with the same
outcome queue one alert.

Layout: alerts/pending/<id>.json, alerts/sending/<id>/<n>.json, alerts/sent/<id>.json,
alerts/log/… (a Journal), alerts/cooldown/<check>/<outcome>/… (a Journal; a single
<outcome>.json marker from before it is still honoured).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .context import context_of
from .interfaces import Message
from .journal import Journal
from .logs import get_logger
from .records import Alert

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context, ContextSource

log = get_logger("alerts")  # each failed delivery attempt, every time
BACKOFF_START = 60.0
BACKOFF_MAX = 3600.0
#: a claim to send an alert older than this is taken for a sender that died mid-send
CLAIM_SECONDS = 600.0


def now() -> datetime:
    return datetime.now(UTC)


class _Fields(dict):
    """Template fields; an unknown field shows as {name} instead of failing the alert."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(ctx: Context, result: dict[str, Any], *, look_up: bool = True) -> tuple[str, str]:
    """(subject, text) of the alert for a check result, from the [alerts] templates; the reasons
    (see alert_reasons.py) come from the evaluation judged, read unless `look_up` is False."""
    from .alert_reasons import evaluation_record, reason_fields

    settings = ctx.settings.alerts
    value = result.get("value")
    fields = _Fields(
        project=ctx.name,
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
        **reason_fields(ctx, result, evaluation_record(ctx, result) if look_up else None),
    )
    return settings.subject.format_map(fields), settings.text.format_map(fields).rstrip()


def check_templates(ctx: Context) -> None:
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
        render(ctx, sample, look_up=False)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise ctx.settings.error("alerts", f"a template is not valid: {exc}; write fields as {{name}}") from None


def alert_id(result: dict[str, Any], notifier: str) -> str:
    key = f"{result['check']}\0{result.get('seq')}\0{result['at']}\0{notifier}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def routes(ctx: Context, result: dict[str, Any]) -> list[str]:
    """The notifiers a check result goes to: the check's own `notify`, else [alerts] notify."""
    if result["outcome"] not in ctx.settings.alerts.on:
        return []
    check = ctx.settings.checks.get(result["check"])
    if check is not None and check.notify is not None:
        return list(check.notify)
    return list(ctx.settings.alerts.notify)


def _cooldown_key(result: dict[str, Any]) -> str:
    return f"alerts/cooldown/{result['check']}/{result['outcome']}.json"


def _cooling(ctx: Context, result: dict[str, Any]) -> bool:
    """True when the same check had the same outcome alerted within the cooldown."""
    last = ctx.store.get_json(_cooldown_key(result))
    if last is None:
        return False
    return now() - datetime.fromisoformat(last["at"]) < timedelta(seconds=ctx.settings.alerts.cooldown)


class _Cooling(Exception):
    """Another check run alerted the same check and outcome within the cooldown."""


def _claim_cooldown(ctx: Context, result: dict[str, Any]) -> bool:
    """Take the right to alert this check and outcome now, or False if it is cooling down.

    A journal per check and outcome (alerts/cooldown/<check>/<outcome>/): the claim is the next
    entry, put-if-absent; of concurrent check runs with the same outcome one wins, the others
    see its entry and are cooling (with a zero cooldown each gets the next number and alerts).
    """
    if _cooling(ctx, result):  # the single marker written before the journal existed
        return False
    window = timedelta(seconds=ctx.settings.alerts.cooldown)
    at = now()

    def make(seq: int, previous: dict[str, Any] | None) -> dict[str, Any]:
        if previous is not None and at - datetime.fromisoformat(previous["at"]) < window:
            raise _Cooling
        return {"seq": seq, "at": at.isoformat(), "result": result.get("seq"), "by": _owner()}

    journal = Journal(ctx.store, _cooldown_key(result).removesuffix(".json"))
    try:
        journal.append(make)
    except _Cooling:
        return False
    return True


def queue_alerts(ctx: ContextSource, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Write as pending the alerts one check result calls for (none in cooldown); returns them.

    Called right after the result is recorded, so that a crash between the two loses at
    most that one result's alerts.
    """
    ctx = context_of(ctx)
    targets = routes(ctx, result)
    if not targets:
        return []
    subject, text = render(ctx, result)  # before the claim: a broken template claims nothing
    if not _claim_cooldown(ctx, result):
        result["alert"] = "suppressed: cooldown"
        return []
    # claimed first, so concurrent check runs queue one alert; a crash right here loses this one
    return [queue(ctx, notifier, subject, text, {"kind": "check", **result}) for notifier in targets]


def queue(
    ctx: ContextSource, notifier: str, subject: str, text: str, about: dict[str, Any], html: str | None = None
) -> dict[str, Any]:
    """Write an alert as pending (before any attempt to send it)."""
    ctx = context_of(ctx)
    created = now().isoformat()
    identity = alert_id(
        {"check": about.get("check", about.get("kind")), "seq": about.get("seq"), "at": about.get("at", created)},
        notifier,
    )
    alert = ctx.settings.redactor(
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
    ctx.store.put_json_if_absent(f"alerts/pending/{identity}.json", alert)
    return alert


def _sent_key(alert_id: str) -> str:
    return f"alerts/sent/{alert_id}.json"


def _log(ctx: Context) -> Journal:
    return Journal(ctx.store, "alerts/log")


class _Logged(Exception):
    """The alert is in the log already."""


def _record_sent(ctx: Context, sent: dict[str, Any], after: int | None) -> None:
    """Append the alert to the log unless an entry after number `after` holds it already.

    Every entry from `after` to the number claimed is read (the ones that win a race before
    ours included), so two processes finishing the same alert at once log it once.
    """
    log = _log(ctx)
    checked = [after or 0]

    def make(seq: int, _previous: dict[str, Any] | None) -> dict[str, Any]:
        for number in range(checked[0] + 1, seq):
            entry = log.get(number)
            if entry is not None and entry.get("id") == sent["id"]:
                raise _Logged
        checked[0] = seq - 1
        return {"seq": seq, **sent}

    try:
        log.append(make)
    except _Logged:
        return
    ctx.events.fire("after_alert_sent", alert=Alert.of(sent))  # the record docs/hooks.md names


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _claim(ctx: Context, alert: dict[str, Any]) -> bool:
    """Take attempt number `attempts` of this alert: of concurrent senders one sends, the others
    leave it (alerts/sending/<id>/<attempts>.json, put-if-absent).

    A claim older than CLAIM_SECONDS is a sender that died mid-send: the alert's attempt count is
    bumped so the next delivery attempt claims the next number and sends it again.
    """
    key = f"alerts/sending/{alert['id']}/{alert['attempts']}.json"
    if ctx.store.put_json_if_absent(key, {"by": _owner(), "at": now().isoformat()}):
        return True
    held = ctx.store.get_json(key)
    try:
        stale = now() - datetime.fromisoformat(held["at"]) > timedelta(seconds=CLAIM_SECONDS)
    except (TypeError, KeyError, ValueError):
        stale = True
    if stale and ctx.store.get(_sent_key(alert["id"])) is None:
        error = f"its sender stopped mid-send (claimed at {held.get('at') if isinstance(held, dict) else '?'})"
        ctx.store.write_json(
            f"alerts/pending/{alert['id']}.json",
            {**alert, "attempts": alert["attempts"] + 1, "last_error": error, "next_attempt_at": now().isoformat()},
        )
    return False


def _finish(ctx: Context, alert: dict[str, Any], marker: dict[str, Any]) -> dict[str, Any]:
    """Log (if need be) an alert marked sent, and remove its pending object and its claims."""
    sent = {**alert, "status": "sent", "attempts": alert["attempts"] + 1, "sent_at": marker.get("sent_at")}
    sent["last_error"] = None
    _record_sent(ctx, sent, marker.get("after"))
    _forget(ctx, alert["id"])
    return sent


def _forget(ctx: Context, identity: str) -> None:
    """Remove an alert's pending object and its senders' claims (once sent, or given up)."""
    ctx.store.delete(f"alerts/pending/{identity}.json")
    for key in ctx.store.list(f"alerts/sending/{identity}"):
        ctx.store.delete(key)


def deliver(ctx: ContextSource, alert: dict[str, Any], *, quiet: bool = False) -> dict[str, Any]:
    """One attempt to send a pending alert; returns it marked sent or still pending (as it is when
    another sender holds the attempt). A failure is logged unless `quiet` (a caller that reports
    it itself: a test message, never retried)."""
    ctx = context_of(ctx)
    store = ctx.store
    marker = store.get_json(_sent_key(alert["id"]))
    if marker is not None:  # sent already: by someone else, or by a sender killed before it finished
        return _finish(ctx, alert, marker)
    if not _claim(ctx, alert):
        return alert
    marker = store.get_json(_sent_key(alert["id"]))  # a sender that claimed before us may have finished
    if marker is not None:
        return _finish(ctx, alert, marker)
    attempted = now()
    try:
        notifier = ctx.notifier(alert["notifier"])
        notifier.send(Message(alert["subject"], alert["text"], alert.get("html"), alert))
    except Exception as exc:  # noqa: BLE001 - any failure keeps the alert pending
        attempts = alert["attempts"] + 1
        delay = min(BACKOFF_START * 2 ** (attempts - 1), BACKOFF_MAX)
        failed = ctx.settings.redactor(
            {
                **alert,
                "attempts": attempts,
                "last_error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                "last_attempt_at": attempted.isoformat(),
                "next_attempt_at": (attempted + timedelta(seconds=delay)).isoformat(),
            }
        )
        store.write_json(f"alerts/pending/{alert['id']}.json", failed)
        if quiet:
            return failed
        log.warning(
            "alert %s to notifier '%s' not delivered (attempt %d): %s; next attempt after %s",
            alert["id"],
            alert["notifier"],
            attempts,
            failed["last_error"],
            failed["next_attempt_at"],
        )
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
    after = _log(ctx).hint()
    if store.put_json_if_absent(_sent_key(alert["id"]), {"sent_at": sent["sent_at"], "after": after}):
        _record_sent(ctx, sent, after)
    _forget(ctx, alert["id"])
    return sent


def send_test(ctx: ContextSource, notifier: str, subject: str, text: str, about: dict[str, Any]) -> dict[str, Any]:
    """One attempt through `notifier`, as an alert: logged (and after_alert_sent fired) when
    delivered; one that fails is not kept pending, since a test is not worth re-sending."""
    ctx = context_of(ctx)
    done = deliver(ctx, queue(ctx, notifier, subject, text, about), quiet=True)  # the caller reports it
    if done["status"] != "sent":
        _forget(ctx, done["id"])
    return done


def _queued(ctx: Context) -> list[dict[str, Any]]:
    """Every pending object, oldest first, including those of alerts already sent."""
    out = []
    for key in ctx.store.list("alerts/pending"):
        raw = ctx.store.get(key)
        if raw is not None:
            out.append(json.loads(raw))
    return sorted(out, key=lambda a: a["created_at"])


def pending(ctx: ContextSource) -> list[dict[str, Any]]:
    """Alerts still to deliver, oldest first; one whose sender was killed after sending it is not
    among them (its pending object goes at the next delivery attempt)."""
    ctx = context_of(ctx)
    return [a for a in _queued(ctx) if ctx.store.get(_sent_key(a["id"])) is None]


def retry(ctx: ContextSource, *, force: bool = False) -> list[dict[str, Any]]:
    """Send pending alerts: all of them with `force`, else those whose backoff has passed."""
    ctx = context_of(ctx)
    due = now()
    return [
        deliver(ctx, alert)
        for alert in _queued(ctx)
        if force or datetime.fromisoformat(alert["next_attempt_at"]) <= due
    ]


def sent(ctx: ContextSource, limit: int | None = None) -> list[dict[str, Any]]:
    """Sent alerts, oldest first: the alert log, then any alert marked sent by a sender killed
    before it logged it (the next delivery attempt logs it)."""
    ctx = context_of(ctx)
    log = _log(ctx).all()
    logged = {entry.get("id") for entry in log}
    for alert in _queued(ctx):
        marker = ctx.store.get_json(_sent_key(alert["id"])) if alert["id"] not in logged else None
        if marker is not None:
            log.append({**alert, "status": "sent", "attempts": alert["attempts"] + 1, "sent_at": marker.get("sent_at")})
    return log if limit is None else log[-limit:]


def run_checks_alerting(ctx: Context, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Run checks (all by default) and record the results; deliver the pending alerts that are
    due first, then each result's new ones."""
    from . import checks

    checks.chosen_checks(ctx, names)  # an unknown name changes nothing, delivers nothing
    retry(ctx)
    queued: list[dict[str, Any]] = []
    # each result's alerts are pending right after it is recorded, before the next check runs
    results = checks.run_checks(ctx, names, on_result=lambda r: queued.extend(queue_alerts(ctx, r)))
    for alert in queued:
        deliver(ctx, alert)
    return results
