"""One corpus of bad input across every command: settings, data, CLI arguments and names.

Each case mutates a copy of one real project (a trained model with an active version, an
evaluation, check results, a scenario run), runs one command in-process, and asserts the
contract of docs/cli.md: exit status 2, exactly one ``error:`` line that names the culprit,
no traceback, and nothing changed: the store and the project folder are byte-identical
afterwards (no new files either, such as a half-written output).
"""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main

SETTINGS = """\
[project]
name = "corpus"

[datasets.train]
url = "data/train.csv"

[datasets.feedback]
url = "data/feedback.csv"

[models.m]
dataset = "train"
target = "target"
exclude = ["id"]
params = { max_iter = 15 }
threads = 1

[checks.auc_floor]
model = "m"
metric = "roc_auc"
min = 0.1

[notifiers.outbox]
type = "file"
path = "alerts.log"

[alerts]
notify = ["outbox"]

[scenarios.nightly]
steps = [
  { type = "evaluate", model = "m", dataset = "feedback" },
  { type = "check", checks = ["auc_floor"] },
]
"""


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.normal(size=rows)
    city = rng.choice(["paris", "lyon", "nice"], size=rows)
    target = ((x1 + 0.5 * x2 + (city == "paris") + rng.normal(scale=0.7, size=rows)) > 0.4).astype(int)
    return pd.DataFrame({"id": np.arange(rows), "x1": x1, "x2": x2, "city": city, "target": target})


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real project: model m trained twice (v1 active), evaluated, checked, a scenario run."""
    folder = tmp_path_factory.mktemp("corpus") / "base"
    (folder / "data").mkdir(parents=True)
    (folder / "modelcycle.toml").write_text(SETTINGS, encoding="utf-8")
    frame(300, 0).to_csv(folder / "data" / "train.csv", index=False)
    frame(150, 1).to_csv(folder / "data" / "feedback.csv", index=False)
    project = open_project(folder)
    project.train("m")
    project.train("m", activate=False)
    project.evaluate("m", "feedback")
    project.run_checks()
    assert project.run_scenario("nightly")["outcome"] == "SUCCESS"
    assert project.active_version("m") == 1 and len(project.versions("m")) == 2
    return folder


# -- what a case may change before the command runs ---------------------------------------------

Mutation = Callable[[Path], None]


def settings(transform: Callable[[str], str]) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / "modelcycle.toml"
        before = path.read_text(encoding="utf-8")
        after = transform(before)
        assert after != before, "the case did not change the settings"
        path.write_text(after, encoding="utf-8")

    return mutate


def replace(old: str, new: str) -> Mutation:
    def transform(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return settings(transform)


def append(extra: str) -> Mutation:
    return settings(lambda text: text + "\n" + textwrap.dedent(extra))


def data(name: str, change: Callable[[pd.DataFrame], pd.DataFrame | str]) -> Mutation:
    """Rewrite data/NAME.csv from the original rows; `change` returns a frame or raw text."""

    def mutate(folder: Path) -> None:
        path = folder / "data" / name
        result = change(pd.read_csv(path))
        if isinstance(result, str):
            path.write_text(result, encoding="utf-8")
        else:
            result.to_csv(path, index=False)

    return mutate


def remove(name: str) -> Mutation:
    return lambda folder: (folder / "data" / name).unlink()


def set_cell(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(f: pd.DataFrame) -> pd.DataFrame:
        f[column] = f[column].astype(object)
        f.loc[row, column] = value
        return f

    return change


def too_many_fields(f: pd.DataFrame) -> str:
    """The rows as CSV, then one line with more fields than the header."""
    return f.to_csv(index=False) + "1,2,3,4,5,6,7,8\n"


def add_step(step: str) -> Mutation:
    return replace('checks = ["auc_floor"] },', 'checks = ["auc_floor"] },\n  ' + step + ",")


def set_triggers(triggers: str) -> Mutation:
    return replace("[scenarios.nightly]\n", f"[scenarios.nightly]\ntriggers = {triggers}\n")


def model_key(line: str) -> Mutation:
    """A line added to [models.m]."""
    return replace("threads = 1", "threads = 1\n" + line)


def project_key(line: str) -> Mutation:
    """A line added to [project]."""
    return replace('name = "corpus"', 'name = "corpus"\n' + line)


def one_positive(f: pd.DataFrame) -> pd.DataFrame:
    """One row of class 1, the last by id: a time split on id puts it in the holdout."""
    return f.assign(target=[0] * (len(f) - 1) + [1])


def nested_parquet(column: str, value: object) -> Mutation:
    """The training data as Parquet with a list or struct column."""

    def mutate(folder: Path) -> None:
        f = pd.read_csv(folder / "data" / "train.csv")
        f[column] = [value] * len(f)
        f.to_parquet(folder / "data" / "train.parquet")
        path = folder / "modelcycle.toml"
        path.write_text(path.read_text().replace("data/train.csv", "data/train.parquet"))

    return mutate


def damage(key: str) -> Mutation:
    """A stored JSON object overwritten with bytes that are no JSON (as `score … OUTPUT` once could)."""
    return lambda folder: (folder / key).write_text("x1,x2\n1,2\n")


EMAIL = (
    '[notifiers.mail]\ntype = "email"\nhost = "smtp.example.com"\nsender = "a@example.com"\nto = ["b@example.com"]\n'
)
REGRESSION = 'task = "regression"\nestimator = "sklearn.ensemble.HistGradientBoostingRegressor"'


def logged(labels: Callable[[pd.DataFrame], pd.DataFrame]) -> tuple[Mutation, ...]:
    """id_column = "id", the feedback scored with --log, and data/labels.csv from labels(feedback)."""

    def score_and_label(folder: Path) -> None:
        open_project(folder).score("m", "feedback", output=str(folder / "scored.csv"), log=True)
        (folder / "scored.csv").unlink()
        labels(pd.read_csv(folder / "data" / "feedback.csv")).to_csv(folder / "data" / "labels.csv", index=False)

    return model_key('id_column = "id"'), score_and_label


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expected: str  # a distinctive part of the error line: the key, column, name or value at fault
    mutations: tuple[Mutation, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def C(id: str, argv: str | list[str], expected: str, *mutations: Mutation, env: dict[str, str] | None = None) -> Case:
    """A case; `argv` as one string is split on spaces."""
    args = tuple(argv.split(" ") if isinstance(argv, str) else argv)
    return Case(id, args, expected, mutations, env or {})


# fmt: off
CASES: list[Case] = [
    # -- settings: syntax and unknown keys ----------------------------------------------------------
    C("settings-not-toml", "versions m", "modelcycle.toml: not valid TOML", append("threads = = 2\n")),
    C("settings-unknown-project-key", "versions m", "project.storre: unknown key; did you mean 'store'?", project_key('storre = "x"')),
    C("settings-unknown-model-key", "train m", "models.m.targett: unknown key; did you mean 'target'?", model_key('targett = "y"')),
    C("settings-unknown-split-key", "train m", "models.m.split.sed: unknown key; did you mean 'seed'?", append("[models.m.split]\nsed = 3\n")),
    C("settings-unknown-check-key", "check", "checks.auc_floor.minimum: unknown key", replace("min = 0.1", "min = 0.1\nminimum = 0.2")),
    C("settings-unknown-alerts-key", "status", "alerts.cooldwn: unknown key; did you mean 'cooldown'?", replace("[alerts]\n", '[alerts]\ncooldwn = "1h"\n')),
    C("settings-unknown-section", "status", "modelz: unknown key; did you mean 'models'?", append("[modelz.x]\ndataset = 'train'\n")),
    # -- settings: wrong types and out-of-range values ------------------------------------------------
    C("settings-type-test-size", "train m", "models.m.split.test_size: input should be a valid number (got 'big')", append('[models.m.split]\ntest_size = "big"\n')),
    C("settings-range-test-size", "train m", "models.m.split.test_size: input should be less than 1 (got 1.5)", append("[models.m.split]\ntest_size = 1.5\n")),
    C("settings-type-exclude", "versions m", "models.m.exclude: input should be a valid list", replace('exclude = ["id"]', 'exclude = "id"')),
    C("settings-range-threads", "train m", "models.m.threads: input should be greater than or equal to 1", replace("threads = 1", "threads = 0")),
    C("settings-type-refit-full", "train m", "models.m.refit_full: input should be a valid boolean (got 'yes')", model_key('refit_full = "yes"')),
    C("settings-type-check-min", "check", "checks.auc_floor.min: input should be a valid number (got 'low')", replace("min = 0.1", 'min = "low"')),
    C("settings-type-check-value-in", "check", "checks.auc_floor.value_in: input should be a valid list", replace("min = 0.1", 'value_in = "abc"')),
    C("settings-type-dataset-table", "versions m", "datasets.feedback: input should be a valid dictionary", replace('[datasets.feedback]\nurl = "data/feedback.csv"', '[datasets]\nfeedback = "data/feedback.csv"')),
    C("settings-type-store-options", "status", "project.store_options: input should be a valid dictionary", project_key('store_options = "x"')),
    C("settings-missing-target", "train m", "models.m.target: required key is missing", replace('target = "target"\n', "")),
    C("settings-threshold-range", "train m", "models.m.threshold: 1.5 is not a probability", model_key("threshold = 1.5")),
    # -- settings: bad enum values -----------------------------------------------------------------------
    C("settings-enum-task", "train m", "models.m.task: input should be 'binary', 'multiclass' or 'regression' (got 'classification')", model_key('task = "classification"')),
    C("settings-enum-split-method", "train m", "models.m.split.method: input should be 'random', 'stratified', 'time' or 'kfold' (got 'shuffle')", append('[models.m.split]\nmethod = "shuffle"\n')),
    C("settings-enum-policy", "train m", "models.m.activation.policy: input should be 'always', 'if-better' or 'manual'", append('[models.m.activation]\npolicy = "sometimes"\n')),
    C("settings-enum-artifact-format", "train m", "models.m.artifact_format: input should be 'joblib' or 'skops' (got 'pickle')", model_key('artifact_format = "pickle"')),
    C("settings-enum-dataset-format", "train m", "datasets.train.format: input should be 'csv', 'parquet' or 'jsonl' (got 'xlsx')", replace('url = "data/train.csv"', 'url = "data/train.csv"\nformat = "xlsx"')),
    C("settings-enum-alert-outcome", "check", "alerts.on[0]: input should be 'OK', 'WARNING', 'ERROR' or 'EMPTY' (got 'FATAL')", replace("[alerts]\n", '[alerts]\non = ["FATAL"]\n')),
    C("settings-enum-check-baseline", "check", "checks.auc_floor.baseline: input should be 'training' or 'previous' (got 'yesterday')", replace("min = 0.1", 'max_drop = 0.1\nbaseline = "yesterday"')),
    C("settings-time-split-without-column", "train m", "models.m.split.column: split method 'time' needs column", append('[models.m.split]\nmethod = "time"\n')),
    # -- settings: unknown plugin names -----------------------------------------------------------------
    C("settings-unknown-trainer", "versions m", "models.m.trainer: unknown trainer 'sklern'; did you mean 'sklearn'?", model_key('trainer = "sklern"')),
    C("settings-blocked-trainer", "train m", "models.m.trainer: unknown trainer 'sklearn'", project_key('block_plugins = ["sklearn"]')),
    C("settings-unknown-notifier-type", "status", "notifiers.outbox.type: unknown notifier 'fil'; did you mean 'file'?", replace('type = "file"', 'type = "fil"')),
    C("settings-unknown-drift-test", "evaluate m feedback", "models.m.drift.method: unknown drift test 'kss'; did you mean 'ks'?", append('[models.m.drift]\nmethod = "kss"\n')),
    C("settings-unknown-check-type", "check", "checks.auc_floor.type: unknown check type 'treshold'", replace("min = 0.1", 'min = 0.1\ntype = "treshold"')),
    C("settings-unknown-step-type", "scenario run nightly", "scenarios.nightly.steps[0].type: unknown step 'evaluat'", replace('{ type = "evaluate"', '{ type = "evaluat"')),
    C("settings-unknown-trigger-type", "scenario list", "scenarios.nightly.triggers[0].type: unknown trigger 'crontab'", set_triggers('[{ type = "crontab" }]')),
    C("settings-unknown-executor", "score m feedback out/s.parquet", "project.executor: unknown executor 'spark'", project_key('executor = "spark"')),
    C("settings-executor-options", "status", "project.executor_options.workers: executor 'local' takes no options", project_key("executor_options = { workers = 3 }")),
    C("settings-unknown-metric", "train m", "models.m.metrics: unknown metric 'auc'", model_key('metrics = ["auc"]')),
    C("settings-unknown-estimator", "train m", "models.m.estimator: module 'sklearn.ensemble' has no class 'NoSuchForest'", model_key('estimator = "sklearn.ensemble.NoSuchForest"')),
    C("settings-unknown-estimator-param", "train m", "models.m.params.max_iterations: HistGradientBoostingClassifier has no parameter", replace("max_iter = 15", "max_iterations = 15")),
    C("settings-threshold-metric", "train m", "models.m.threshold: cannot optimise 'roc_auc'", model_key('threshold = "optimize:roc_auc"')),
    C("settings-missing-plugin-module", "plugins", "plugin module 'nosuchmodule' not found", project_key('plugins = ["nosuchmodule"]')),
    C("settings-unknown-store-protocol", "status", "store 'nosuch://bucket/x' cannot be opened", project_key('store = "nosuch://bucket/x"')),
    # -- settings: durations and ${ENV} -------------------------------------------------------------------
    C("settings-bad-duration", "check", "alerts.cooldown: value error, a duration is a number of seconds", replace("[alerts]\n", '[alerts]\ncooldown = "6 hours"\n')),
    C("settings-negative-duration", "check", "alerts.cooldown: value error, a duration cannot be negative", replace("[alerts]\n", "[alerts]\ncooldown = -5\n")),
    C("settings-undefined-env", "versions m", "project.name: environment variable MC_CORPUS_UNSET is not set", replace('name = "corpus"', 'name = "${MC_CORPUS_UNSET}"')),
    C("settings-env-not-a-number", "train m", "models.m.split.test_size: input should be a valid number (got '${MC_CORPUS_SIZE}')", append('[models.m.split]\ntest_size = "${MC_CORPUS_SIZE}"\n'), env={"MC_CORPUS_SIZE": "lots"}),
    # -- settings: references, names and check definitions ------------------------------------------------
    C("settings-unknown-dataset-ref", "train m", "models.m.dataset: unknown dataset 'trian'; did you mean 'train'?", replace('dataset = "train"', 'dataset = "trian"')),
    C("settings-bad-model-section-name", "status", "models.\"a b\": model name 'a b' is not allowed", append('[models."a b"]\ndataset = "train"\ntarget = "target"\n')),
    C("settings-dotdot-dataset-name", "status", "datasets.\"../x\": dataset name '../x' is not allowed", append('[datasets."../x"]\nurl = "x.csv"\n')),
    C("check-unknown-model", "check", "checks.auc_floor.model: unknown model 'mm'; did you mean 'm'?", replace('model = "m"\nmetric', 'model = "mm"\nmetric')),
    C("check-no-threshold", "check", "checks.auc_floor: no threshold: set min", replace("min = 0.1\n", "")),
    C("check-soft-min-below-min", "check", "checks.auc_floor.soft_min: is below min", replace("min = 0.1", "min = 0.5\nsoft_min = 0.2")),
    C("check-missing-metric", "check", "checks.auc_floor.metric: required key is missing", replace('metric = "roc_auc"\n', "")),
    C("check-unknown-notifier", "check", "checks.auc_floor.notify[0]: unknown notifier 'pager'", replace("min = 0.1", 'min = 0.1\nnotify = ["pager"]')),
    C("alerts-unknown-notifier", "alerts --pending", "alerts.notify[0]: unknown notifier 'outbx'; did you mean 'outbox'?", replace('notify = ["outbox"]', 'notify = ["outbx"]')),
    C("alerts-bad-template", "check", "alerts: a template is not valid", replace("[alerts]\n", '[alerts]\nsubject = "{nosuchfield"\n')),
    # -- settings: notifier options -----------------------------------------------------------------------
    C("notifier-unknown-option", "notify outbox hi", "notifiers.outbox.pth: unknown key; did you mean 'path'?", replace('path = "alerts.log"', 'pth = "alerts.log"')),
    C("notifier-file-empty-path", "notify outbox hi", "notifiers.outbox.path: empty", replace('path = "alerts.log"', 'path = ""')),
    C("notifier-email-missing-host", "status", "notifiers.mail.host: required key is missing", append(EMAIL.replace('host = "smtp.example.com"\n', ""))),
    C("notifier-email-bad-port", "status", "notifiers.mail.port: input should be a valid integer (got 'smtp')", append(EMAIL + 'port = "smtp"\n')),
    C("notifier-email-zero-timeout", "status", "notifiers.mail.timeout: input should be greater than 0", append(EMAIL + "timeout = 0\n")),
    C("notifier-email-bad-address", "notify mail hi", "notifiers.mail.sender: 'not-an-address' is not an email address", append(EMAIL.replace("a@example.com", "not-an-address"))),
    C("notifier-email-user-without-password", "notify mail hi", "notifiers.mail.password: required when username is given", append(EMAIL + 'username = "u"\n')),
    C("notifier-apprise-no-urls", "notify chat hi", "notifiers.chat.urls: give at least one apprise URL", append('[notifiers.chat]\ntype = "apprise"\nurls = []\n')),
    C("notifier-apprise-bad-url", "notify chat hi", "notifiers.chat.urls[0]: apprise cannot use this URL", append('[notifiers.chat]\ntype = "apprise"\nurls = ["nosuchscheme://x"]\n')),
    C("notifier-apprise-body-format", "status", "notifiers.chat.body_format: input should be 'text', 'markdown' or 'html'", append('[notifiers.chat]\ntype = "apprise"\nurls = ["json://localhost/x"]\nbody_format = "rtf"\n')),
    # -- settings: scenario steps and triggers ---------------------------------------------------------------
    C("step-unknown-model", "scenario run nightly", "scenarios.nightly.steps[0].model: unknown model 'mm'", replace('{ type = "evaluate", model = "m"', '{ type = "evaluate", model = "mm"')),
    C("step-unknown-check", "scenario run nightly", "scenarios.nightly.steps[1].checks[0]: unknown check 'auc'", replace('checks = ["auc_floor"]', 'checks = ["auc"]')),
    C("step-unknown-option", "scenario run nightly", "scenarios.nightly.steps[0].datset: unknown key; did you mean 'dataset'?", replace('dataset = "feedback" }', 'datset = "feedback" }')),
    C("step-bad-run-if", "scenario run nightly", "scenarios.nightly.steps[1].run_if: input should be 'success', 'failure' or 'always'", replace('checks = ["auc_floor"] }', 'checks = ["auc_floor"], run_if = "sometimes" }')),
    C("step-negative-retries", "scenario run nightly", "scenarios.nightly.steps[1].retries: input should be greater than or equal to 0", replace('checks = ["auc_floor"] }', 'checks = ["auc_floor"], retries = -1 }')),
    C("step-python-bad-callable", "scenario run nightly", "scenarios.nightly.steps[2].callable: 'nocolon' is not \"module:function\"", add_step('{ type = "python", callable = "nocolon" }')),
    C("step-python-missing-file", "scenario run nightly", "scenarios.nightly.steps[2].callable: no file jobs/nothere.py", add_step('{ type = "python", callable = "jobs/nothere.py:run" }')),
    C("step-notify-bad-template", "scenario run nightly", "scenarios.nightly.steps[2].message: not a valid template", add_step('{ type = "notify", notifiers = ["outbox"], message = "{oops" }')),
    C("step-score-blank-output", "scenario run nightly", "scenarios.nightly.steps[2].output: empty", add_step('{ type = "score", model = "m", input = "feedback", output = " " }')),
    C("scenario-notify-bad-outcome", "scenario run nightly", "scenarios.nightly.notify.BROKEN: not a valid key", append('[scenarios.nightly.notify]\nBROKEN = ["outbox"]\n')),
    C("trigger-bad-cron", "scheduler --once", "scenarios.nightly.triggers[0].schedule: '61 * * * *' is not a 5-field cron expression", set_triggers('[{ type = "cron", schedule = "61 * * * *" }]')),
    C("trigger-bad-timezone", "scenario list", "scenarios.nightly.triggers[0].timezone: unknown time zone 'Mars/Olympus'", set_triggers('[{ type = "cron", schedule = "0 2 * * *", timezone = "Mars/Olympus" }]')),
    C("trigger-unknown-dataset", "scheduler --once", "scenarios.nightly.triggers[0].dataset: unknown dataset 'feedbak'", set_triggers('[{ type = "dataset-changed", dataset = "feedbak" }]')),
    C("trigger-after-itself", "scenario list", "scenarios.nightly.triggers[0].scenario: a scenario cannot trigger itself", set_triggers('[{ type = "after-scenario", scenario = "nightly" }]')),
    C("trigger-empty-outcomes", "scenario list", "scenarios.nightly.triggers[0].outcomes: empty list", append("[scenarios.weekly]\n"), set_triggers('[{ type = "after-scenario", scenario = "weekly", outcomes = [] }]')),
    # -- data at training ---------------------------------------------------------------------------------
    C("train-missing-feature", "train m", "dataset 'train' has no column 'x9' (a feature of model 'm')", model_key('features = ["x1", "x9"]')),
    C("train-missing-target", "train m", "dataset 'train' has no column 'target' (the target of model 'm')", data("train.csv", lambda f: f.drop(columns="target"))),
    C("train-one-class", "train m", "target 'target' in dataset 'train' has a single class (1)", data("train.csv", lambda f: f.assign(target=1))),
    C("train-nan-target", "train m", "target 'target' has 1 missing values in dataset 'train'", data("train.csv", set_cell("target", 5, np.nan))),
    C("train-text-target-for-regression", "train m", "target 'target' in dataset 'train' is not numeric", model_key(REGRESSION), data("train.csv", set_cell("target", 3, "high")), replace('metric = "roc_auc"', 'metric = "rmse"')),
    C("train-three-classes-for-binary", "train m", "modelcycle.toml: models.m.task: target 'target' has 3 classes but task = \"binary\"", model_key('task = "binary"'), data("train.csv", set_cell("target", 7, 2))),
    C("train-stratified-regression", "train m", "modelcycle.toml: models.m.split.method: 'stratified' needs a classification target", model_key(REGRESSION), append('[models.m.split]\nmethod = "stratified"\n'), replace('metric = "roc_auc"', 'metric = "rmse"')),
    C("train-no-features-left", "train m", "modelcycle.toml: models.m: no feature columns left", replace('exclude = ["id"]', 'exclude = ["id", "x1", "x2", "city"]')),
    C("train-empty-feature", "train m", "feature 'x2' is empty (all values missing) in dataset 'train'", data("train.csv", lambda f: f.assign(x2=np.nan))),
    C("train-missing-time-column", "train m", "dataset 'train' has no column 'when' (models.m.split.column)", append('[models.m.split]\nmethod = "time"\ncolumn = "when"\n')),
    C("train-empty-file", "train m", "dataset 'train' is empty", data("train.csv", lambda f: "")),
    C("train-header-only", "train m", "dataset 'train' has no rows", data("train.csv", lambda f: f.head(0))),
    C("train-missing-file", "train m", "dataset 'train': no file at /", remove("train.csv")),
    C("train-unparseable-csv", "train m", "dataset 'train': cannot read", data("train.csv", too_many_fields)),
    C("train-unparseable-jsonl", "train m", "as jsonl", replace('url = "data/train.csv"', 'url = "data/train.jsonl"'), lambda folder: (folder / "data" / "train.jsonl").write_text("{not json\n")),
    C("train-unknown-format", "train m", "train.txt: name it .csv, .parquet or .jsonl", replace('url = "data/train.csv"', 'url = "data/train.txt"')),
    # -- data at scoring and evaluation -----------------------------------------------------------------------
    C("score-missing-feature", "score m feedback out/s.parquet", "has no column 'x1', a feature of model 'm' version 1", data("feedback.csv", lambda f: f.drop(columns="x1"))),
    C("score-uncoercible-dtype", "score m feedback out/s.parquet", "column 'x2' of input dataset 'feedback' holds 'abc' (row 21), not a number", data("feedback.csv", set_cell("x2", 20, "abc"))),
    C("score-scored-already", "score m feedback out/s.csv", "already has a column 'prediction', which scoring adds", data("feedback.csv", lambda f: f.assign(prediction=1))),
    C("score-empty-file", "score m feedback out/s.csv", "dataset 'feedback' is empty", data("feedback.csv", lambda f: "")),
    C("score-header-only", "score m feedback out/s.csv", "has no rows: nothing to score", data("feedback.csv", lambda f: f.head(0))),
    C("score-missing-file", "score m data/nothere.csv out/s.csv", "nothere.csv: no file at"),
    C("score-unknown-dataset", "score m fedback out/s.csv", "unknown dataset 'fedback'"),
    C("score-unknown-output-format", "score m feedback out/s.xlsx", "cannot tell the format of output"),
    C("score-compressed-output", "score m feedback out/s.csv.gz", "cannot write compressed output"),
    C("score-output-is-a-folder", "score m feedback data", "cannot tell the format of output"),
    C("score-unknown-version", "score m feedback out/s.csv --version 9", "model 'm' has no version 9: versions are 1 to 2"),
    C("score-no-active-version", "score m2 feedback out/s.csv", "model 'm2' has no active version", append('[models.m2]\ndataset = "train"\ntarget = "target"\n')),
    C("evaluate-missing-feature-and-label", "evaluate m feedback", "neither the prediction column 'prediction' nor the feature 'x1'", data("feedback.csv", lambda f: f.drop(columns=["x1", "target"]))),
    C("evaluate-unknown-class-label", "evaluate m feedback", "label 'maybe' in column 'target' is not a class of version 1", data("feedback.csv", set_cell("target", 3, "maybe"))),
    C("evaluate-unknown-class-prediction", "evaluate m feedback", "value 'maybe' in column 'prediction' is not a class", data("feedback.csv", lambda f: f.assign(prediction=np.where(f["target"] == 1, "maybe", "0")))),
    C("evaluate-text-model-version", "evaluate m feedback", "column 'model_version' has missing or non-numeric values", data("feedback.csv", lambda f: f.assign(prediction=f["target"], model_version="one"))),
    C("evaluate-drift-test-for-wrong-kind", "evaluate m feedback", "drift test 'ks' does not apply to categorical column 'city'", append('[models.m.drift.columns]\ncity = "ks"\n')),
    C("evaluate-header-only", "evaluate m feedback", "dataset 'feedback' has no rows", data("feedback.csv", lambda f: f.head(0))),
    C("evaluate-empty-file", "evaluate m feedback", "dataset 'feedback' is empty", data("feedback.csv", lambda f: "")),
    C("evaluate-missing-file", "evaluate m feedback", "project/data/feedback.csv: check the path", remove("feedback.csv")),
    C("evaluate-unparseable-csv", "evaluate m feedback", "dataset 'feedback': cannot read", data("feedback.csv", too_many_fields)),
    C("evaluate-uncoercible-feature", "evaluate m feedback", "column 'x1' of dataset 'feedback' holds 'n/a-ish' (row 4), not a number", data("feedback.csv", set_cell("x1", 3, "n/a-ish"))),
    C("evaluate-bad-read-option", "evaluate m feedback", "dataset 'feedback': cannot read", replace('url = "data/feedback.csv"', 'url = "data/feedback.csv"\nread_options = { bogus = 1 }')),
    C("train-bad-read-option", "train m", "with read_options bogus: read_csv() got an unexpected keyword argument 'bogus'", replace('url = "data/train.csv"', 'url = "data/train.csv"\nread_options = { bogus = 1 }')),
    C("settings-unknown-primary-metric", "train m", "models.m.primary_metric: unknown metric 'nope'", model_key('primary_metric = "nope"')),
    C("settings-store-is-a-file", "status", "project.store: 'data/train.csv' is a file: give a folder", project_key('store = "data/train.csv"')),
    C("evaluate-unknown-version", "evaluate m feedback --version 7", "model 'm' has no version 7: versions are 1 to 2"),
    C("evaluate-unknown-dataset", "evaluate m fedback", "unknown dataset 'fedback'"),
    # -- CLI arguments --------------------------------------------------------------------------------------
    C("cli-unknown-command", "frobnicate", "no such command 'frobnicate'; see 'modelcycle --help'"),
    C("cli-unknown-global-option", "-x status", "no such option '-x'"),
    C("cli-unknown-option", "versions m --bogus", "no such option '--bogus'; see 'modelcycle versions --help'"),
    C("cli-unknown-option-train", "train m --fast", "no such option '--fast'"),
    C("cli-unknown-option-plugins", "plugins --bogus", "no such option '--bogus'"),
    C("cli-flag-with-value", "train m --json=yes", "option '--json' does not take a value"),
    C("cli-missing-argument", "activate m", "missing argument 'VERSION'; see 'modelcycle activate --help'"),
    C("cli-missing-message", "notify outbox", "missing argument 'MESSAGE'"),
    C("cli-missing-scenario-name", "scenario run", "missing argument 'NAME'; see 'modelcycle scenario run --help'"),
    C("cli-extra-argument", "alerts retry now", "unexpected extra argument (now)"),
    C("cli-extra-dashboard-argument", "dashboard build a b", "unexpected extra argument (b)"),
    C("cli-unknown-subcommand", "alerts resend", "no such command 'resend'"),
    C("cli-unknown-option-alerts", "alerts --pendng", "no such option '--pendng'"),
    C("cli-reason-without-value", "rollback m --reason", "option '--reason' requires an argument"),
    C("cli-metric-without-value", "history m --metric", "option '--metric' requires an argument"),
    C("cli-version-not-an-integer", "activate m two", "invalid value for 'VERSION': 'two' is not a valid integer"),
    C("cli-version-unknown", "activate m 9", "model 'm' has no version 9: versions are 1 to 2"),
    C("cli-version-zero", "show m 0", "model 'm' has no version 0"),
    C("cli-version-negative", "show m -3", "no such option '-3'"),
    C("cli-version-of-model-without-versions", "activate m2 1", "model 'm2' has no version 1: it has no versions yet", append('[models.m2]\ndataset = "train"\ntarget = "target"\n')),
    C("cli-score-version-text", "score m feedback out/s.csv --version latest", "invalid value for '--version': 'latest' is not a valid integer"),
    C("cli-evaluate-version-fraction", "evaluate m feedback --version 1.5", "invalid value for '--version': '1.5' is not a valid integer"),
    C("cli-rollback-nothing-before", "rollback m", "model 'm': no version was active before version 1"),
    C("cli-gc-keep-zero", "gc m --keep 0", "invalid value for '--keep': 0 is not in the range x>=1"),
    C("cli-gc-keep-negative", "gc m --keep -1", "invalid value for '--keep': -1 is not in the range x>=1"),
    C("cli-gc-keep-text", "gc m --keep all", "invalid value for '--keep': 'all'"),
    C("cli-gc-keep-missing", "gc m", "missing option '--keep'"),
    C("cli-scheduler-interval-zero", "scheduler --interval 0", "invalid value for '--interval': 0.0 is not in the range 1<=x<=86400"),
    C("cli-scheduler-interval-text", "scheduler --interval soon", "invalid value for '--interval': 'soon'"),
    C("cli-serve-port-out-of-range", "dashboard serve --port 70000", "invalid value for '--port': 70000 is not in the range"),
    C("cli-serve-port-text", "dashboard serve --port http", "invalid value for '--port': 'http'"),
    C("cli-serve-host-not-local", "dashboard serve --host 203.0.113.5 --port 0", "cannot serve the dashboard on 203.0.113.5:0"),
    C("cli-dashboard-out-is-a-folder", "dashboard build data", "data is a folder: give the dashboard a file name"),
    C("cli-dashboard-out-under-a-file", "dashboard build data/train.csv/board.html", "cannot write the dashboard to"),
    C("cli-history-unknown-metric", "history m --metric auc", "no metric 'auc' in the history"),
    C("cli-project-missing", "--project /nonexistent/corpus status", "no settings file at /nonexistent/corpus"),
    C("cli-project-empty", ["--project", "", "status"], "--project is empty"),
    C("cli-project-not-toml", "--project data/train.csv status", "train.csv: not valid TOML"),
    C("cli-init-existing", "init .", "modelcycle.toml already exists"),
    C("cli-demo-into-a-file", "demo modelcycle.toml", "modelcycle.toml is a file, not a folder"),
    C("cli-demo-into-a-full-folder", "demo data", "data is not empty"),
    # -- names ------------------------------------------------------------------------------------------------
    C("name-dotdot-versions", "versions ../x", "model name '../x' is not allowed"),
    C("name-empty-show", ["show", ""], "model name is empty"),
    C("name-spaces-history", ["history", "a b"], "model name 'a b' is not allowed"),
    C("name-dotdot-train", "train ../x", "model name '../x' is not allowed"),
    C("name-dotdot-activate", "activate ../../etc 1", "model name '../../etc' is not allowed"),
    C("name-slash-rollback", "rollback m/../m", "model name 'm/../m' is not allowed"),
    C("name-dotdot-gc", "gc ../x --keep 1", "model name '../x' is not allowed"),
    C("name-dotdot-score", "score ../x feedback out/s.csv", "model name '../x' is not allowed"),
    C("name-dotdot-evaluate", "evaluate ../x feedback", "model name '../x' is not allowed"),
    C("name-dotdot-status", "status ../x", "model name '../x' is not allowed"),
    C("name-hidden-versions", "versions .hidden", "model name '.hidden' is not allowed"),
    C("name-accented-versions", "versions modèle", "model name 'modèle' is not allowed"),
    C("name-too-long-versions", ["versions", "m" * 101], "is not allowed: use 1-100 letters"),
    C("name-unknown-model-versions", "versions nope", "unknown model 'nope'"),
    C("name-unknown-model-show", "show nope", "unknown model 'nope'"),
    C("name-unknown-model-history", "history nope", "unknown model 'nope'"),
    C("name-unknown-model-train", "train mm", "unknown model 'mm'"),
    C("name-unknown-model-activate", "activate nope 1", "unknown model 'nope'"),
    C("name-unknown-model-rollback", "rollback nope", "unknown model 'nope'"),
    C("name-unknown-model-status", "status nope", "unknown model 'nope'"),
    C("name-unknown-model-evaluate", "evaluate nope feedback", "unknown model 'nope'"),
    C("name-unknown-model-score", "score nope feedback out/s.csv", "unknown model 'nope'"),
    C("name-unknown-model-gc", "gc nope --keep 1", "unknown model 'nope'"),
    C("name-unknown-check", "check auc_flor", "unknown check 'auc_flor'"),
    C("name-empty-check", ["check", ""], "unknown check ''"),
    C("name-unknown-notifier", "notify pager hello", "unknown notifier 'pager'"),
    C("name-spaces-notifier", ["notify", "a b", "hello"], "unknown notifier 'a b'"),
    C("name-unknown-scenario-run", "scenario run nighty", "unknown scenario 'nighty'; did you mean 'nightly'?"),
    C("name-dotdot-scenario-run", "scenario run ../x", "unknown scenario '../x'"),
    C("name-unknown-scenario-runs", "scenario runs weekly", "unknown scenario 'weekly'"),
    C("name-dotdot-scenario-runs", "scenario runs ../x", "scenario name '../x' is not allowed"),
    # -- checks name what can be produced, and whose evaluations they judge
    C("settings-check-metric-typo", "status", "checks.auc_floor.metric: check 'auc_floor' names 'rocauc', which no "
      "metric, drift result or estimate produces; did you mean 'roc_auc'?", replace('metric = "roc_auc"',
                                                                                  'metric = "rocauc"')),
    C("settings-check-metric-drift-field-missing", "check", "checks.auc_floor.metric: check 'auc_floor' names "
      "'drift.columns.x0'", replace('metric = "roc_auc"', 'metric = "drift.columns.x0"')),
    C("settings-check-version", "status", "checks.auc_floor.version:", replace('metric = "roc_auc"',
                                                                             'metric = "roc_auc"\nversion = "all"')),
    # -- the fair if-better gate: activation.on and min_rows -------------------------------------------------
    C("gate-unknown-on-dataset", "train m", "models.m.activation.on: unknown dataset 'feedbak'; did you mean 'feedback'?", append('[models.m.activation]\npolicy = "if-better"\non = "feedbak"\n')),
    C("gate-on-dataset-without-label", "train m", "dataset 'feedback' has no column 'target', the label of model 'm' (models.m.activation.on compares on it): add the labels, or set label_column", append('[models.m.activation]\npolicy = "if-better"\non = "feedback"\n'), data("feedback.csv", lambda f: f.drop(columns=["target"]))),
    C("gate-on-dataset-without-feature", "train m", "dataset 'feedback' has no column 'x2', a feature of model 'm' (models.m.activation.on compares on it)", append('[models.m.activation]\npolicy = "if-better"\non = "feedback"\n'), data("feedback.csv", lambda f: f.drop(columns=["x2"]))),
    C("gate-on-dataset-bad-label", "train m", "dataset 'feedback': value 'maybe' in column 'target' is not a class of the model (classes: 0, 1)", append('[models.m.activation]\npolicy = "if-better"\non = "feedback"\n'), data("feedback.csv", set_cell("target", 7, "maybe"))),
    C("gate-on-dataset-text-regression-label", "train m", "dataset 'feedback': column 'target' has non-numeric labels for a regression: fix or blank them", model_key(REGRESSION), append('[models.m.activation]\npolicy = "if-better"\non = "feedback"\n'), data("feedback.csv", set_cell("target", 3, "abc")), replace('metric = "roc_auc"', 'metric = "rmse"')),
    C("gate-range-min-rows", "train m", "models.m.activation.min_rows: input should be greater than or equal to 1 (got 0)", append('[models.m.activation]\nmin_rows = 0\n')),
    # -- hostile input: accepted once, broken later; each refused at once ----------------------------------
    C("hostile-score-into-store-entry", "score m feedback .modelcycle/models/m/versions/00000001.json", "is inside the store (.modelcycle)"),
    C("hostile-score-into-store-dotdot", "score m feedback out/../.modelcycle/scores.csv", "is inside the store (.modelcycle)"),
    C("hostile-score-into-store-root", "score m feedback .modelcycle/scores.csv", "is inside the store"),
    C("hostile-name-trailing-newline", "versions m", 'models."m2\\n": model name \'m2\\n\' is not allowed', append('[models."m2\\n"]\ndataset = "train"\ntarget = "target"\n')),
    C("hostile-cooldown-huge", "check", "alerts.cooldown: value error, a duration is at most 366 days", replace("[alerts]\n", "[alerts]\ncooldown = 1e300\n")),
    C("hostile-cooldown-huge-text", "check", "alerts.cooldown: value error, a duration is at most 366 days", replace("[alerts]\n", '[alerts]\ncooldown = "9999999999w"\n')),
    C("hostile-cooldown-nan", "check", "alerts.cooldown: value error, a duration is a number of seconds", replace("[alerts]\n", "[alerts]\ncooldown = nan\n")),
    C("hostile-timeout-huge", "scenario run nightly", "scenarios.nightly.timeout: value error, a duration is at most 366 days", replace("[scenarios.nightly]\n", "[scenarios.nightly]\ntimeout = 1e300\n")),
    C("hostile-timeout-negative-inf", "scenario run nightly", "scenarios.nightly.timeout: value error, a duration cannot be negative", replace("[scenarios.nightly]\n", "[scenarios.nightly]\ntimeout = -inf\n")),
    C("hostile-check-min-nan", "check", "checks.auc_floor.min: input should be a finite number (not nan or inf) (got nan)", replace("min = 0.1", "min = nan")),
    C("hostile-check-soft-max-inf", "check", "checks.auc_floor.soft_max: input should be a finite number", replace("min = 0.1", "min = 0.1\nsoft_max = inf")),
    C("hostile-test-size-nan", "train m", "models.m.split.test_size: input should be a finite number", append("[models.m.split]\ntest_size = nan\n")),
    C("hostile-min-delta-inf", "train m", "models.m.activation.min_delta: input should be a finite number", append("[models.m.activation]\nmin_delta = inf\n")),
    C("hostile-threshold-inf", "train m", "models.m.threshold: input should be a finite number", model_key("threshold = -inf")),
    C("hostile-seed-huge", "train m", "models.m.split.seed: input should be less than or equal to 4294967295", append("[models.m.split]\nseed = 99999999999999999999\n")),
    C("hostile-seed-negative", "train m", "models.m.split.seed: input should be greater than or equal to 0", append("[models.m.split]\nseed = -1\n")),
    C("hostile-toml-deep-arrays", "versions m", "modelcycle.toml: nested too deeply", append("deep = " + "[" * 5000 + "]" * 5000 + "\n")),
    C("hostile-toml-deep-tables", "versions m", "k.k.k…: nested 17 levels deep: no setting is more than 16", append("[" + ".".join(["k"] * 40) + "]\nx = 1\n")),
    C("hostile-interval-nan", "scheduler --interval nan", "invalid value for '--interval': --interval must be a number of seconds, not nan"),
    C("hostile-interval-inf", "scheduler --interval inf", "invalid value for '--interval': inf is not in the range 1<=x<=86400"),
    C("hostile-single-positive-kfold", "train m", "class 1 has 1 row(s), and fold", data("train.csv", one_positive), model_key('split = { method = "kfold" }')),
    C("hostile-single-positive-in-holdout", "train m", "class 1 has 1 row(s), and the split leaves none of them to train on", data("train.csv", one_positive), model_key("split = { method = \"time\", column = \"id\" }")),
    C("hostile-parquet-list-column", "train m", "column 'tags' in dataset 'train' holds nested values", nested_parquet("tags", [1, 2])),
    C("hostile-parquet-struct-column", "train m", "column 'where' in dataset 'train' holds nested values", nested_parquet("where", {"lat": 1.0})),
    C("hostile-corrupt-version-entry", "versions m", "store object models/m/versions/00000002.json is damaged", damage(".modelcycle/models/m/versions/00000002.json")),
    C("hostile-corrupt-activation-entry", "status m", "store object models/m/activations/00000001.json is damaged", damage(".modelcycle/models/m/activations/00000001.json")),
    C("hostile-corrupt-entry-score", "score m feedback out/s.csv", "is damaged", damage(".modelcycle/models/m/versions/00000001.json")),
    # -- delayed labels (prediction log) and paths ------------------------------------------------------
    C("settings-prediction-log-without-id", "versions m", "models.m.prediction_log: needs id_column", model_key("prediction_log = true")),
    C("score-log-without-id-column", "score m feedback out/s.csv --log", "set id_column = \"<column identifying a row>\" under [models.m]"),
    C("score-log-unknown-id-column", "score m feedback out/s.csv --log", "has no column 'customer', the id_column of model 'm'", model_key('id_column = "customer"')),
    C("score-log-unknown-id-column-by-setting", "score m feedback out/s.csv", "has no column 'customer', the id_column", model_key('id_column = "customer"\nprediction_log = true')),
    C("score-log-missing-id", "score m feedback out/s.csv --log", "column 'id' has no id at row 4", model_key('id_column = "id"'), data("feedback.csv", set_cell("id", 3, None))),
    C("labels-without-id-column-setting", "evaluate m --labels data/feedback.csv", "model 'm' has no id_column: set id_column"),
    C("labels-before-any-log", "evaluate m --labels data/feedback.csv", "no logged predictions of model 'm': score with 'modelcycle score --log'", model_key('id_column = "id"')),
    C("labels-without-the-id", "evaluate m --labels data/labels.csv", "has no column 'id', the id column of model 'm'", *logged(lambda f: f[["target"]])),
    C("labels-for-another-model", "evaluate m --labels data/labels.csv", "has no column 'target', the label column of model 'm' (models.m.label_column)", *logged(lambda f: f[["id"]].assign(churned=1))),
    C("labels-duplicate-id", "evaluate m --labels data/labels.csv", "id '3' appears more than once: give one label per id", *logged(lambda f: pd.concat([f[["id", "target"]], f[["id", "target"]].iloc[[3]]]))),
    C("labels-no-id-matches", "evaluate m --labels data/labels.csv", "none of the 150 ids in labels", *logged(lambda f: f[["id", "target"]].assign(id=f["id"] + 10_000))),
    C("labels-missing-id", "evaluate m --labels data/labels.csv", "column 'id' has no id at row 2", *logged(lambda f: set_cell("id", 1, None)(f[["id", "target"]]))),
    C("labels-unknown-version", "evaluate m --labels data/labels.csv --version 9", "version 9", *logged(lambda f: f[["id", "target"]])),
    C("labels-missing-file", "evaluate m --labels nothere.csv", "project/nothere.csv: check the path", model_key('id_column = "id"')),
    C("labels-and-data", "evaluate m feedback --labels data/feedback.csv", "give DATA (a dataset name or URL) or --labels FILE: one of the two"),
    C("labels-neither", "evaluate m", "give DATA (a dataset name or URL) or --labels FILE: one of the two"),
    C("evaluate-missing-path-is-absolute", "evaluate m data/nothere.csv", "project/data/nothere.csv: check the path (a relative path in modelcycle.toml"),
    # -- settings: per-column drift ------------------------------------------------------------------------
    C("settings-drift-column-unknown-method", "evaluate m feedback", "models.m.drift.columns.x1.method: unknown drift test 'kss'; did you mean 'ks'?", append('[models.m.drift.columns.x1]\nmethod = "kss"\n')),
    C("settings-drift-column-number-for-auto", "evaluate m feedback", "models.m.drift.columns.x1.threshold: method auto has several measures: give a table like", append('[models.m.drift.columns.x1]\nthreshold = 0.1\n')),
    C("settings-drift-column-unknown-measure", "evaluate m feedback", "models.m.drift.columns.x1.threshold.wassersten: not a measure of auto; did you mean 'wasserstein'?", append('[models.m.drift.columns.x1]\nthreshold = { wassersten = 0.1 }\n')),
    C("settings-drift-column-measure-of-other-method", "evaluate m feedback", "models.m.drift.columns.x1.threshold.psi: not a measure of ks; known: ks", append('[models.m.drift.columns.x1]\nmethod = "ks"\nthreshold = { psi = 0.1 }\n')),
    C("settings-drift-column-negative-threshold", "evaluate m feedback", "models.m.drift.columns.x1.threshold: a threshold must be a positive number (got -0.1)", append('[models.m.drift.columns.x1]\nmethod = "ks"\nthreshold = -0.1\n')),
    C("settings-drift-column-exclude-text", "evaluate m feedback", "models.m.drift.columns.x1.exclude", append('[models.m.drift.columns.x1]\nexclude = "yes"\n')),
    C("settings-drift-column-unknown-field", "evaluate m feedback", "models.m.drift.columns.x1", append('[models.m.drift.columns.x1]\nthreshhold = 0.1\n')),
    C("settings-drift-unknown-threshold-name", "evaluate m feedback", "models.m.drift.threshold.wasserstien: not a drift test or auto measure; did you mean 'wasserstein'?", append('[models.m.drift]\nthreshold = { wasserstien = 0.1 }\n')),
    C("settings-drift-zero-threshold", "evaluate m feedback", "models.m.drift.threshold.psi: a threshold must be a positive number (got 0.0)", append('[models.m.drift]\nthreshold = { psi = 0 }\n')),
]
# fmt: on


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder`: its relative path → sha256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_error_line_exit_2_and_changes_nothing(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: Case
) -> None:
    folder = tmp_path / "project"
    shutil.copytree(base, folder)
    for mutate in case.mutations:
        mutate(folder)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MODELCYCLE_PROJECT", raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    store_before = snapshot(folder / ".modelcycle")
    folder_before = snapshot(folder)

    with pytest.raises(SystemExit) as info:
        main(list(case.argv))
    out, err = capsys.readouterr()

    assert info.value.code == 2, (info.value.code, out, err)
    assert "Traceback" not in out + err
    errors = [line for line in (out + err).splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out + err
    assert err == errors[0] + "\n" and out == "", (out, err)  # the one line is all that is printed
    assert case.expected in errors[0], errors[0]
    assert snapshot(folder / ".modelcycle") == store_before
    assert snapshot(folder) == folder_before
