"""The JSON Schema of modelcycle.toml: shipped in sync with the code, printed by `modelcycle schema`,
accepting every settings file of the docs and the tests that modelcycle accepts, refusing wrong ones."""

from __future__ import annotations

import ast
import datetime
import json
import re
import textwrap
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from modelcycle import open_project, scheduler
from modelcycle.cli import main
from modelcycle.settings import Field, NotifierSettings, Section
from modelcycle.settings_schema import EMBEDDED, generate, render, shipped_text

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = {"project", "datasets", "models", "checks", "notifiers", "alerts", "scenarios"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(shipped_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert shipped_text() == render(generate()), "run: python -m modelcycle.settings_schema --write"


def test_modelcycle_schema_prints_the_shipped_schema(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["schema"])
    out, err = capsys.readouterr()
    assert (info.value.code, err) == (0, "")
    schema = json.loads(out)
    assert out == shipped_text() and schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["models"]["additionalProperties"] == {"$ref": "#/$defs/ModelSettings"}


# -- settings files written in the docs and in the tests ------------------------------------


def _settings_like(text: str) -> dict[str, Any] | None:
    """The parsed TOML when `text` looks like a settings file (only known top-level tables)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    return _as_json(data) if data and set(data) <= SECTIONS else None


def _as_json(value: Any) -> Any:
    """TOML dates and times as the ISO text editors validate them as (taplo: string, format date)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):  # datetime.datetime is a date too
        return value.isoformat()
    return value


def doc_blocks() -> Iterator[tuple[str, str]]:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)):
            yield f"{page.name}[{i}]", block


def test_strings() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue  # the wrong files below are wrong on purpose
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
                yield f"{path.name}:{node.lineno}", textwrap.dedent(node.value)


test_strings.__test__ = False  # a generator of cases, not a test


#: what modelcycle says of a part of a file: it names something defined elsewhere (another block, a file)
ELSEWHERE = re.compile(r"unknown (model|notifier|dataset) '|: no file |plugin file .* not found|jobs\.py")


def accepted_by_modelcycle(text: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether modelcycle accepts the file: it opens as a project with its notifiers and scenarios
    built (their plugin options checked), or its only complaint is a name or file defined elsewhere
    (a block of a page or a test's text is often a part that refers to the rest)."""
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text):
        monkeypatch.setenv(name, "1")
    folder.mkdir()
    (folder / "modelcycle.toml").write_text(text, encoding="utf-8")
    try:
        with warnings.catch_warnings():  # a test's notifier logging in over plain SMTP says so: not the point here
            warnings.simplefilter("ignore")
            project = open_project(folder)
            project.context.executor_options()
            for name in project.settings.notifiers:
                project.notifier(name)
            scheduler.validate(project)
    except Exception as exc:  # noqa: BLE001 - a deliberately wrong file, or a fragment missing a key: not a case
        return bool(ELSEWHERE.search(str(exc))) and plugin_keys_accepted(folder / "modelcycle.toml")
    return True


def plugin_keys_accepted(file: Path) -> bool:
    """Whether the keys of [models.NAME] and [checks.NAME] that their trainer or check type validates
    (when a project opens, which a fragment naming a model defined elsewhere never does) are valid."""
    from modelcycle._plugins import PluginHost
    from modelcycle.redaction import Redactor
    from modelcycle.settings import Settings, SettingsModel

    host = PluginHost()
    host.load(entry_points=False)
    settings = Settings(file, SettingsModel(), Redactor())
    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    for section, kind, selector, default in (
        ("models", "trainers", "trainer", "sklearn"),
        ("checks", "check_types", "type", "threshold"),
    ):
        for name, table in (raw.get(section) or {}).items():
            chosen = table.get(selector, default)
            if chosen not in host.classes(kind):
                continue
            try:
                host.validate(kind, chosen, table, key=f"{section}.{name}", settings=settings)
            except Exception:  # noqa: BLE001 - a deliberately wrong value: not a case
                return False
    return True


def _check_all(cases: Iterator[tuple[str, str]], validator: Any, tmp_path: Path, monkeypatch: Any) -> list[str]:
    checked = []
    for i, (where, text) in enumerate(cases):
        data = _settings_like(text)
        if data is None or "s3://" in text or not accepted_by_modelcycle(text, tmp_path / str(i), monkeypatch):
            continue
        errors = [f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, errors
        checked.append(where)
    return checked


def test_every_settings_file_in_the_docs_validates(validator, tmp_path, monkeypatch) -> None:
    checked = _check_all(doc_blocks(), validator, tmp_path, monkeypatch)
    assert len(checked) >= 15, checked  # the pages hold whole files: they must be found, not skipped
    pages = {where.split("[")[0] for where in checked}
    assert {"README.md", "settings.md", "notifiers.md", "scenarios.md"} <= pages, pages


def test_every_settings_file_the_tests_write_validates(validator, tmp_path, monkeypatch) -> None:
    checked = _check_all(test_strings(), validator, tmp_path, monkeypatch)
    assert len(checked) >= 80, checked
    assert any(where.startswith("test_scenarios.py") for where in checked)
    assert any(where.startswith("test_checks_alerts.py") for where in checked)


# -- wrong files ------------------------------------------------------------------------------

WRONG = {
    "an unknown section": ("[modles.m]\ndataset = 'd'\n", "'modles' was unexpected"),
    "text for a number": ("[models.m]\ndataset = 'd'\ntarget = 'y'\n[models.m.split]\ntest_size = 'big'\n", "big"),
    "a number out of range": ("[models.m]\ndataset = 'd'\ntarget = 'y'\n[models.m.split]\ntest_size = 1.5\n", "1.5"),
    "a required key missing": ("[datasets.d]\nformat = 'csv'\n", "'url' is a required property"),
    "a value not allowed": ("[models.m]\ndataset = 'd'\ntarget = 'y'\ntask = 'ranking'\n", "'ranking'"),
    "a duration in words": ("[alerts]\ncooldown = '6 hours'\n", "6 hours"),
    "a misspelt email option": (
        "[notifiers.n]\ntype = 'email'\nhots = 'smtp'\nsender = 'a@b.c'\nto = ['d@e.f']\n",
        "'hots' was unexpected",
    ),
    "options for the local executor": ("[project]\nexecutor_options = { workers = 2 }\n", "'workers' was unexpected"),
    "a dask option of the wrong type": (
        "[project]\nexecutor = 'dask'\nexecutor_options = { address = 8786 }\n",
        "8786 is not of type 'string'",
    ),
    "a step without its required option": (
        "[scenarios.s]\nsteps = [ { type = 'python' } ]\n",
        "'callable' is a required property",
    ),
    "a cron trigger with a typo": (
        "[scenarios.s]\ntriggers = [ { type = 'cron', shedule = '0 * * * *' } ]\nsteps = []\n",
        "'shedule' was unexpected",
    ),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_a_wrong_file_fails_the_schema(validator, case: str) -> None:
    text, expected = WRONG[case]
    errors = [e.message for e in validator.iter_errors(tomllib.loads(text))]
    assert errors and any(expected in message for message in errors), errors


def test_a_type_no_builtin_plugin_registers_keeps_its_keys_unchecked(validator) -> None:
    data = tomllib.loads("[notifiers.n]\ntype = 'pager'\nservice_key = 'x'\n")
    assert list(validator.iter_errors(data)) == []


def test_a_plugin_kind_listed_in_embedded_brings_its_options(monkeypatch) -> None:
    class PagerOptions(Section):
        service_key: str = Field(description="The key of the service paged.")

    class Pager:
        Options = PagerOptions

    plugins = {e.kind: {} for e in EMBEDDED}
    plugins["notifiers"] = {"pager": Pager}
    schema = generate(plugins)
    [rule] = schema["$defs"][NotifierSettings.__name__]["allOf"]
    assert rule["if"]["properties"]["type"] == {"const": "pager"}
    assert rule["then"]["properties"]["service_key"]["description"] == "The key of the service paged."
    check = jsonschema.Draft202012Validator(schema)
    assert not list(check.iter_errors({"notifiers": {"n": {"type": "pager", "service_key": "k"}}}))
    assert list(check.iter_errors({"notifiers": {"n": {"type": "pager", "service_kye": "k"}}}))
