"""The built-in triggers: cron, dataset-changed, after-scenario.

A trigger's `check(state, now)` returns (slot, new_state). The first evaluation only
records its state. The slot names the occasion; every scheduler looking at the same
store computes the same slot for the same occasion, and the scheduler's lease on the
slot makes it run once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from modelcycle.plugin import Field, PluginContext, Section, SettingsError, Trigger, suggest

_CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


# -- cron --------------------------------------------------------------------------------


class CronOptions(Section):
    schedule: str = Field(description='Five-field cron expression, e.g. "0 2 * * *" (02:00 every day), or @daily.')
    timezone: str = Field("UTC", description='IANA time zone the schedule is read in, e.g. "Europe/Paris".')
    catch_up: bool = Field(
        True,
        description="After downtime, run once for the missed times (the latest one); false: skip them, "
        "run only when the scheduled minute is the current one.",
    )


class CronTrigger(Trigger):
    """Due when a scheduled time falls after the last evaluation and at or before now."""

    name = "cron"
    Options = CronOptions

    def __init__(self, options: CronOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from croniter import croniter

        schedule = " ".join(options.schedule.split())
        fields = schedule.split(" ")
        if not (schedule.lower() in _CRON_ALIASES or len(fields) == 5) or not croniter.is_valid(schedule):
            raise SettingsError(
                f"{options.schedule!r} is not a 5-field cron expression "
                '(minute hour day-of-month month day-of-week), e.g. "0 2 * * *"',
                key="schedule",
            )
        self.schedule = schedule
        try:
            self.tz = ZoneInfo(options.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f'unknown time zone {options.timezone!r}; use an IANA name such as "Europe/Paris" or "UTC"',
                key="timezone",
            ) from None

    def label(self) -> str:
        where = "" if self.options.timezone == "UTC" else f" ({self.options.timezone})"
        return f"cron {self.schedule}{where}"

    def latest(self, now: datetime) -> datetime:
        """The latest scheduled time at or before `now`."""
        from croniter import croniter

        local = _aware(now).astimezone(self.tz)
        return croniter(self.schedule, local + timedelta(microseconds=1)).get_prev(datetime)

    def next_after(self, when: datetime) -> datetime:
        from croniter import croniter

        return croniter(self.schedule, _aware(when).astimezone(self.tz)).get_next(datetime)

    def check(self, state: dict[str, Any] | None, now: datetime) -> tuple[str | None, dict[str, Any]]:
        now = _aware(now)
        recorded = {"last": now.isoformat()}
        if not state or "last" not in state:
            return None, recorded
        last = datetime.fromisoformat(state["last"])
        if now <= last:  # the clock went back (or another scheduler is ahead): keep the later time
            return None, state
        latest = self.latest(now)
        if latest <= last:  # nothing due: the state stays, so a quiet tick writes nothing
            return None, state
        if not self.options.catch_up and latest < now.replace(second=0, microsecond=0):
            return None, recorded  # missed while down: skipped, by request
        return latest.astimezone(UTC).isoformat(), recorded


# -- dataset-changed ---------------------------------------------------------------------


class DatasetChangedOptions(Section):
    dataset: str = Field(description="A name from [datasets]; its fingerprint is compared at every evaluation.")


class DatasetChangedTrigger(Trigger):
    """Due when the dataset's fingerprint differs from the one seen at the last evaluation."""

    name = "dataset-changed"
    Options = DatasetChangedOptions

    def __init__(self, options: DatasetChangedOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        datasets = context.settings.datasets
        if options.dataset not in datasets:
            hint = suggest(options.dataset, datasets)
            raise SettingsError(
                f"unknown dataset '{options.dataset}'; {hint}defined: {', '.join(sorted(datasets)) or 'none'}",
                key="dataset",
            )

    def label(self) -> str:
        return f"dataset-changed {self.options.dataset}"

    def check(self, state: dict[str, Any] | None, now: datetime) -> tuple[str | None, dict[str, Any]]:
        current = self.context.fingerprint(self.options.dataset)
        if not state or "fingerprint" not in state:
            return None, {"fingerprint": current, "changes": 0}
        if current == state["fingerprint"]:
            return None, state
        changes = int(state.get("changes", 0)) + 1
        # the counter makes a change back to earlier content a new occasion too
        return f"{current}#{changes}", {"fingerprint": current, "changes": changes}


# -- after-scenario ----------------------------------------------------------------------

RunOutcome = Literal["SUCCESS", "WARNING", "FAILED", "ABORTED"]


class AfterScenarioOptions(Section):
    scenario: str = Field(description="The scenario whose runs are watched: a name from [scenarios].")
    outcomes: list[RunOutcome] = Field(
        default_factory=lambda: ["SUCCESS"], description="Run outcomes that make this scenario due."
    )


class AfterScenarioTrigger(Trigger):
    """Due when the other scenario recorded a newer run with one of `outcomes`."""

    name = "after-scenario"
    Options = AfterScenarioOptions

    def __init__(self, options: AfterScenarioOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        scenario = self.scenario
        scenarios = context.settings.scenarios
        if options.scenario not in scenarios:
            hint = suggest(options.scenario, scenarios)
            raise SettingsError(
                f"unknown scenario '{options.scenario}'; {hint}defined: {', '.join(sorted(scenarios))}", key="scenario"
            )
        if options.scenario == scenario:
            raise SettingsError("a scenario cannot trigger itself (it would run on every tick)", key="scenario")
        if not options.outcomes:
            raise SettingsError('empty list; give run outcomes such as ["SUCCESS"]', key="outcomes")

    def label(self) -> str:
        return f"after-scenario {self.options.scenario}"

    def check(self, state: dict[str, Any] | None, now: datetime) -> tuple[str | None, dict[str, Any]]:
        last_id, last = self.context.last_scenario_run(self.options.scenario)
        if not state or "seen" not in state:
            return None, {"seen": last_id}
        seen = int(state["seen"])
        if last_id <= seen:
            return None, state
        for seq in range(last_id, seen, -1):  # the newest matching run: one run however many there were
            run = last if seq == last_id else self.context.scenario_run(self.options.scenario, seq)
            if run is not None and run.get("outcome") in self.options.outcomes:
                return f"{self.options.scenario}#{seq}", {"seen": last_id}
        return None, {"seen": last_id}


TRIGGERS = (CronTrigger, DatasetChangedTrigger, AfterScenarioTrigger)
