"""`threshold`: ERROR beyond min/max, a drop or rise from the baseline, or outside value_in;
WARNING beyond soft_min/soft_max; OK otherwise. The first rule broken names the outcome."""

from __future__ import annotations

from typing import Any, Literal

from modelcycle.plugin import CheckOptions, CheckType, Field, PluginContext, SettingsError

#: the limits the threshold type judges by
KEYS = ("min", "soft_min", "max", "soft_max", "max_drop", "max_rise", "value_in")
#: the limits drawn as ERROR and WARNING zones on the dashboard's charts
ZONES = ("min", "soft_min", "max", "soft_max")


class ThresholdOptions(CheckOptions):
    """A `[checks.NAME]` section of type threshold: the core's keys and its limits."""

    model_config = {"extra": "forbid"}
    min: float | None = Field(None, description="ERROR below.")
    soft_min: float | None = Field(None, description="WARNING below.")
    max: float | None = Field(None, description="ERROR above.")
    soft_max: float | None = Field(None, description="WARNING above.")
    max_drop: float | None = Field(None, description="ERROR when the value falls this much below the baseline.")
    max_rise: float | None = Field(None, description="ERROR when the value rises this much above the baseline.")
    baseline: Literal["training", "previous"] = Field(
        "training", description="What max_drop and max_rise compare with."
    )
    value_in: list[Any] | None = Field(None, description="ERROR unless the value is one of these.")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class ThresholdCheck(CheckType):
    """min / soft_min / max / soft_max / max_drop / max_rise / value_in."""

    name = "threshold"
    Options = ThresholdOptions

    def __init__(self, options: ThresholdOptions, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        check = self.options
        if not any(getattr(check, k) is not None for k in KEYS):
            raise SettingsError("no threshold: set min, soft_min, max, soft_max, max_drop, max_rise or value_in")
        if check.min is not None and check.soft_min is not None and check.soft_min < check.min:
            raise SettingsError("is below min: warn before the error", key="soft_min")
        if check.max is not None and check.soft_max is not None and check.soft_max > check.max:
            raise SettingsError("is above max: warn before the error", key="soft_max")

    def thresholds(self) -> dict[str, Any]:
        return {k: getattr(self.options, k) for k in KEYS if getattr(self.options, k) is not None}

    def baseline_source(self) -> str | None:
        check = self.options
        return check.baseline if check.max_drop is not None or check.max_rise is not None else None

    def zones(self) -> dict[str, float]:
        return {k: getattr(self.options, k) for k in ZONES if getattr(self.options, k) is not None}

    def judge(self, value: Any, check: Any, *, baseline: float | None) -> tuple[str, str]:
        metric = check.metric
        check = self.options  # the limits, validated (numbers from ${NAME} converted)
        if check.value_in is not None and value not in check.value_in:
            return "ERROR", f"{metric} = {_fmt(value)} is not one of {check.value_in}"
        if not isinstance(value, int | float) or isinstance(value, bool):
            if check.value_in is not None:
                return "OK", f"{metric} = {_fmt(value)} is one of {check.value_in}"
            return "ERROR", f"{metric} = {value!r} is not a number"
        if check.min is not None and value < check.min:
            return "ERROR", f"{metric} = {_fmt(value)} is below min {_fmt(check.min)}"
        if check.max is not None and value > check.max:
            return "ERROR", f"{metric} = {_fmt(value)} is above max {_fmt(check.max)}"
        if baseline is not None:
            if check.max_drop is not None and baseline - value > check.max_drop:
                return "ERROR", (
                    f"{metric} = {_fmt(value)} dropped {_fmt(baseline - value)} from {_fmt(baseline)} "
                    f"(max_drop {_fmt(check.max_drop)})"
                )
            if check.max_rise is not None and value - baseline > check.max_rise:
                return "ERROR", (
                    f"{metric} = {_fmt(value)} rose {_fmt(value - baseline)} from {_fmt(baseline)} "
                    f"(max_rise {_fmt(check.max_rise)})"
                )
        if check.soft_min is not None and value < check.soft_min:
            return "WARNING", f"{metric} = {_fmt(value)} is below soft_min {_fmt(check.soft_min)}"
        if check.soft_max is not None and value > check.soft_max:
            return "WARNING", f"{metric} = {_fmt(value)} is above soft_max {_fmt(check.soft_max)}"
        if baseline is None and (check.max_drop is not None or check.max_rise is not None) and not _absolute(check):
            why = (
                "the evaluated version has no validation value of it"
                if check.baseline == "training"
                else "no earlier evaluation of the version to compare with yet"
            )
            return "EMPTY", f"{metric} = {_fmt(value)}: no baseline to compare with yet ({why})"
        return "OK", f"{metric} = {_fmt(value)} is within thresholds"


def _absolute(check: Any) -> bool:
    return any(getattr(check, k) is not None for k in ("min", "max", "soft_min", "soft_max", "value_in"))
