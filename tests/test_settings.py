"""Settings: discovery, interpolation, validation, and every error message."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from modelcycle import open_project
from modelcycle._validate import Field, Section
from modelcycle.errors import SettingsError
from modelcycle.settings import (
    Redactor,
    find_settings_file,
    load_settings,
    parse_duration,
)

from tests.conftest import write_settings

BASE = """
[project]
name = "churn"

[datasets.customers]
url = "data/customers.csv"

[models.churn]
dataset = "customers"
target = "churned"
"""


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    return load_settings(write_settings(tmp_path, text), env or {})


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    """The one error line, when the file is read or, for the keys a plugin validates (a trainer's,
    a check type's), when the project opens."""
    with pytest.raises(SettingsError) as info:
        load(tmp_path, text, env)
        open_project(tmp_path, entry_points=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("modelcycle.toml: ")
    return message


# -- a full, valid file ---------------------------------------------------------------

FULL = """
[project]
name = "churn"
store = ".modelcycle"
store_options = {}
plugins = []
executor = "local"
[project.executor_options]
address = "tcp://127.0.0.1:8786"

[datasets.customers]
url = "data/customers.parquet"
read_options = {}

[datasets.feedback]
url = "data/feedback-*.csv"
format = "csv"

[models.churn]
dataset = "customers"
target = "churned"
task = "binary"
features = []
exclude = ["customer_id"]
trainer = "sklearn"
estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
params = { max_iter = 200 }
preprocessing = "auto"
split = { method = "random", test_size = 0.2, seed = 0 }
refit_full = false
metrics = ["roc_auc", "log_loss", "accuracy", "f1"]
primary_metric = "roc_auc"
threshold = "optimize:f1"
artifact_format = "joblib"
label_column = "churned"
prediction_column = "prediction"
[models.churn.activation]
policy = "if-better"
min_delta = 0.0
significance = 0.05
[models.churn.drift]
method = "auto"
threshold = {}
columns = {}

[checks.auc_floor]
model = "churn"
metric = "roc_auc"
min = 0.70
soft_min = 0.75
notify = ["oncall"]

[notifiers.oncall]
type = "email"
host = "smtp.example.com"
port = 587
starttls = true
username = "${SMTP_USER}"
password = "${SMTP_PASSWORD}"
sender = "ml-alerts@example.com"
to = ["oncall@example.com"]

[notifiers.chat]
type = "apprise"
urls = ["slack://${SLACK_TOKEN}/#ml-alerts"]

[alerts]
on = ["ERROR", "WARNING"]
notify = ["chat"]
cooldown = "6h"

[scenarios.nightly]
triggers = [ { type = "cron", schedule = "0 2 * * *" }, { type = "dataset-changed", dataset = "customers" } ]
steps = [
  { type = "retrain", model = "churn" },
  { type = "evaluate", model = "churn", dataset = "feedback" },
  { type = "check", checks = ["auc_floor"] },
  { type = "notify", notifiers = ["chat"], message = "nightly done: {summary}", run_if = "always" },
]
notify = { FAILED = ["oncall", "chat"], WARNING = ["chat"] }
"""

SECRETS = {"SMTP_USER": "alice", "SMTP_PASSWORD": "hunter2-secret", "SLACK_TOKEN": "xoxb-123-token"}


def test_the_spec_example_loads_into_typed_objects(tmp_path: Path) -> None:
    s = load(tmp_path, FULL, SECRETS)
    model = s.models["churn"]
    assert model.split.method == "random" and model.split.test_size == 0.2
    assert model.activation.policy == "if-better"
    assert model.params == {"max_iter": 200}
    assert s.checks["auc_floor"].min == 0.70
    assert s.alerts.cooldown == 6 * 3600
    assert s.notifiers["oncall"].model_extra["password"] == "hunter2-secret"
    assert s.scenarios["nightly"].steps[3].run_if == "always"
    assert s.scenarios["nightly"].steps[0].model_extra == {"model": "churn"}
    assert s.project.executor_options == {"address": "tcp://127.0.0.1:8786"}
    assert s.project_name == "churn"


def test_defaults(tmp_path: Path) -> None:
    s = load(tmp_path / "myproj", BASE.replace('name = "churn"\n', ""))
    assert s.project_name == "myproj"
    assert s.project.store == ".modelcycle"
    assert s.models["churn"].activation.policy == "always"
    assert s.models["churn"].split.method == "random"
    assert s.alerts.on == ["ERROR", "WARNING"]
    assert s.resolve_url(s.project.store) == str((tmp_path / "myproj" / ".modelcycle").resolve())
    assert s.resolve_url("s3://b/x") == "s3://b/x"


# -- interpolation ----------------------------------------------------------------------


def test_interpolation_set_unset_default_and_escape(tmp_path: Path) -> None:
    text = BASE.replace('"data/customers.csv"', '"${DATA:-fallback}/customers.csv"')
    assert load(tmp_path, text).datasets["customers"].url == "fallback/customers.csv"
    assert load(tmp_path, text, {"DATA": "/srv/data"}).datasets["customers"].url == "/srv/data/customers.csv"
    text = BASE.replace('"data/customers.csv"', '"price$$/${DIR}/x.csv"')
    assert load(tmp_path, text, {"DIR": "d"}).datasets["customers"].url == "price$/d/x.csv"


def test_unset_variable_names_the_key_and_the_variable(tmp_path: Path) -> None:
    text = BASE.replace('"data/customers.csv"', '"${DATA_DIR}/customers.csv"')
    assert error_of(tmp_path, text) == (
        "modelcycle.toml: datasets.customers.url: environment variable DATA_DIR is not set; "
        "set it, or give a default with ${DATA_DIR:-default}"
    )


def test_interpolated_values_are_redacted(tmp_path: Path) -> None:
    s = load(tmp_path, FULL, SECRETS)
    shown = s.redactor({"text": "login alice:hunter2-secret via slack://xoxb-123-token/#x", "n": [1, "hunter2-secret"]})
    assert shown == {
        "text": "login ${SMTP_USER}:${SMTP_PASSWORD} via slack://${SLACK_TOKEN}/#x",
        "n": [1, "${SMTP_PASSWORD}"],
    }


def test_redactor_leaves_very_short_values_alone() -> None:
    r = Redactor()
    r.add("ab", "${X}")
    r.add("secret", "${S}")
    assert r("ab secret") == "ab ${S}"


def test_a_bad_value_from_the_environment_is_not_echoed(tmp_path: Path) -> None:
    text = BASE + '[models.churn.split]\ntest_size = "${SIZE}"\n'
    message = error_of(tmp_path, text, {"SIZE": "topsecretvalue"})
    assert "topsecretvalue" not in message
    assert "models.churn.split.test_size" in message and "${SIZE}" in message


# -- every error message -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[project\n", "modelcycle.toml: not valid TOML: "),
        (
            BASE + "[models.churn.splitt]\nmethod = 'random'\n",
            "modelcycle.toml: models.churn.splitt: unknown key; did you mean 'split'?",
        ),
        (
            BASE.replace("target =", "tagret ="),
            "modelcycle.toml: models.churn.tagret: unknown key; did you mean 'target'?",
        ),
        ("[projekt]\nname = 'x'\n", "modelcycle.toml: projekt: unknown key; did you mean 'project'?"),
        ("[project]\nzzz = 1\n", "modelcycle.toml: project.zzz: unknown key; known keys: name, store,"),
        (
            BASE.replace('target = "churned"', ""),
            "modelcycle.toml: models.churn.target: required key is missing; add it",
        ),
        (
            BASE + "[models.churn.split]\nmethod = 'rand'\n",
            "modelcycle.toml: models.churn.split.method: input should be 'random', 'stratified', 'time' or 'kfold' (got 'rand')",
        ),
        (
            BASE + "[models.churn.split]\ntest_size = 1.5\n",
            "modelcycle.toml: models.churn.split.test_size: input should be less than 1 (got 1.5)",
        ),
        (
            BASE + "[models.churn.split]\nmethod = 'time'\n",
            "modelcycle.toml: models.churn.split.column: split method 'time' needs column = \"<sort column>\"",
        ),
        (
            BASE.replace('dataset = "customers"', 'dataset = "custmers"'),
            "modelcycle.toml: models.churn.dataset: unknown dataset 'custmers'; did you mean 'customers'? defined: customers",
        ),
        (
            BASE + "[checks.c]\nmodel = 'nope'\nmetric = 'auc'\n",
            "modelcycle.toml: checks.c.model: unknown model 'nope'; defined: churn",
        ),
        (
            BASE + "[checks.c]\nmodel = 'churn'\nmetric = 'auc'\nnotify = ['pager']\n",
            "modelcycle.toml: checks.c.notify[0]: unknown notifier 'pager'; defined: none: add a [notifiers.pager] section",
        ),
        (
            BASE + "[alerts]\nnotify = ['x']\n",
            "modelcycle.toml: alerts.notify[0]: unknown notifier 'x'; defined: none: add a [notifiers.x] section",
        ),
        (
            BASE + "[alerts]\ncooldown = 'soon'\n",
            "modelcycle.toml: alerts.cooldown: value error, a duration is a number of seconds or text like '30m', '6h', '1d'",
        ),
        (
            BASE + "[alerts]\non = ['BAD']\n",
            "modelcycle.toml: alerts.on[0]: input should be 'OK', 'WARNING', 'ERROR' or 'EMPTY' (got 'BAD')",
        ),
        (
            BASE + "[scenarios.s]\nnotify = { DONE = ['x'] }\n",
            "modelcycle.toml: scenarios.s.notify.DONE: not a valid key: input should be 'SUCCESS', 'WARNING', 'FAILED' or 'ABORTED' (got 'DONE')",
        ),
        (
            BASE + "[scenarios.s]\nnotify = { FAILED = ['x'] }\n",
            "modelcycle.toml: scenarios.s.notify.FAILED[0]: unknown notifier 'x'; defined: none: add a [notifiers.x] section",
        ),
        (
            BASE + "[scenarios.s]\nsteps = [{ model = 'churn' }]\n",
            "modelcycle.toml: scenarios.s.steps[0].type: required key is missing; add it",
        ),
        (
            BASE + "[scenarios.s]\nsteps = [{ type = 'retrain', run_if = 'sometimes' }]\n",
            "modelcycle.toml: scenarios.s.steps[0].run_if: input should be 'success', 'failure' or 'always' (got 'sometimes')",
        ),
        (BASE + "[notifiers.n]\nhost = 'x'\n", "modelcycle.toml: notifiers.n.type: required key is missing; add it"),
        (
            BASE.replace("[models.churn]", '[models."../evil"]'),
            "modelcycle.toml: models.\"../evil\": model name '../evil' is not allowed",
        ),
        (
            BASE.replace("[models.churn]", '[models."two words"]'),
            "modelcycle.toml: models.\"two words\": model name 'two words' is not allowed",
        ),
        (
            BASE + "[models.churn.activation]\npolicy = 'sometimes'\n",
            "modelcycle.toml: models.churn.activation.policy: input should be 'always', 'if-better' or 'manual' (got 'sometimes')",
        ),
        (
            "[project]\nplugins = 'hooks'\n",
            "modelcycle.toml: project.plugins: input should be a valid list (got 'hooks')",
        ),
    ],
)
def test_error_messages(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text).startswith(expected)


def test_unreadable_encoding_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "modelcycle.toml"
    path.write_bytes(b"\xff\xfe[project]")
    with pytest.raises(SettingsError, match="modelcycle.toml: cannot be read"):
        load_settings(path, {})


# -- discovery ----------------------------------------------------------------------------


def test_discovery_walks_upward(tmp_path: Path) -> None:
    file = write_settings(tmp_path, "[project]\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_settings_file(cwd=deep) == file.resolve()


def test_discovery_by_path_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write_settings(tmp_path / "p", "[project]\n")
    assert find_settings_file(tmp_path / "p") == file.resolve()
    assert find_settings_file(file) == file.resolve()
    monkeypatch.setenv("MODELCYCLE_PROJECT", str(tmp_path / "p"))
    assert find_settings_file(cwd=tmp_path) == file.resolve()


def test_discovery_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELCYCLE_PROJECT", raising=False)
    with pytest.raises(SettingsError, match=r"no modelcycle.toml in .* or any parent: run 'modelcycle init'"):
        find_settings_file(cwd=tmp_path)
    with pytest.raises(SettingsError, match=r"no settings file at .*nowhere.*modelcycle init DIR writes one"):
        find_settings_file(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), ("2w", 1209600), (15, 15), ("45", 45)],
)
def test_durations(given: object, seconds: float) -> None:
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["soon", -1, True, "5 years", None])
def test_bad_durations(given: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(given)


def test_an_empty_variable_takes_the_default_like_the_shell(tmp_path: Path) -> None:
    text = BASE.replace('"data/customers.csv"', '"${DATA:-fallback}/c.csv"')
    assert load(tmp_path, text, {"DATA": ""}).datasets["customers"].url == "fallback/c.csv"
    text = BASE.replace('"data/customers.csv"', '"x${EMPTY}.csv"')
    assert load(tmp_path, text, {"EMPTY": ""}).datasets["customers"].url == "x.csv"


# -- type errors, limits and the validator's behaviour ----------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[project]\nname = 1\n", "modelcycle.toml: project.name: input should be a valid string (got 1)"),
        ("[project]\nname = true\n", "modelcycle.toml: project.name: input should be a valid string (got True)"),
        (
            "[project]\nplugins = ['a', 2]\n",
            "modelcycle.toml: project.plugins[1]: input should be a valid string (got 2)",
        ),
        (
            "[project]\nstore_options = 'x'\n",
            "modelcycle.toml: project.store_options: input should be a valid dictionary (got 'x')",
        ),
        ("project = 1\n", "modelcycle.toml: project: input should be a valid dictionary (got 1)"),
        ("datasets = { a = 1 }\n", "modelcycle.toml: datasets.a: input should be a valid dictionary (got 1)"),
        (
            BASE + "[models.churn.split]\nseed = 'x'\n",
            "modelcycle.toml: models.churn.split.seed: input should be a valid integer (got 'x')",
        ),
        (
            BASE + "[models.churn.split]\nseed = true\n",
            "modelcycle.toml: models.churn.split.seed: input should be a valid integer (got True)",
        ),
        (
            BASE + "[models.churn.split]\nseed = 1.5\n",
            "modelcycle.toml: models.churn.split.seed: input should be a valid integer, got a number with a fractional part (got 1.5)",
        ),
        (
            BASE + "[models.churn.split]\ntest_size = true\n",
            "modelcycle.toml: models.churn.split.test_size: input should be a valid number (got True)",
        ),
        (
            BASE + "[models.churn.split]\ntest_size = '0.3'\n",
            "modelcycle.toml: models.churn.split.test_size: input should be a valid number (got '0.3')",
        ),
        (
            BASE + "[models.churn.split]\ntest_size = 0\n",
            "modelcycle.toml: models.churn.split.test_size: input should be greater than 0 (got 0)",
        ),
        (
            BASE + "[models.churn.split]\nfolds = 1\n",
            "modelcycle.toml: models.churn.split.folds: input should be greater than or equal to 2 (got 1)",
        ),
        (
            BASE + "[models.churn.split]\nfolds = 101\n",
            "modelcycle.toml: models.churn.split.folds: input should be less than or equal to 100 (got 101)",
        ),
        (
            BASE.replace('target = "churned"', 'target = "churned"\nrefit_full = 1'),
            "modelcycle.toml: models.churn.refit_full: input should be a valid boolean (got 1)",
        ),
        (
            BASE.replace('target = "churned"', 'target = "churned"\nrefit_full = "yes"'),
            "modelcycle.toml: models.churn.refit_full: input should be a valid boolean (got 'yes')",
        ),
        (
            BASE.replace('target = "churned"', 'target = "churned"\nsplit = 3'),
            "modelcycle.toml: models.churn.split: input should be a valid dictionary (got 3)",
        ),
        (
            BASE.replace('target = "churned"', 'target = "churned"\nthreshold = [1]'),
            "modelcycle.toml: models.churn.threshold: input should be a valid number or a valid string (got [1])",
        ),
        (
            BASE.replace('target = "churned"', 'target = "churned"\nthreads = 0'),
            "modelcycle.toml: models.churn.threads: input should be greater than or equal to 1 (got 0)",
        ),
        (
            "[datasets.a]\nurl = 'x'\nformat = 1\n",
            "modelcycle.toml: datasets.a.format: input should be 'csv', 'parquet' or 'jsonl' (got 1)",
        ),
        (
            BASE.replace('target = "churned"', 'target = "churned"\nartifact_format = "x"'),
            "modelcycle.toml: models.churn.artifact_format: input should be 'joblib' or 'skops' (got 'x')",
        ),
        (
            BASE + "[models.churn.drift]\nthreshold = { psi = 'high' }\n",
            "modelcycle.toml: models.churn.drift.threshold.psi: input should be a valid number (got 'high')",
        ),
        (
            BASE + "[checks.c]\nmodel = 'churn'\nmetric = 'm'\nvalue_in = 'x'\n",
            "modelcycle.toml: checks.c.value_in: input should be a valid list (got 'x')",
        ),
        (
            BASE + "[alerts]\ncooldown = -5\n",
            "modelcycle.toml: alerts.cooldown: value error, a duration cannot be negative (got -5)",
        ),
        (
            BASE + "[scenarios.s]\nsteps = [1]\n",
            "modelcycle.toml: scenarios.s.steps[0]: input should be a valid dictionary (got 1)",
        ),
        (
            BASE + "[scenarios.s]\nsteps = [{ type = 'x', retries = 101 }]\n",
            "modelcycle.toml: scenarios.s.steps[0].retries: input should be less than or equal to 100 (got 101)",
        ),
        (
            BASE + "[scenarios.s]\nnotify = { FAILED = 'x' }\n",
            "modelcycle.toml: scenarios.s.notify.FAILED: input should be a valid list (got 'x')",
        ),
        (
            "[project]\nstore = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]\n",
            "modelcycle.toml: project.store: input should be a valid string (got [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1...)",
        ),
    ],
)
def test_type_and_limit_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text) == expected


def test_the_first_error_in_declaration_order_wins(tmp_path: Path) -> None:
    # [project] is declared before [datasets], whatever the order in the file
    text = "[datasets.a]\nurl = 1\n[project]\nname = 1\nstore = 2\n"
    assert error_of(tmp_path, text) == "modelcycle.toml: project.name: input should be a valid string (got 1)"
    # an unknown key anywhere comes before any type error
    text = "[project]\nname = 1\n[alerts]\nbogus = 1\n"
    assert error_of(tmp_path, text).startswith("modelcycle.toml: alerts.bogus: unknown key; known keys: on,")


def test_numbers_convert_without_changing_their_meaning(tmp_path: Path) -> None:
    text = BASE + "[models.churn.split]\ntest_size = 1e-1\nseed = 3.0\n[models.churn.activation]\nmin_delta = 1\n"
    model = load(tmp_path, text).models["churn"]
    assert model.split.test_size == 0.1 and model.split.seed == 3 and type(model.split.seed) is int
    assert model.activation.min_delta == 1.0 and type(model.activation.min_delta) is float


def test_numbers_may_come_from_the_environment_as_text(tmp_path: Path) -> None:
    text = BASE + '[models.churn.split]\ntest_size = "${SIZE}"\nseed = "${SEED:-7}"\n'
    split = load(tmp_path, text, {"SIZE": "0.25"}).models["churn"].split
    assert split.test_size == 0.25 and split.seed == 7 and type(split.seed) is int
    # text from the environment that is no number is refused, showing the placeholder
    message = error_of(tmp_path, text, {"SIZE": "0.25", "SEED": "seven"})
    assert message == "modelcycle.toml: models.churn.split.seed: input should be a valid integer (got '${SEED:-7}')"
    # where text is expected, text it stays
    text = BASE + '[datasets.customers.read_options]\nsep = "${SEP}"\n'
    assert load(tmp_path, text, {"SEP": "123"}).datasets["customers"].read_options == {"sep": "123"}


def test_sections_are_frozen_dumpable_and_keep_extra_keys(tmp_path: Path) -> None:
    import copy
    import pickle

    s = load(tmp_path, FULL, SECRETS)
    model = s.models["churn"]
    with pytest.raises(AttributeError):
        model.target = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del model.target
    dumped = model.model_dump(mode="json")
    assert dumped["split"] == {"method": "random", "test_size": 0.2, "seed": 0, "column": None, "folds": 5}
    assert dumped["activation"]["policy"] == "if-better" and dumped["params"] == {"max_iter": 200}
    assert s.notifiers["chat"].model_dump() == {"type": "apprise", "urls": ["slack://xoxb-123-token/#ml-alerts"]}
    step = s.scenarios["nightly"].steps[2]
    assert step.model_extra == {"checks": ["auc_floor"]} and step.checks == ["auc_floor"]
    assert s.project.model_extra is None
    with pytest.raises(AttributeError):
        _ = step.nothing
    for copied in (pickle.loads(pickle.dumps(s.model)), copy.deepcopy(s.model)):
        assert copied == s.model and copied is not s.model
    assert s.model.model_fields["alerts"].default_factory is not None


def test_sections_can_be_built_in_python() -> None:
    from modelcycle._validate import ValidationError
    from modelcycle.settings import SplitSettings, StepSettings

    assert SplitSettings() == SplitSettings(method="random")
    assert SplitSettings(folds=3).folds == 3
    assert StepSettings(type="retrain", model="m").model_extra == {"model": "m"}
    with pytest.raises(ValidationError, match="less than 1"):
        SplitSettings(test_size=1)
    with pytest.raises(ValidationError, match="unknown key"):
        SplitSettings(sede=1)
    with pytest.raises(ValidationError, match="required key is missing"):
        StepSettings()


class Either(Section):
    value: Literal["auto"] | int = Field(description="A word or a count.")
    share: float | None = Field(None, gt=0, description="A share.")


def test_a_union_names_what_each_member_expected_from_their_fields() -> None:
    from modelcycle._validate import ValidationError

    with pytest.raises(ValidationError) as info:
        Either(value=[1])
    assert (info.value.expected, info.value.loc) == ("'auto' or a valid integer", ("value",))
    assert info.value.message == "input should be 'auto' or a valid integer"
    with pytest.raises(ValidationError) as info:
        Either(value=1, share=-1)
    assert info.value.expected == "greater than 0" and info.value.message == "input should be greater than 0"
    with pytest.raises(ValidationError) as info:
        Either(value=2.5)
    assert info.value.message == "input should be 'auto' or a valid integer, got a number with a fractional part"


def test_importing_the_settings_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = "import sys, modelcycle.project; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
