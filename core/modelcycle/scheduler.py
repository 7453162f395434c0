"""The scheduler: evaluate every scenario's triggers and run the scenarios that are due.

One `tick` looks at each scenario in settings order. For each of its triggers it loads
the state saved last time (``scenarios/<name>/triggers/<index>.json``), asks the
trigger whether a *slot* is due (a cron time, a new dataset fingerprint, another
scenario's run), and saves the new state. A due slot is claimed with a **lease**,
put-if-absent on ``scenarios/<name>/leases/<sha256 of slot>/<n>.json``:

* the first scheduler to create ``0.json`` wins and runs the scenario; the others see
  the lease and leave the slot alone, so schedulers sharing a store run a due
  scenario exactly once;
* the winner renews its lease while the scenario runs and, once the run is recorded,
  writes ``done.json`` beside it (naming the run);
* if ``n.json`` exists, has expired (its owner died: ``kill -9``, a lost machine) and
  no run for the slot was recorded, the slot is taken over with ``n+1.json``.

No host's clock is compared with another's. A lease has expired when the store's own
time stamps say it was not rewritten for its whole length (its modification time against
that of ``clock.json``, written beside it just now); a store without time stamps falls
back to the lease's ``expires_at``. Leases are fenced by their number: a winner checks,
after winning and before running, and at every renewal, that no ``n+1.json`` (nor
``done.json``) exists, so a winner paused past its lease does not run a slot its
successor took. Before running, a winner that by its own monotonic clock (read before it
wrote the lease) held the lease for more than 4/5 of its length, paused, renews it first and
then makes that check; if it cannot renew, it leaves the slot to a later tick. So the run
starts with a lease this process knows is live, and a successor arriving just after the
winner resumed leaves it alone. A winner that cannot renew for 4/5 of the lease, by its own monotonic
clock, stops the run after the current step: before anyone may take the slot over.
What a step already started cannot be called back: a step that outlives a lost lease
(a pause longer than the lease in the middle of a step) may overlap its successor's run.

A trigger's new state is saved only once its slot is settled (run here, or done by
another scheduler), never while another scheduler holds the slot: if that one dies,
the slot is still computed on later ticks and taken over when its lease expires.
Several slots due for one scenario in one tick make a single run.

`serve` ticks every `interval` seconds, aligned on the clock, until stopped; a stop
request lets the running step finish and records the run ABORTED.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .context import context_of
from .logs import get_logger
from .scenarios import Stop, build_steps, error_message, instantiate, run_scenario, runs_journal, stopper

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context, ContextSource

LEASE_SECONDS = 300.0
MAX_TAKEOVERS = 1000
PRUNE_EVERY = 50  # runs
PRUNE_AFTER = timedelta(days=7)
log = get_logger("scheduler")  # every failure, every time: a warning would show once per process


def utcnow() -> datetime:
    return datetime.now(UTC)


def owner() -> str:
    """Who holds a lease: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def state_key(scenario: str, index: int) -> str:
    return f"scenarios/{scenario}/triggers/{index}.json"


def lease_prefix(scenario: str, slot: str) -> str:
    return f"scenarios/{scenario}/leases/{hashlib.sha256(slot.encode()).hexdigest()[:32]}"


def triggers(ctx: ContextSource, scenario: str) -> list[tuple[int, Any, Any]]:
    """(index, settings, Trigger object) for each trigger of a scenario."""
    ctx = context_of(ctx)
    spec = ctx.settings.scenarios[scenario]
    return [
        (i, t, instantiate(ctx, "triggers", t, ("scenarios", scenario, "triggers", i), scenario=scenario))
        for i, t in enumerate(spec.triggers)
    ]


def label(trigger: Any, spec: Any) -> str:
    """How a run names the trigger that fired it: "cron 0 2 * * *", "dataset-changed customers"."""
    label = getattr(trigger, "label", None)
    if callable(label):
        try:
            return str(label())
        except Exception:  # noqa: BLE001 - a label is not worth failing a run for
            pass
    return spec.type


def validate(ctx: ContextSource) -> int:
    """Build every trigger and step of every scenario (settings mistakes surface now); the trigger count."""
    ctx = context_of(ctx)
    count = 0
    for name in ctx.settings.scenarios:
        count += len(triggers(ctx, name))
        build_steps(ctx, name)
    return count


# -- trigger state -------------------------------------------------------------------------


def load_state(ctx: Context, scenario: str, index: int, kind: str) -> dict[str, Any] | None:
    saved = ctx.store.get_json(state_key(scenario, index))
    if isinstance(saved, dict) and saved.get("type") == kind:  # a reordered trigger list starts afresh
        return saved.get("state")
    return None


def save_state(ctx: Context, scenario: str, index: int, kind: str, state: dict[str, Any]) -> None:
    ctx.store.write_json(state_key(scenario, index), {"type": kind, "state": state})


# -- leases --------------------------------------------------------------------------------


def _age(ctx: Context, prefix: str, key: str) -> float | None:
    """Seconds since `key` was last written, by the store's clock alone: its time stamp against
    that of an object written now. None when the store keeps no time stamps."""
    stamp = ctx.store.modified(key)
    if stamp is None:
        return None
    ctx.store.write_json(f"{prefix}/clock.json", {"by": owner(), "at": utcnow().isoformat()})
    now = ctx.store.modified(f"{prefix}/clock.json")
    return None if now is None else now - stamp


def _expired(ctx: Context, prefix: str, key: str, lease: Any) -> bool:
    """Whether the lease was not renewed for its whole length, as the store's clock tells it (no
    other host's clock is trusted); a store without time stamps falls back to `expires_at`."""
    if not isinstance(lease, dict):
        return True  # unreadable: treat as abandoned
    age = _age(ctx, prefix, key)
    try:
        if age is not None:
            return age > float(lease.get("seconds", LEASE_SECONDS))
        return datetime.fromisoformat(lease["expires_at"]) <= utcnow()
    except (TypeError, KeyError, ValueError):
        return True


def superseded(ctx: Context, key: str) -> bool:
    """Whether a lease we won was taken over (a next number exists) or its slot settled: the
    fencing check a winner makes before it runs, and at every renewal."""
    prefix, name = key.rsplit("/", 1)
    n = int(name.removesuffix(".json"))
    store = ctx.store
    return store.get(f"{prefix}/{n + 1}.json") is not None or store.get(f"{prefix}/done.json") is not None


def _nothing(point: str) -> None:
    return None


#: called between winning a lease and running its scenario ("scheduler:claimed", then "scheduler:fenced"
#: once the winner checked it was not taken over); tests set it to pause the winner there
between: Callable[[str], None] = _nothing

#: this process's monotonic clock (tests advance it to stand for a pause)
monotonic: Callable[[], float] = time.monotonic


def _recorded(ctx: Context, scenario: str, slot: str, depth: int = 20) -> dict[str, Any] | None:
    """A recorded run for `slot` among the latest runs (its owner died before writing done.json)."""
    journal = runs_journal(ctx, scenario)
    seq, run = journal.last()
    for _ in range(depth):
        if run is None:
            return None
        if slot in str(run.get("slot") or "").split(", "):
            return run
        seq -= 1
        run = journal.get(seq)
    return None


def claim(ctx: ContextSource, scenario: str, slot: str, seconds: float = LEASE_SECONDS) -> tuple[str, str | None]:
    """("won", lease key), ("done", None) when the slot already ran, or ("held", None) when a live
    scheduler holds it."""
    ctx = context_of(ctx)
    store, prefix, me = ctx.store, lease_prefix(scenario, slot), owner()
    for n in range(MAX_TAKEOVERS):
        key = f"{prefix}/{n}.json"
        taken = utcnow()
        lease = {
            "owner": me,
            "scenario": scenario,
            "slot": slot,
            "taken_at": taken.isoformat(),
            "expires_at": (taken + timedelta(seconds=seconds)).isoformat(),
            "seconds": seconds,
        }
        if store.put_json_if_absent(key, lease):
            return "won", key
        if store.get(f"{prefix}/done.json") is not None:
            return "done", None
        held = store.get_json(key)
        if held is None:  # pruned: the slot is long done
            return "done", None
        if not _expired(ctx, prefix, key, held):
            return "held", None
        run = _recorded(ctx, scenario, slot)
        if run is not None:
            mark_done(ctx, scenario, slot, run)
            return "done", None
    return "held", None


def mark_done(ctx: Context, scenario: str, slot: str, run: dict[str, Any]) -> None:
    ctx.store.put_json_if_absent(
        f"{lease_prefix(scenario, slot)}/done.json",
        {"run": run.get("id"), "outcome": run.get("outcome"), "slot": slot, "at": utcnow().isoformat()},
    )


def renew(ctx: Context, key: str, seconds: float) -> bool:
    """Rewrite a lease we hold (its store time stamp is now); False when it is not ours."""
    lease = ctx.store.get_json(key)
    if not (isinstance(lease, dict) and lease.get("owner") == owner()):
        return False
    expires = utcnow() + timedelta(seconds=seconds)
    ctx.store.write_json(key, {**lease, "expires_at": expires.isoformat()})
    return True


FRESH = 0.8  # of a lease: past this, by the winner's monotonic clock, it is renewed before anything runs


def fresh(ctx: Context, key: str, since: dict[str, float], seconds: float) -> bool:
    """Whether lease `key`, written or renewed at `since[key]` (this process's monotonic clock, read
    before the write), is known to be live: a winner paused for most of its lease renews it first,
    and gives the slot up (a later tick sees it again) when it cannot."""
    if monotonic() - since[key] <= seconds * FRESH:
        return True
    started = monotonic()
    try:
        if not renew(ctx, key, seconds):
            return False
    except Exception as exc:  # noqa: BLE001 - the slot is seen again on a later tick
        log.warning("lease %s could not be renewed after a pause: %s", key, error_message(exc))
        return False
    since[key] = started
    return True


class Renewal:
    """Extends leases while their scenario runs, so a long run is not taken over.

    `lost` is set, so the run stops after its current step, when a lease was taken over (a
    next number exists) or could not be renewed for 4/5 of its length by this process's
    monotonic clock: the run stops before another scheduler may take the slot over.
    """

    def __init__(self, ctx: Context, keys: list[str], seconds: float, renewed: float | None = None) -> None:
        self.ctx, self.keys, self.seconds = ctx, keys, seconds
        self.done = threading.Event()
        self.lost = threading.Event()
        # when the leases were last written, read before writing them: a lower bound of their store time
        self.renewed = monotonic() if renewed is None else renewed
        self.thread = threading.Thread(target=self._loop, name="modelcycle-lease", daemon=True)

    def __enter__(self) -> Renewal:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        beat = min(max(self.seconds / 5, 0.05), 60.0)
        while not self.done.wait(beat):
            started = monotonic()
            try:
                for key in self.keys:
                    if superseded(self.ctx, key):
                        log.warning("lease %s was taken over: stopping the run", key)
                        self.lost.set()
                        return
                    renew(self.ctx, key, self.seconds)
                self.renewed = started
            except Exception as exc:  # noqa: BLE001 - try again at the next beat
                log.warning("renewing lease failed: %s", error_message(exc))
            if monotonic() - self.renewed > self.seconds * 0.8:
                log.warning("leases not renewed for 4/5 of their length: stopping the run")
                self.lost.set()
                return


def prune(ctx: ContextSource, scenario: str, older_than: timedelta = PRUNE_AFTER) -> int:
    """Delete lease folders of slots settled longer ago than `older_than`; the number deleted."""
    ctx = context_of(ctx)
    store = ctx.store
    folders: dict[str, list[str]] = {}
    for key in store.list(f"scenarios/{scenario}/leases"):
        folders.setdefault(key.rsplit("/", 1)[0], []).append(key)
    limit = utcnow() - older_than
    removed = 0
    for folder, keys in folders.items():
        done = store.get_json(f"{folder}/done.json")
        try:
            settled = done is not None and datetime.fromisoformat(done["at"]) < limit
        except (TypeError, KeyError, ValueError):
            settled = False
        if settled:
            for key in sorted(keys, key=lambda k: k.endswith("done.json")):  # done.json last
                store.delete(key)
            removed += 1
    return removed


# -- ticks ---------------------------------------------------------------------------------


def report_problem(message: str) -> None:
    """A trigger or tick that failed: an error line every time it happens (a Python warning would
    show once per process)."""
    log.error("%s", message)


def tick(
    ctx: ContextSource,
    now: datetime | None = None,
    *,
    stop: Stop = None,
    on_error: Callable[[str], None] | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> list[dict[str, Any]]:
    """Evaluate every trigger once at `now` (default: the current time); run what is due and won.

    Returns the runs this call made. A trigger that cannot be evaluated (a dataset that is
    gone, say) is reported through `on_error` (default: the modelcycle.scheduler
    logger, every time) and keeps its state.
    """
    ctx = context_of(ctx)
    now = now or utcnow()
    stopped = stopper(stop)
    report = on_error or report_problem
    runs: list[dict[str, Any]] = []
    for name in ctx.settings.scenarios:
        if stopped():
            break
        due: list[tuple[int, str, dict[str, Any], str, str]] = []
        for index, spec, trigger in triggers(ctx, name):
            try:
                state = load_state(ctx, name, index, spec.type)
                slot, new_state = trigger.check(state, now)
            except Exception as exc:  # noqa: BLE001 - one broken trigger must not stop the others
                report(
                    ctx.settings.redactor(
                        f"scenario '{name}': trigger {index} ({label(trigger, spec)}): {error_message(exc)}"
                    )
                )
                continue
            if slot is None:
                if new_state != state:
                    save_state(ctx, name, index, spec.type, new_state)
                continue
            due.append((index, spec.type, new_state, str(slot), label(trigger, spec)))
        won: list[tuple[int, str, dict[str, Any], str, str, str]] = []
        since: dict[str, float] = {}  # lease key: monotonic time read before it was written
        for index, kind, new_state, slot, text in due:
            claiming = monotonic()
            status, key = claim(ctx, name, slot, lease_seconds)
            if status == "won" and key is not None:
                won.append((index, kind, new_state, slot, text, key))
                since[key] = claiming
            elif status == "done":
                save_state(ctx, name, index, kind, new_state)
            # "held": another scheduler runs it; the state stays so the slot is seen again if it dies
        if won:
            between("scheduler:claimed")
            # a winner paused for most of its lease renews it first, so no successor takes it from now on;
            # fencing: one paused past its lease may have been taken over meanwhile
            won = [w for w in won if fresh(ctx, w[5], since, lease_seconds)]
            won = [w for w in won if not superseded(ctx, w[5])]
            if won:
                between("scheduler:fenced")
        if not won:
            continue
        slots = list(dict.fromkeys(w[3] for w in won))
        keys = [w[5] for w in won]
        with Renewal(ctx, keys, lease_seconds, min(since[k] for k in keys)) as renewal:
            run = run_scenario(
                ctx,
                name,
                trigger=", ".join(dict.fromkeys(w[4] for w in won)),
                stop=lambda renewal=renewal: stopped() or renewal.lost.is_set(),
                slot=", ".join(slots),
            )
        for index, kind, new_state, slot, _text, _key in won:
            mark_done(ctx, name, slot, run)
            save_state(ctx, name, index, kind, new_state)
        runs.append(run)
        if run["id"] % PRUNE_EVERY == 0:
            try:
                prune(ctx, name)
            except Exception as exc:  # noqa: BLE001 - housekeeping only
                report(f"scenario '{name}': pruning old leases failed: {error_message(exc)}")
    return runs


def serve(
    ctx: ContextSource,
    *,
    interval: float = 60.0,
    stop: threading.Event,
    on_run: Callable[[dict[str, Any]], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Tick now, then every `interval` seconds (aligned on the clock) until `stop` is set."""
    ctx = context_of(ctx)
    import time

    clock = clock or time.time
    report = on_error or report_problem
    validate(ctx)
    while not stop.is_set():
        try:
            for run in tick(ctx, stop=stop, on_error=report):
                if on_run is not None:
                    on_run(run)
        except Exception as exc:  # noqa: BLE001 - a store outage must not end the scheduler
            report(ctx.settings.redactor(f"tick failed: {error_message(exc)}"))
        stop.wait(interval - (clock() % interval) if interval > 0 else 0)
