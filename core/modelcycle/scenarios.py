"""Scenarios: a named, ordered list of steps, run by hand or by the scheduler.

A run goes step by step. Each step's ``run_if`` decides whether it runs given the
steps before it: ``success`` (the default) runs only if no earlier step FAILED,
``failure`` only if one did, ``always`` whatever happened. A step that does not run
is recorded as SKIPPED. ``retries = N`` gives a FAILED step (or one that raised) N more
attempts. An exception is a FAILED step whose message is ``ExcType: text`` (one line,
secrets redacted).

The run's outcome: ABORTED when it was stopped (the step in progress finishes, the
steps after it neither run nor appear in the record), else FAILED if it timed out or any
step FAILED, else WARNING if any step ended in WARNING, else SUCCESS.

The scenario's ``timeout`` bounds the whole run, so that nothing (a notifier that never
answers, a stuck data source) can hold it, or the scheduler running it, for ever. With a
timeout each step runs in a daemon thread that the run waits for until the deadline.
Python cannot stop a thread: past the deadline the step is abandoned (recorded FAILED,
"timed out"), the later steps are SKIPPED, and the run is recorded FAILED at once. A
timeout is a failure, not a stop: nobody asked for it, the step did not finish, and
people must hear about it through the FAILED routing. The abandoned thread ends with
the process (``scenario run``), or finishes later in a scheduler, recording what it did
the usual way. Alerts are written as pending before any attempt to send them, so the
ones a hung notifier holds stay pending; past the deadline nothing more is sent.

Every run is recorded, once finished, in the Journal ``scenarios/<name>/runs`` (its
``id`` is the journal's sequence number), then ``after_scenario_finished`` fires and
the scenario's ``notify`` routing for that outcome is applied through the never-lost
alert delivery of :mod:`modelcycle.alerts`, within the time left. Pending alerts whose
backoff has passed are delivered when a run starts (this counts toward the timeout).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .context import context_of
from .errors import NotFoundError
from .interfaces import StepResult
from .journal import Journal
from .logs import get_logger, warn
from .names import check_name, suggest
from .records import ScenarioRun

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context, ContextSource

STEP_OUTCOMES = ("SUCCESS", "WARNING", "FAILED")
SEVERITY = {"SUCCESS": 0, "SKIPPED": 0, "WARNING": 1, "FAILED": 2, "ABORTED": 3}
MESSAGE_LIMIT = 2000
log = get_logger("scenarios")

Stop = threading.Event | Callable[[], bool] | None
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def runs_journal(ctx: ContextSource, name: str) -> Journal:
    """The run history of scenario `name`."""
    ctx = context_of(ctx)
    return Journal(ctx.store, f"scenarios/{name}/runs")


def require_scenario(ctx: Context, name: str) -> Any:
    """The scenario's settings, or an error listing the scenarios defined."""
    scenarios = ctx.settings.scenarios
    if name in scenarios:
        return scenarios[name]
    hint = suggest(name, scenarios)
    known = ", ".join(sorted(scenarios)) or "none: add a [scenarios.NAME] section"
    raise NotFoundError(f"unknown scenario '{name}'; {hint}scenarios in {ctx.settings.file.name}: {known}")


def instantiate(ctx: Context, kind: str, spec: Any, key: tuple, *, scenario: str | None = None) -> Any:
    """A step or trigger object from its settings: options validated, errors naming the full key."""
    from .settings import _dotted

    ctx.plugin_class(kind, spec.type, _dotted((*key, "type")))
    scenario = scenario if scenario is not None else str(key[1])
    return ctx.create(kind, spec.type, spec.model_extra, key=_dotted(key), scenario=scenario)


def build_steps(ctx: Context, name: str) -> list[tuple[Any, Any]]:
    """(settings, Step object) for each step of a scenario, every one validated up front."""
    scenario = require_scenario(ctx, name)
    return [
        (spec, instantiate(ctx, "steps", spec, ("scenarios", name, "steps", i)))
        for i, spec in enumerate(scenario.steps)
    ]


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def error_message(exc: BaseException) -> str:
    text = str(exc)
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def outcome_of(steps: list[dict[str, Any]]) -> str:
    """The outcome a run would have from these steps (ABORTED is decided by the caller)."""
    outcomes = {s["outcome"] for s in steps}
    if "FAILED" in outcomes:
        return "FAILED"
    if "WARNING" in outcomes:
        return "WARNING"
    return "SUCCESS"


def summary(steps: list[dict[str, Any]]) -> str:
    """One line: each step, its outcome and message."""
    parts = []
    for step in steps:
        text = f"{step['type']} {step['outcome']}"
        if step.get("message"):
            text += f" ({step['message']})"
        parts.append(text)
    return "; ".join(parts) or "no steps ran"


class TimedOut(Exception):
    """The scenario's timeout passed while a call was still running."""


def within(deadline: float | None, call: Callable[[], Any], name: str = "modelcycle-step") -> Any:
    """`call()`, waited for until `deadline` (a time.monotonic() value); TimedOut past it.

    With a deadline the call runs in a daemon thread, since Python cannot interrupt a call
    blocked in a socket: one that hangs is abandoned, and the process can still exit.
    Exceptions, KeyboardInterrupt included, reach the caller as if the call ran here.
    """
    if deadline is None:
        return call()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise TimedOut
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def duration_text(seconds: float) -> str:
    """90 → '90s', 1800 → '30m', 7200 → '2h': how a timeout is written in settings."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def stopper(stop: Stop) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def _result(value: Any, step: Any) -> StepResult:
    """A step's return value, checked: a misbehaving plugin fails its step, not the run."""
    if isinstance(value, StepResult) and value.outcome in STEP_OUTCOMES:
        return StepResult(value.outcome, one_line(value.message or ""))
    return StepResult(
        "FAILED",
        f"step '{getattr(step, 'name', '?')}' ({type(step).__module__}) returned {value!r:.80}: "
        f"expected a StepResult with outcome {', '.join(STEP_OUTCOMES)}",
    )


def run_scenario(
    ctx: ContextSource,
    name: str,
    *,
    trigger: str = "manual",
    stop: Stop = None,
    clock: Clock | None = None,
    slot: str | None = None,
) -> dict[str, Any]:
    """Run scenario `name` now and record it; returns the run record (``scenario run --json`` shape).

    `stop` (a threading.Event or a callable) is looked at between steps and between a step's
    attempts: once set, the step in progress finishes and the run ends ABORTED. `clock` gives
    the times recorded (default: now, UTC). `slot` names the scheduler occasion that fired it.
    The scenario's `timeout` bounds the run (see the module docstring).
    """
    ctx = context_of(ctx)
    from . import alerts

    clock = clock or utcnow
    stopped = stopper(stop)
    steps = build_steps(ctx, name)  # settings mistakes surface before anything runs
    limit = require_scenario(ctx, name).timeout
    deadline = time.monotonic() + limit if limit else None
    late = f"the run timed out (timeout {duration_text(limit)})"
    timed_out = False
    try:
        within(deadline, functools.partial(alerts.retry, ctx), "modelcycle-alerts")
    except TimedOut:
        timed_out = True
    except Exception as exc:  # noqa: BLE001 - a store hiccup delivering old alerts must not block the run
        message = f"delivering pending alerts failed: {error_message(exc)}"
        warn(log, ctx.settings.redactor(message), stacklevel=2)
    redact = ctx.settings.redactor
    run: dict[str, Any] = {
        "id": None,
        "scenario": name,
        "trigger": trigger,
        "slot": slot,
        "project": ctx.name,
        "started_at": clock().isoformat(),
        "finished_at": None,
        "outcome": None,
        "steps": [],
    }
    records: list[dict[str, Any]] = run["steps"]
    aborted = False
    interrupted: BaseException | None = None
    for index, (spec, step) in enumerate(steps):
        if stopped():
            aborted = True
            break
        failed = any(r["outcome"] == "FAILED" for r in records)
        at = clock().isoformat()
        record: dict[str, Any] = {"type": spec.type, "outcome": "SKIPPED", "started_at": at, "finished_at": at}
        timed_out = timed_out or (deadline is not None and time.monotonic() >= deadline)
        if timed_out:
            record["message"] = late
            records.append(record)
            continue
        if (spec.run_if == "success" and failed) or (spec.run_if == "failure" and not failed):
            record["message"] = "an earlier step failed" if failed else "no earlier step failed"
            records.append(record)
            continue
        attempts = 0
        while True:
            attempts += 1
            view = {**run, "steps": [dict(r) for r in records], "step": index, "attempt": attempts}
            try:
                result = _result(within(deadline, functools.partial(step.run, view)), step)
            except TimedOut:
                timed_out = True
                result = StepResult(
                    "FAILED", f"timed out: {late} while this step ran; it was abandoned, later steps did not run"
                )
                break
            except Exception as exc:  # noqa: BLE001 - any failure of a step is the step's FAILED outcome
                result = StepResult("FAILED", error_message(exc))
            except BaseException as exc:  # Ctrl-C a second time, or SystemExit from user code: record, then re-raise
                result = StepResult("ABORTED", f"interrupted: {error_message(exc)}")
                interrupted = exc
                break
            late_now = deadline is not None and time.monotonic() >= deadline
            if result.outcome != "FAILED" or attempts > spec.retries or stopped() or late_now:
                break
            log.info("scenario '%s': step %d (%s) failed, retrying: %s", name, index, spec.type, result.message)
        record.update(
            outcome=result.outcome,
            finished_at=clock().isoformat(),
            message=redact(result.message),
            attempts=attempts,
        )
        records.append(record)
        if interrupted is not None:
            aborted = True
            break
    run["outcome"] = "ABORTED" if aborted else "FAILED" if timed_out else outcome_of(records)
    run["finished_at"] = clock().isoformat()
    entry = record_run(ctx, run, deadline=deadline)
    log_run(entry)
    if interrupted is not None:
        raise interrupted
    return entry


def log_run(run: dict[str, Any]) -> None:
    """One log line per finished run: an error naming the first failed step when it FAILED (a
    warning when ABORTED or WARNING, info when it succeeded)."""
    failed = next((s for s in run["steps"] if s["outcome"] in ("FAILED", "ABORTED")), None)
    if run["outcome"] in ("SUCCESS", "WARNING") or failed is None:
        level = logging.WARNING if run["outcome"] != "SUCCESS" else logging.INFO
        log.log(level, "scenario '%s': run %s %s", run["scenario"], run["id"], run["outcome"])
        return
    step = run["steps"].index(failed)
    log.log(
        logging.ERROR if run["outcome"] == "FAILED" else logging.WARNING,  # ABORTED: stopped on purpose
        "scenario '%s': run %s %s: step %d (%s): %s",
        run["scenario"],
        run["id"],
        run["outcome"],
        step,
        failed["type"],
        failed.get("message") or "",
    )


def record_run(ctx: Context, run: dict[str, Any], *, deadline: float | None = None) -> dict[str, Any]:
    """Append a finished run to its history, fire after_scenario_finished, route its notifications
    (sent until `deadline`, a time.monotonic() value; those left stay pending)."""
    redact = ctx.settings.redactor
    _, entry = runs_journal(ctx, run["scenario"]).append(lambda seq, _prev: redact({**run, "id": seq}))
    ctx.events.fire("after_scenario_finished", run=ScenarioRun.of(entry))  # the record docs/hooks.md names
    try:
        sent = notify_run(ctx, entry, deadline=deadline)
    except Exception as exc:  # noqa: BLE001 - the run is recorded; a broken notifier must not hide it
        message = f"scenario '{run['scenario']}': notifying failed: {error_message(exc)}"
        warn(log, ctx.settings.redactor(message), stacklevel=2)
        sent = []
    return {**entry, "alerts": sent} if sent else entry


def render_run(ctx: Context, run: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of the alert about a finished run."""
    subject = f"[modelcycle] {ctx.name}: scenario {run['scenario']} {run['outcome']}"
    lines = [
        f"Scenario {run['scenario']} of project {ctx.name} ended {run['outcome']} "
        f"(run {run['id']}, trigger: {run['trigger']}).",
        f"Started {run['started_at']}, finished {run['finished_at']}.",
        "",
    ]
    for step in run["steps"]:
        line = f"- {step['type']}: {step['outcome']}"
        if step.get("message"):
            line += f": {step['message']}"
        lines.append(line)
    if not run["steps"]:
        lines.append("- no step ran")
    from .alert_reasons import dashboard_url

    dashboard = dashboard_url(ctx)
    if dashboard:
        lines += ["", f"Dashboard: {dashboard}"]
    return subject, "\n".join(lines)


def notify_run(ctx: Context, run: dict[str, Any], *, deadline: float | None = None) -> list[dict[str, Any]]:
    """Queue and deliver the alerts `[scenarios.NAME] notify` asks for this run's outcome.

    Delivery stops at `deadline` (a time.monotonic() value): the alerts not sent by then stay
    pending, for `alerts retry` or the next run; past it none is attempted.
    """
    from . import alerts

    scenario = ctx.settings.scenarios.get(run["scenario"])
    targets = list((scenario.notify if scenario is not None else {}).get(run["outcome"], []))
    if not targets:
        return []
    subject, text = render_run(ctx, run)
    about = {
        "kind": "scenario",
        "scenario": run["scenario"],
        "run": run["id"],
        "seq": f"{run['scenario']}#{run['id']}",
        "outcome": run["outcome"],
        "trigger": run["trigger"],
        "at": run["finished_at"],
    }
    queued = [alerts.queue(ctx, target, subject, text, about) for target in targets]
    done: list[dict[str, Any]] = []
    if deadline is None or time.monotonic() < deadline:

        def deliver_all() -> None:
            for alert in queued:
                done.append(alerts.deliver(ctx, alert))

        try:
            within(deadline, deliver_all, "modelcycle-notify")
        except TimedOut:
            pass  # a notifier hangs: the alerts not delivered yet stay pending
    results = list(done)
    return [{k: a.get(k) for k in ("id", "notifier", "status", "last_error")} for a in results + queued[len(results) :]]


def scenario_runs(ctx: ContextSource, name: str | None = None) -> list[dict[str, Any]]:
    """Every recorded run of scenario `name` (of every scenario without it), oldest first."""
    ctx = context_of(ctx)
    if name is not None:
        check_name(name, "scenario name")
        if name not in ctx.settings.scenarios and runs_journal(ctx, name).last()[0] == 0:
            require_scenario(ctx, name)
        return runs_journal(ctx, name).all()
    out: list[dict[str, Any]] = []
    for scenario in ctx.settings.scenarios:
        out += runs_journal(ctx, scenario).all()
    return sorted(out, key=lambda r: (r.get("started_at") or "", r["scenario"], r["id"]))


def last_run(ctx: ContextSource, name: str) -> dict[str, Any] | None:
    ctx = context_of(ctx)
    return runs_journal(ctx, name).last()[1]
