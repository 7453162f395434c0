"""What `Project` methods return: typed records, each with the JSON the CLI prints.

A record is a dataclass and, for compatibility, also the dict it replaced: the stored
fields read as ``record["metrics"]``, ``record.get(...)``, ``json.dumps(record)`` and
``record == {...}`` as before, while ``record.metrics`` is typed. ``to_json()`` decides the
JSON shape (cli.py never does), so a shape is written once, beside its type.

Records holding a stored document (an evaluation, an alert, a scenario run…) keep the
whole document in ``data``; the typed fields name what every such document has.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(eq=False)
class Record(dict):  # type: ignore[type-arg]  # dict for compatibility: see the module docstring
    """Base of every record: the dict content is `content()`, filled once built."""

    def __post_init__(self) -> None:
        dict.update(self, self.content())

    def content(self) -> dict[str, Any]:
        """The dict users index: the stored document, or the JSON shape."""
        data = getattr(self, "data", None)
        return dict(data) if isinstance(data, dict) else self.to_json()

    def to_json(self) -> Any:
        """The JSON the CLI prints for this record (`--json`)."""
        data = getattr(self, "data", None)
        if isinstance(data, dict):
            return dict(data)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}

    @classmethod
    def of(cls, data: dict[str, Any], **extra: Any) -> Any:
        """Build from a stored document: typed fields from its keys, the whole document as `data`."""
        names = {f.name for f in dataclasses.fields(cls)} - {"data"} - set(extra)
        return cls(**{n: data.get(n) for n in names}, **extra, data=data)


def metric_order(metrics: Iterable[str], first: Sequence[str] = ()) -> list[str]:
    """Metric names with `first` (the primary metric, then the checked ones) leading, the rest after."""
    names = list(metrics)
    leading = [m for m in dict.fromkeys(first) if m in names]
    return leading + [m for m in names if m not in leading]


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 version", "3 versions"."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


# -- versions --------------------------------------------------------------------------------


@dataclass(eq=False)
class VersionInfo(Record):
    """One version as `versions` lists it: its stored metadata with `active` and `deleted`."""

    version: int
    created_at: str
    active: bool
    deleted: bool
    metrics: dict[str, Any]
    dataset: dict[str, Any] | None
    created_by: str | None
    data: dict[str, Any] = field(repr=False)

    NO_DATASET: ClassVar[dict[str, Any]] = {"name": None, "url": None, "fingerprint": None, "rows": None}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "active": self.active,
            "deleted": bool(self.deleted),
            "metrics": self.metrics or {},
            "dataset": self.dataset or dict(self.NO_DATASET),
            "created_by": self.created_by,
        }


class VersionList(list):  # type: ignore[type-arg]
    """A model's versions, oldest first, with the metrics to show first (primary, then checked)."""

    def __init__(self, model: str, versions: Iterable[VersionInfo], leading_metrics: Sequence[str] = ()) -> None:
        super().__init__(versions)
        self.model = model
        self.leading_metrics = list(leading_metrics)

    def to_json(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self]


@dataclass(eq=False)
class VersionDetail(Record):
    """One version's metadata and lineage (`show`), with the model's activation log."""

    version: int
    active: bool
    deleted: bool
    activations: list[dict[str, Any]]
    data: dict[str, Any] = field(repr=False)


@dataclass(eq=False)
class Activation(Record):
    """An activation log entry (`activate`, `rollback`)."""

    seq: int
    version: int
    previous: int | None
    kind: str
    actor: str
    at: str
    reason: str | None
    data: dict[str, Any] = field(repr=False)


@dataclass(eq=False)
class GcReport(Record):
    """What `gc` deleted (or would delete) and what it kept."""

    deleted_versions: list[int]
    protected_versions: list[int]
    orphans: list[str]
    data: dict[str, Any] = field(repr=False)


@dataclass(eq=False)
class ScoreSummary(Record):
    """What scoring into an output wrote."""

    model: str
    version: int
    rows: int
    output: str
    logged: dict[str, Any] | None
    data: dict[str, Any] = field(repr=False)


# -- evaluations -------------------------------------------------------------------------------


@dataclass(eq=False)
class Evaluation(Record):
    """One evaluation record as the history keeps it (the `evaluate --json` shape)."""

    id: int
    model: str
    version: int
    evaluated_at: str
    rows: int
    labeled_rows: int
    metrics: dict[str, Any]
    estimated: dict[str, Any] | None
    drift: dict[str, Any]
    data: dict[str, Any] = field(repr=False)


class Evaluations(list):  # type: ignore[type-arg]
    """What `Project.evaluate` returns: one Evaluation per version evaluated, always this type.

    Most evaluations are of one version; then the result also reads as that record
    (``result["metrics"]``, ``result.get("drift")``, ``result.items()``, ``{**result}``,
    ``result.version``), as it did when `evaluate` returned a dict; iterating it yields the
    record, and ``json.dumps(result[0])`` or ``result.to_json()`` gives the record's JSON.
    With several versions, index by position.
    """

    def __init__(self, records: Iterable[dict[str, Any]], leading_metrics: Sequence[str] = ()) -> None:
        super().__init__(r if isinstance(r, Evaluation) else Evaluation.of(r) for r in records)
        self.leading_metrics = list(leading_metrics)  # what a table shows first: primary, then checked

    def only(self) -> Evaluation:
        """The one record; an error saying how to reach them when there are several."""
        if len(self) != 1:
            versions = ", ".join(str(r.version) for r in self)
            raise TypeError(
                f"this evaluation holds {len(self)} records (versions {versions}): index it by position, result[0]"
            )
        return self[0]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.only()[key]
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and len(self) == 1:
            return key in self[0]
        return super().__contains__(key)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):  # compared with the record it used to be
            return len(self) == 1 and self[0] == other
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not self:
            raise AttributeError(name)
        return getattr(self.only(), name)

    def get(self, key: str, default: Any = None) -> Any:
        return self.only().get(key, default)

    def keys(self) -> Any:
        return self.only().keys()

    def items(self) -> Any:
        return self.only().items()

    def values(self) -> Any:
        return self.only().values()

    def to_json(self) -> Any:
        """One record's JSON when one version was evaluated, else the list (as `evaluate --json` always printed)."""
        return self[0].to_json() if len(self) == 1 else [r.to_json() for r in self]


@dataclass(eq=False)
class History(Record):
    """A model's evaluations as `history` shows them: one row per evaluation.

    `metrics` names the chosen metrics (none: every field, and `--json` gives every record in full).
    """

    model: str
    metrics: list[str]
    columns: list[str]
    rows: list[dict[str, Any]] = field(repr=False)
    records: list[dict[str, Any]] = field(repr=False)

    def content(self) -> dict[str, Any]:
        return {"model": self.model, "metrics": self.metrics, "columns": self.columns, "rows": self.rows}

    def to_json(self) -> list[dict[str, Any]]:
        if not self.metrics:
            return list(self.records)
        out = []
        for row in self.rows:
            item = {
                "id": int(row["id"]),
                "evaluated_at": row["evaluated_at"],
                "version": int(row["version"]),
                "challenger": row["challenger"],
            }
            if len(self.metrics) == 1:
                item["value"] = row[self.metrics[0]]
            else:
                item["values"] = {m: row[m] for m in self.metrics}
            out.append(item)
        return out


# -- checks, alerts, status ------------------------------------------------------------------


@dataclass(eq=False)
class CheckResult(Record):
    """One check result (the `check --json` item and the after_check_result payload)."""

    check: str
    model: str
    metric: str
    value: float | None
    outcome: str
    message: str
    at: str
    data: dict[str, Any] = field(repr=False)

    SHOWN: ClassVar[tuple[str, ...]] = (
        "check",
        "model",
        "metric",
        "value",
        "outcome",
        "message",
        "at",
        "version",
        "active_version",
        "evaluation",
        "thresholds",
        "alert",
    )

    def to_json(self) -> dict[str, Any]:
        return {k: self.data.get(k) for k in self.SHOWN}


@dataclass(eq=False)
class ModelStatus(Record):
    """Per model: active version, its latest evaluation, and the worst latest check outcome."""

    model: str
    active_version: int | None
    latest_evaluation: dict[str, Any] | None
    status: str
    checks: list[dict[str, Any]]
    data: dict[str, Any] = field(repr=False)
    leading_metrics: list[str] = field(default_factory=list, repr=False)

    def shown_metrics(self) -> dict[str, Any]:
        """The latest evaluation's metrics, with the drift share and the estimates that checks
        watch, under the names the checks use: a table then shows what decides the status."""
        latest = self.latest_evaluation or {}
        shown = dict(latest.get("metrics") or {})
        watched = {"drift.share": latest.get("drift_share")}
        watched |= {f"estimated.{k}": v for k, v in (latest.get("estimated") or {}).items()}
        shown |= {name: watched[name] for name in self.leading_metrics if name in watched}
        return shown


@dataclass(eq=False)
class Alert(Record):
    """An alert, pending or sent (the after_alert_sent payload, `alerts --json` items)."""

    id: str
    notifier: str
    subject: str
    text: str
    status: str
    created_at: str
    attempts: int
    last_error: str | None
    about: dict[str, Any]
    data: dict[str, Any] = field(repr=False)


@dataclass(eq=False)
class AlertList(Record):
    """`alerts`: the sent ones (the latest 200) then the pending ones, or the pending ones only."""

    alerts: list[Alert]
    pending_only: bool

    def content(self) -> dict[str, Any]:
        return {"alerts": self.alerts, "pending_only": self.pending_only}

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.alerts]


@dataclass(eq=False)
class Retried(Record):
    """`alerts retry`: every pending alert tried once, each as it ended (sent or still pending)."""

    alerts: list[Alert]

    @property
    def delivered(self) -> int:
        return sum(a.status == "sent" for a in self.alerts)

    def content(self) -> dict[str, Any]:
        return {"alerts": self.alerts, "delivered": self.delivered}

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.alerts]


@dataclass(eq=False)
class NotifyResult(Record):
    """`notify`: a test message sent through one notifier, recorded in the alert log when delivered."""

    notifier: str
    delivered: bool
    target: str | None
    error: str | None
    alert: Alert

    def to_json(self) -> dict[str, Any]:
        return {
            "notifier": self.notifier,
            "delivered": self.delivered,
            "target": self.target,
            "error": self.error,
            "alert": self.alert.to_json(),
        }


# -- scenarios and the scheduler ----------------------------------------------------------------


@dataclass(eq=False)
class ScenarioRun(Record):
    """One recorded scenario run (`scenario run --json`, after_scenario_finished payload)."""

    id: int
    scenario: str
    trigger: str
    started_at: str | None
    finished_at: str | None
    outcome: str
    steps: list[dict[str, Any]]
    data: dict[str, Any] = field(repr=False)


@dataclass(eq=False)
class ScenarioSummary(Record):
    """A scenario as `scenario list` shows it: triggers, steps, routing and last run."""

    name: str
    triggers: list[str]
    steps: list[str]
    notify: dict[str, list[str]]
    last_run: dict[str, Any] | None


@dataclass(eq=False)
class SchedulerEvent(Record):
    """One thing the scheduler did: `started`, `run` (a scenario run), `problem`, `stopped`.

    `scheduler --json` prints one JSON line per event.
    """

    event: str
    run: ScenarioRun | None = None
    message: str | None = None
    scenarios: int | None = None
    triggers: int | None = None
    interval: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event}
        if self.run is not None:
            out["run"] = self.run.to_json()
        for name in ("message", "scenarios", "triggers", "interval"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(eq=False)
class SchedulerTick(Record):
    """`scheduler --once`: the runs one tick started and the problems it met."""

    runs: list[ScenarioRun]
    problems: list[str]
    triggers: int

    @property
    def failed(self) -> bool:
        return bool(self.problems) or any(r.outcome in ("FAILED", "ABORTED") for r in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {"runs": [r.to_json() for r in self.runs], "problems": self.problems, "triggers": self.triggers}


# -- the dashboard, plugins, set-up -----------------------------------------------------------


@dataclass(eq=False)
class DashboardBuilt(Record):
    """`dashboard build`: where the file went, its size and how long it took."""

    path: str
    bytes: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "seconds": round(self.seconds, 3)}


@dataclass(eq=False)
class DashboardServing(Record):
    """`dashboard serve`: the server is listening (`--json` prints it as one line, then `stopped`)."""

    event: str
    project: str
    url: str | None
    host: str
    loopback: bool


@dataclass(eq=False)
class PluginInfo(Record):
    """A loaded plugin: where it came from, its hooks and what it registers."""

    name: str
    source: str
    hooks: list[str]
    registers: dict[str, list[str]]
    data: dict[str, Any] = field(repr=False)


@dataclass(eq=False)
class Initialised(Record):
    """`init`: the settings file written."""

    path: str
    next_step: str


@dataclass(eq=False)
class DemoResult(Record):
    """`demo`: the folder it played in and what happened there."""

    folder: str
    data: dict[str, Any] = field(repr=False)


#: Hook arguments documented by a record (docs/gen_hooks.py lists their fields).
HOOK_PAYLOADS: dict[str, type[Record]] = {
    "evaluation": Evaluation,
    "result": CheckResult,
    "alert": Alert,
    "activation": Activation,
    "run": ScenarioRun,
}
