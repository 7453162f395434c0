"""modelcycle.toml → typed, validated settings.

Every mistake becomes one line: the file, the dotted key, what is wrong and how to
fix it. Values that came from ``${NAME}`` are remembered so that they can be
redacted from anything shown or stored.
"""

import json
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ._validate import Field, Section, ValidationError
from .errors import ModelcycleError, SettingsError
from .names import check_name, suggest
from .redaction import PROCESS, Redactor

SETTINGS_FILE = "modelcycle.toml"
OUTCOMES = ("OK", "WARNING", "ERROR", "EMPTY")
RUN_OUTCOMES = ("SUCCESS", "WARNING", "FAILED", "ABORTED")


# -- durations ----------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: the longest duration a setting takes: longer ones overflow clocks and timers ("1e300" seconds)
MAX_DURATION = 366 * 86400.0


def parse_duration(value: Any) -> float:
    """'90s', '30m', '6h', '1d', '2w' or a number of seconds → seconds, at most 366 days."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            seconds = math.copysign(math.inf, value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds is None or seconds != seconds:
        raise ValueError("a duration is a number of seconds or text like '30m', '6h', '1d'")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION:
        raise ValueError("a duration is at most 366 days ('366d')")
    return seconds


def parse_as_of(value: Any) -> str | None:
    """The date or ISO time some data covers, as ISO text; a time without a zone is taken as UTC."""
    from datetime import UTC, date, datetime

    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return None if value is None else value.isoformat()
    moment = value if isinstance(value, datetime) else None
    text = str(value).strip()
    if moment is None and re.match(r"\d{4}-\d{2}-\d{2}", text):
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(f"{text!r} is not a date: give YYYY-MM-DD or an ISO time such as 2026-10-31T23:00:00Z")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


# -- sections -----------------------------------------------------------------------
# Every section is a frozen Section (see _validate.py): unknown keys are refused unless
# model_config allows extra keys, which then stay in `model_extra` for the plugin to check.


class ProjectSettings(Section):
    name: str = Field("", description="Project name shown in alerts and the dashboard; default: the folder's name.")
    store: str = Field(
        ".modelcycle", description="Where all state lives: a folder or any fsspec URL (s3://bucket/prefix)."
    )
    store_options: dict[str, Any] = Field(
        default_factory=dict, description='Passed to fsspec, e.g. { endpoint_url = "${S3_ENDPOINT}" }.'
    )
    plugins: list[str] = Field(
        default_factory=list, description="Extra plugin modules: importable names or .py paths relative to this file."
    )
    block_plugins: list[str] = Field(
        default_factory=list, description="Plugins (entry-point names) not to load; also MODELCYCLE_BLOCK_PLUGINS=a,b."
    )
    executor: str = Field("local", description="Executor plugin running scoring and evaluation: local or dask.")
    executor_options: dict[str, Any] = Field(
        default_factory=dict, description='Options for the executor, e.g. address = "tcp://scheduler:8786".'
    )


class DatasetSettings(Section):
    url: str = Field(description="Path or fsspec URL (globs allowed) of CSV, Parquet or JSON-lines data.")
    format: Literal["csv", "parquet", "jsonl"] | None = Field(None, description="Default: inferred from the suffix.")
    read_options: dict[str, Any] = Field(default_factory=dict, description="Passed to the reader.")
    as_of: str | None = Field(
        None,
        description='The date the data covers: a TOML date (2026-10-31) or text ("2026-10-31", an ISO time); '
        "recorded with each evaluation on it (evaluate --as-of overrides it).",
        before=parse_as_of,
    )


class SplitSettings(Section):
    method: Literal["random", "stratified", "time", "kfold"] = Field(
        "random", description="How validation rows are chosen."
    )
    test_size: float = Field(0.2, gt=0, lt=1, description="Fraction of rows that validate (random, stratified, time).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed for every random choice of the recipe.")
    column: str | None = Field(None, description="time: the column rows are sorted on; the latest rows validate.")
    folds: int = Field(5, ge=2, le=100, description="kfold: number of folds.")


class ActivationSettings(Section):
    policy: Literal["always", "if-better", "manual"] = Field("always", description="What happens to a new version.")
    min_delta: float = Field(
        0.0, ge=0, description="if-better: the candidate must beat the active version by at least this."
    )
    significance: float = Field(
        0.05, gt=0, le=1, description="if-better: the improvement must be significant at this level (paired bootstrap)."
    )
    resamples: int = Field(1000, ge=100, le=100_000, description="if-better: bootstrap resamples.")
    on: str | None = Field(
        None,
        description="if-better: compare on this labelled dataset (a name from [datasets]) instead of the holdout "
        "rows the active version was not trained on. Rows either version was trained on are left out.",
    )
    min_rows: int = Field(
        100, ge=1, description="if-better: refuse the candidate when fewer rows than this remain to compare on."
    )


class ColumnDriftSettings(Section):
    method: str | None = Field(None, description="A drift test for this column; default: the model's drift method.")
    threshold: float | dict[str, float] | None = Field(
        None,
        description="The method's threshold for this column; with method auto, a table of its measures, "
        "e.g. { wasserstein = 0.1, missing = 0.05 }.",
    )
    exclude: bool = Field(False, description="true: no drift result for this column, and not in drift.share.")


class DriftSettings(Section):
    method: str = Field("auto", description="auto, or a drift test name for every column.")
    threshold: dict[str, float] = Field(
        default_factory=dict,
        description="Per-method thresholds, e.g. { psi = 0.2 }; also the auto measures' (wasserstein, ks, missing, "
        "out_of_range, shares, new_categories).",
    )
    columns: dict[str, str | ColumnDriftSettings] = Field(
        default_factory=dict,
        description="Per column: a method name, or a table [models.NAME.drift.columns.COLUMN] with method, "
        "threshold (a number, or for auto a table of its measures) and exclude (true: no drift result).",
    )
    significance: float = Field(
        0.05,
        gt=0,
        le=1,
        description="A column judged by a named test drifts only if the difference is also significant at this "
        "level (guards small samples; 1 turns it off; auto has its own noise bounds). Effect size still decides "
        "at scale.",
    )


class ModelSettings(Section):
    """`trainer` picks the trainer plugin; keys not listed here are that plugin's to validate
    (the scikit-learn trainer's estimator, params, preprocessing, artifact_format)."""

    model_config = {"extra": "allow"}
    dataset: str = Field(description="The training dataset: a name from [datasets].")
    target: str = Field(description="The column to predict.")
    task: Literal["binary", "multiclass", "regression"] | None = Field(
        None, description="Inferred from the target when absent."
    )
    features: list[str] = Field(default_factory=list, description="Default: every column but target and exclude.")
    exclude: list[str] = Field(default_factory=list, description="Columns never used as features.")
    trainer: str = Field("sklearn", description="A trainer plugin.")
    split: SplitSettings = Field(default_factory=SplitSettings)
    refit_full: bool = Field(False, description="After validation, refit on the whole dataset.")
    metrics: list[str] = Field(default_factory=list, description="Default: per task.")
    primary_metric: str | None = Field(None, description="The metric activation compares; default per task.")
    threshold: float | str | None = Field(None, description="binary: a number, or optimize:METRIC on the holdout.")
    label_column: str | None = Field(None, description="Label column in feedback data; default: target.")
    prediction_column: str = Field(
        "prediction", description="Column of predictions served in production, in feedback data."
    )
    id_column: str | None = Field(
        None, description="Column identifying a row in scored data and in labels that arrive later."
    )
    prediction_log: bool = Field(
        False, description="score logs the scored rows' ids and predictions to the store (needs id_column)."
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Cap on threads per training (OpenMP, BLAS, n_jobs); default: the libraries' own.",
    )
    activation: ActivationSettings = Field(default_factory=ActivationSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)


class CheckSettings(Section):
    """`type` picks the check type plugin; keys not listed here are that type's to validate
    (the threshold type's min, soft_min, max, soft_max, max_drop, max_rise, baseline, value_in)."""

    model_config = {"extra": "allow"}
    model: str = Field(description="The model whose latest evaluation (of its active version) is checked.")
    metric: str = Field(
        description="A field of that evaluation, e.g. roc_auc, drift.share, estimated.roc_auc; a name nothing "
        "can produce is an error."
    )
    version: Literal["active", "any"] = Field(
        "active",
        description='Whose evaluations are judged: "active", the version active when the check runs; "any", the '
        "latest evaluation of any version (challengers included).",
    )
    type: str = Field("threshold", description="A check type plugin.")
    notify: list[str] | None = Field(None, description="Notifiers for this check; replaces [alerts] notify.")


class NotifierSettings(Section):
    """`type` picks the notifier plugin; the other keys are that plugin's to validate."""

    model_config = {"extra": "allow"}
    type: str = Field(description="A notifier plugin: email, apprise, file, …")


class AlertSettings(Section):
    on: list[Literal["OK", "WARNING", "ERROR", "EMPTY"]] = Field(
        default_factory=lambda: ["ERROR", "WARNING"], description="Check outcomes that notify."
    )
    notify: list[str] = Field(default_factory=list, description="Default notifiers.")
    cooldown: float = Field(
        6 * 3600.0,
        description='The same check with the same outcome is not re-sent within this ("6h", "30m", seconds).',
        before=parse_duration,
    )
    subject: str = Field(
        "[modelcycle] {project}: check {check} is {outcome} for {model} v{version}",
        description="Alert subject template; fields: project, check, outcome, model, version, metric, value, "
        "message, thresholds, evaluation, at, why, drifted, evaluated, data, as_of, dashboard, dashboard_url.",
    )
    text: str = Field(
        "Check {check} on model {model} (version {version}) is {outcome}: {message}\n"
        "{why}\n"
        "Judged {evaluated}; checked at {at}. Project {project}.\n{dashboard}",
        description="Alert body template, same fields as subject.",
    )
    dashboard_url: str = Field("", description="Older spelling of [dashboard] url, used when that is not set.")


class DashboardSettings(Section):
    url: str = Field(
        "",
        description="Where people open the dashboard (a URL or a path); alerts link to the section they are about.",
    )
    time_axis: Literal["evaluated_at", "as_of"] = Field(
        "evaluated_at",
        description="What the charts' time axis shows: when an evaluation ran, or the period its data covers "
        "(as_of; evaluations without one stay at the time they ran).",
    )


class StepSettings(Section):
    model_config = {"extra": "allow"}
    type: str = Field(description="A step plugin: retrain, evaluate, check, score, notify, python.")
    run_if: Literal["success", "failure", "always"] = Field(
        "success", description="When the step runs, given earlier steps."
    )
    retries: int = Field(0, ge=0, le=100, description="Extra attempts after a failure.")


class TriggerSettings(Section):
    model_config = {"extra": "allow"}
    type: str = Field(description="A trigger plugin: cron, dataset-changed, after-scenario.")


class ScenarioSettings(Section):
    triggers: list[TriggerSettings] = Field(default_factory=list)
    steps: list[StepSettings] = Field(default_factory=list)
    notify: dict[Literal["SUCCESS", "WARNING", "FAILED", "ABORTED"], list[str]] = Field(
        default_factory=dict, description="Notifiers per run outcome."
    )
    timeout: float = Field(
        3600.0,
        description='The longest a run may take ("30m", "2h", seconds; 0: no limit). Past it the step in '
        "progress is abandoned, the later steps are skipped and the run is recorded FAILED.",
        before=parse_duration,
    )


class SettingsModel(Section):
    project: ProjectSettings = Field(default_factory=ProjectSettings)
    datasets: dict[str, DatasetSettings] = Field(default_factory=dict)
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    checks: dict[str, CheckSettings] = Field(default_factory=dict)
    notifiers: dict[str, NotifierSettings] = Field(default_factory=dict)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    scenarios: dict[str, ScenarioSettings] = Field(default_factory=dict)


# -- the loaded settings ----------------------------------------------------------------


class Settings:
    """Validated settings plus where they came from and what must stay secret."""

    def __init__(self, file: Path, model: SettingsModel, redactor: Redactor) -> None:
        #: dotted key → (value, placeholder) pairs of the ${NAME}s under keys a plugin validates
        self.deferred_env: dict[str, list[tuple[str, str]]] = {}
        self.file = file
        self.root = file.parent
        self.model = model
        self.redactor = redactor
        self.project = model.project
        self.datasets = model.datasets
        self.models = model.models
        self.checks = model.checks
        self.notifiers = model.notifiers
        self.alerts = model.alerts
        self.dashboard = model.dashboard
        self.scenarios = model.scenarios

    @property
    def project_name(self) -> str:
        return self.project.name or self.root.name

    def resolve_url(self, url: str) -> str:
        """A URL as given, or a path relative to the settings file made absolute."""
        if "://" in url or url.startswith("/"):
            return url
        return str((self.root / url).resolve())

    def error(self, key: str, problem: str) -> SettingsError:
        """A one-line error about `key` in this file, never showing an interpolated value."""
        return SettingsError(self.redactor(problem), key=self.redactor(key), file=self.file.name)

    def place(self, exc: SettingsError, prefix: str | None = None) -> SettingsError:
        """A plugin's or a helper's error (its key relative to `prefix`) as an error about this file."""
        if exc.placed:
            return exc
        if prefix is not None:
            exc = exc.under(prefix)
        return self.error(exc.key or "", exc.problem) if exc.key else SettingsError(exc.problem, file=self.file.name)


# -- discovery ----------------------------------------------------------------------------


def find_settings_file(path: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """The settings file: `path` (a file or folder), else $MODELCYCLE_PROJECT, else upward from cwd."""
    given = path if path is not None else os.environ.get("MODELCYCLE_PROJECT") or None
    if given is not None:
        candidate = Path(given).expanduser()
        if candidate.is_dir():
            candidate = candidate / SETTINGS_FILE
        if not candidate.is_file():
            raise SettingsError(
                f"no settings file at {candidate}: give a folder holding {SETTINGS_FILE} "
                "or the file itself (modelcycle init DIR writes one)"
            )
        return candidate.resolve()
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / SETTINGS_FILE
        if candidate.is_file():
            return candidate
    raise SettingsError(
        f"no {SETTINGS_FILE} in {here} or any parent: run 'modelcycle init', "
        "or point at a project with --project PATH or MODELCYCLE_PROJECT"
    )


def load_settings(file: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Parse, interpolate and validate a settings file."""
    import tomllib  # here: only loading needs it, and `import modelcycle.settings` stays quick

    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
        _check_depth(raw, file.name)
    except RecursionError:
        raise SettingsError(f"nested too deeply: {_TOO_DEEP}", file=file.name) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML: {exc}; fix the syntax", file=file.name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot be read: {exc}", file=file.name) from None
    redactor = Redactor(parent=PROCESS)
    interpolated: dict[tuple, list[tuple[str, str]]] = {}
    data = _interpolate(raw, env, file.name, (), interpolated)
    _check_unknown_keys(data, SettingsModel, (), file.name)
    numbers = _numbers_from_env(data, set(interpolated))
    columns = _column_names(data)
    deferred: dict[str, list[tuple[str, str]]] = {}
    for key, values in interpolated.items():
        if _plugin_key(key):  # the plugin's Options say whether it is a number (see validate_options)
            deferred[_dotted(key)] = values
        elif key not in numbers:  # a number from the environment is a setting, not a secret
            for value, placeholder in values:
                if value not in columns:  # nor is a column name: records name it and are read back
                    redactor.add(value, placeholder)
    _check_misspelt_required(data, file.name)
    try:
        model = SettingsModel.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc, file.name, redactor) from None
    settings = Settings(file, model, redactor)
    settings.deferred_env = deferred
    _check_references(settings)
    return settings


#: sections whose keys beyond their own fields belong to the plugin they name (a trainer, a check type)
_PLUGIN_SECTIONS: dict[str, type[Section]] = {"models": ModelSettings, "checks": CheckSettings}


def _check_misspelt_required(data: dict[str, Any], file: str) -> None:
    """[models.NAME] and [checks.NAME] leave unknown keys to their plugin, checked when the project
    opens; a required key missing beside a key spelt like it is one mistake, said as a misspelling."""
    import difflib

    for section, cls in _PLUGIN_SECTIONS.items():
        tables = data.get(section)
        for name, table in tables.items() if isinstance(tables, dict) else ():
            if not isinstance(table, dict):
                continue
            others = [str(k) for k in table if k not in cls.model_fields]
            for field, info in cls.model_fields.items():
                close = difflib.get_close_matches(field, others, n=1, cutoff=0.6)
                if info.is_required() and field not in table and close:
                    raise SettingsError(
                        f"unknown key; did you mean '{field}'?", key=_dotted((section, name, close[0])), file=file
                    )


def _plugin_key(key: tuple) -> bool:
    """Whether `key` lies under a key of [models.NAME] or [checks.NAME] that the section's
    plugin validates: what it is (a number from the environment, or a secret) is for the
    plugin's Options to say when the project opens."""
    section = _PLUGIN_SECTIONS.get(key[0]) if key and isinstance(key[0], str) else None
    return section is not None and len(key) >= 3 and key[2] not in section.model_fields


_MAX_DEPTH = 16
_TOO_DEEP = f"no setting is more than {_MAX_DEPTH} tables or lists deep; flatten it"


def _check_depth(raw: dict[str, Any], file: str) -> None:
    """Refuse absurd nesting before anything walks it recursively."""
    stack: list[tuple[Any, tuple]] = [(raw, ())]
    while stack:
        value, key = stack.pop()
        if len(key) > _MAX_DEPTH:
            raise SettingsError(f"nested {len(key)} levels deep: {_TOO_DEEP}", key=f"{_dotted(key[:3])}…", file=file)
        if isinstance(value, dict):
            stack.extend((v, (*key, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*key, i)) for i, v in enumerate(value))


# -- interpolation ------------------------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(
    value: Any, env: Mapping[str, str], file: str, key: tuple, interpolated: dict[tuple, list[tuple[str, str]]]
) -> Any:
    """`value` with ${NAME} replaced; `interpolated` maps the key of each string that took a variable
    to the (value, placeholder) pairs it took."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env, file, (*key, k), interpolated) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, file, (*key, i), interpolated) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        interpolated.setdefault(key, [])
        if env.get(name):
            result = env[name]
        elif default is not None:  # like the shell: unset or empty takes the default
            return default  # written in the file: no secret
        elif name in env:
            result = ""
        else:
            raise SettingsError(
                f"environment variable {name} is not set; set it, or give a default with ${{{name}:-default}}",
                key=_dotted(key),
                file=file,
            )
        interpolated.setdefault(key, []).append((result, match.group(0)))
        return result

    return _VAR.sub(substitute, value)


#: the fields of [models.NAME] (and of its split) that name columns
_COLUMN_FIELDS = ("target", "features", "exclude", "label_column", "prediction_column", "id_column")


def _column_names(data: dict[str, Any]) -> set[str]:
    """Every column the models' settings name: settings, not secrets, wherever their text came from.

    The store records them (a version's target, its features) and reads them back; redacting one
    would rename the column in every record."""
    names: set[str] = set()
    models = data.get("models")
    for section in models.values() if isinstance(models, dict) else ():
        if not isinstance(section, dict):
            continue
        split = section.get("split")
        fields = [section.get(field) for field in _COLUMN_FIELDS]
        fields.append(split.get("column") if isinstance(split, dict) else None)
        for value in fields:
            names.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return names


_NUMBER_TEXT = {
    int: re.compile(r"\s*[+-]?\d+\s*"),
    float: re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"),
}


def _numbers_from_env(data: dict[str, Any], interpolated: set[tuple]) -> set[tuple]:
    """Where a number is expected, numeric text that came from ${NAME} becomes that number.

    The environment only holds text, so `test_size = "${TEST_SIZE}"` is how a number comes from it.
    Text written in the file itself stays text (TOML has numbers), and so does text that is no
    number: validation then refuses it, showing the placeholder rather than the value.
    Returns the keys whose text became a number.
    """
    converted: set[tuple] = set()
    for key in interpolated:
        annotation: Any = SettingsModel
        for part in key:
            annotation = _unwrap(annotation)
            if isinstance(annotation, type) and issubclass(annotation, Section):
                field = annotation.model_fields.get(part)
                annotation = field.annotation if field is not None else None
            elif typing.get_origin(annotation) in (dict, list):
                annotation = typing.get_args(annotation)[-1]
            else:
                annotation = None
        wanted = _unwrap(annotation)
        if wanted in _NUMBER_TEXT:
            holder: Any = data
            for part in key[:-1]:
                holder = holder[part]
            if _NUMBER_TEXT[wanted].fullmatch(holder[key[-1]]):
                holder[key[-1]] = wanted(holder[key[-1]])
                converted.add(key)
    return converted


# -- validation helpers ---------------------------------------------------------------------


def _dotted(key: tuple) -> str:
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
                text = json.dumps(text, ensure_ascii=False)  # quoted as TOML writes it, a newline as \n
            out += ("." if out else "") + text
    return out or "(top level)"


def _below(prefix: str, loc: tuple) -> str:
    """The dotted key of `loc` inside the section at `prefix`."""
    return SettingsError("", key=_dotted(loc) if loc else None).under(prefix).key or prefix


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Union-with-None to reach the model or container type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _check_unknown_keys(data: Any, annotation: Any, key: tuple, file: str) -> None:
    """Walk data beside the models; an unknown key suggests the nearest known one."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Section):
        if not isinstance(data, dict):
            return  # validation reports the type error
        fields = annotation.model_fields
        allow_extra = annotation.model_config.get("extra") == "allow"
        for name, value in data.items():
            if name in fields:
                _check_unknown_keys(value, fields[name].annotation, (*key, name), file)
            elif not allow_extra:
                import difflib

                close = difflib.get_close_matches(str(name), list(fields), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(fields)
                raise SettingsError(f"unknown key; {hint}", key=_dotted((*key, name)), file=file)
    elif origin is dict and isinstance(data, dict):
        value_type = typing.get_args(annotation)[1]
        for name, value in data.items():
            _check_unknown_keys(value, value_type, (*key, name), file)
    elif origin is list and isinstance(data, list):
        item_type = typing.get_args(annotation)[0]
        for i, value in enumerate(data):
            _check_unknown_keys(value, item_type, (*key, i), file)


def _one_line(exc: ValidationError, file: str, redactor: Redactor, prefix: str = "") -> SettingsError:
    """A validation failure as one error; `prefix` is the dotted key the validated section sits at."""
    key = _dotted(exc.loc) if not prefix else _below(prefix, exc.loc)
    if exc.kind == "missing":
        return SettingsError("required key is missing; add it", key=key, file=file)
    shown = redactor(repr(exc.input))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return SettingsError(f"{exc.message} (got {shown})", key=key, file=file)


def _check_references(settings: Settings) -> None:
    """Names are store keys and point at each other: check both."""
    s = settings
    for section, names in (
        ("datasets", s.datasets),
        ("models", s.models),
        ("checks", s.checks),
        ("notifiers", s.notifiers),
        ("scenarios", s.scenarios),
    ):
        for name in names:
            try:
                check_name(name, f"{section[:-1]} name")
            except ModelcycleError as exc:
                raise s.error(_dotted((section, name)), str(exc)) from None

    def known(kind: str, name: str, pool: Mapping[str, Any], key: str) -> None:
        if name not in pool:
            choices = ", ".join(sorted(pool)) or f"none: add a [{kind}.{name}] section"
            raise s.error(key, f"unknown {kind[:-1]} '{name}'; {suggest(name, pool)}defined: {choices}")

    for name, model in s.models.items():
        known("datasets", model.dataset, s.datasets, f"models.{name}.dataset")
        if model.activation.on is not None:
            known("datasets", model.activation.on, s.datasets, f"models.{name}.activation.on")
        if model.split.method == "time" and not model.split.column:
            raise s.error(f"models.{name}.split.column", "split method 'time' needs column = \"<sort column>\"")
        if model.prediction_log and not model.id_column:
            raise s.error(f"models.{name}.prediction_log", 'needs id_column = "<column identifying a row>"')
    for name, check in s.checks.items():
        known("models", check.model, s.models, f"checks.{name}.model")
        for i, target in enumerate(check.notify or []):
            known("notifiers", target, s.notifiers, f"checks.{name}.notify[{i}]")
    for i, target in enumerate(s.alerts.notify):
        known("notifiers", target, s.notifiers, f"alerts.notify[{i}]")
    for name, scenario in s.scenarios.items():
        for outcome, targets in scenario.notify.items():
            for i, target in enumerate(targets):
                known("notifiers", target, s.notifiers, f"scenarios.{name}.notify.{outcome}[{i}]")


def validate_options(settings: Settings, cls: type[Section], options: Mapping[str, Any], key: tuple | str) -> Any:
    """Validate a plugin's own options (a notifier's keys, a step's…) as the core validates its sections.

    `key` is where the options sit, e.g. ("notifiers", "oncall") or "notifiers.oncall": errors
    name the full key, unknown keys suggest the nearest known one, and interpolated values stay hidden.
    A trainer's or a check type's Options extend the core section they are built from
    ([models.NAME], [checks.NAME]) with the plugin's own keys.
    """
    data = dict(options)
    prefix = key if isinstance(key, str) else _dotted(key)
    _settle_env(settings, cls, data, prefix)
    try:
        _check_unknown_keys(data, cls, (), settings.file.name)
        return cls.model_validate(data)
    except SettingsError as exc:  # an unknown key, relative to the options
        raise SettingsError(exc.problem, key=f"{prefix}.{exc.key}", file=exc.file) from None
    except ValidationError as exc:
        raise _one_line(exc, settings.file.name, settings.redactor, prefix) from None


def _settle_env(settings: Settings, cls: type[Section], data: dict[str, Any], prefix: str) -> None:
    """The ${NAME}s under `prefix` left for the plugin: numeric text where `cls` expects a number
    becomes that number (a setting), anything else is a secret from now on, as the core's own keys."""
    for dotted, values in settings.deferred_env.items():
        if not dotted.startswith(prefix + "."):
            continue
        name = dotted[len(prefix) + 1 :]
        field = cls.model_fields.get(name)
        wanted = _unwrap(field.annotation) if field is not None else None
        value = data.get(name)
        if wanted in _NUMBER_TEXT and isinstance(value, str) and _NUMBER_TEXT[wanted].fullmatch(value):
            data[name] = wanted(value)
            continue
        for secret, placeholder in values:
            settings.redactor.add(secret, placeholder)
