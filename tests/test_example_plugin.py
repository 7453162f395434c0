"""examples/modelcycle-example-plugin, loaded as an installed distribution would be, and the
fixtures of modelcycle.testing it is tested with.

Installing the example into the environment would make every other test load it (and take
time): instead a `.dist-info` folder, written from the example's own pyproject.toml, goes on
sys.path next to the example's source folder, and importlib.metadata finds its entry point
exactly as after `pip install`. The example's own tests run the same way, in a subprocess.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import SettingsError, alerts
from modelcycle.cli import main
from modelcycle.interfaces import Message
from modelcycle.testing import EVENT_HOOKS, RecordingPlugin

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "modelcycle-example-plugin"
PYPROJECT = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
DIST, VERSION = PYPROJECT["project"]["name"], PYPROJECT["project"]["version"]


def write_dist_info(site: Path) -> Path:
    """What `pip install` leaves in site-packages, as far as importlib.metadata looks: METADATA and entry points."""
    info = site / f"{DIST.replace('-', '_')}-{VERSION}.dist-info"
    info.mkdir(parents=True)
    requires = "".join(f"Requires-Dist: {r}\n" for r in PYPROJECT["project"].get("dependencies", []))
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n{requires}", encoding="utf-8"
    )
    groups = PYPROJECT["project"]["entry-points"]
    text = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n" for group, eps in groups.items()
    )
    (info / "entry_points.txt").write_text(text, encoding="utf-8")
    return info


def example_modules() -> list[str]:
    return [name for name in sys.modules if name == "modelcycle_example" or name.startswith("modelcycle_example.")]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example 'installed': its dist-info on sys.path, and its src/ folder beside it."""
    folder = tmp_path / "site"
    write_dist_info(folder)
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    yield folder
    for name in example_modules():
        del sys.modules[name]


def customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, rows),
            "support_calls": rng.poisson(2.0, rows),
            "monthly_fee": rng.normal(50.0, 15.0, rows).round(2),
        }
    )
    logit = -1.5 - 0.05 * frame["tenure_months"] + 0.6 * frame["support_calls"]
    frame["churned"] = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return frame


SETTINGS = """
[project]
name = "example"

[datasets.train]
url = "train.parquet"

[models.churn]
dataset = "train"
target = "churned"
metrics = ["roc_auc", "top_decile_lift"]
params = { max_iter = 20 }
threads = 1

[checks.lift_floor]
model = "churn"
metric = "top_decile_lift"
min = 50
notify = ["lines"]

[notifiers.lines]
type = "jsonl"
path = "alerts.jsonl"
"""


# -- the example, found through its entry point ------------------------------------------------------


def test_the_fake_distribution_is_what_importlib_metadata_sees(site: Path) -> None:
    [ep] = [ep for ep in importlib.metadata.entry_points(group="modelcycle") if ep.name == "example"]
    assert ep.value == "modelcycle_example"
    assert (ep.dist.metadata["Name"], ep.dist.version) == (DIST, VERSION) == ("modelcycle-example-plugin", "0.1.0")
    assert ep.load().__file__.startswith(str(EXAMPLE / "src"))


def test_plugins_json_lists_the_example(site: Path, modelcycle_project, capsys) -> None:
    project = modelcycle_project()
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), "plugins", "--json"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    plugins = {p["name"]: p for p in json.loads(out)}
    assert plugins["example"] == {
        "name": "example",
        "source": "modelcycle-example-plugin 0.1.0",
        "hooks": ["register_metrics", "register_notifiers"],
        "registers": {"notifiers": ["jsonl"], "metrics": ["top_decile_lift"]},
    }
    assert plugins["outbox"]["source"] == "built-in"


def test_without_the_distribution_the_names_are_unknown(modelcycle_project) -> None:
    assert "modelcycle_example" not in {ep.value for ep in importlib.metadata.entry_points(group="modelcycle")}
    with pytest.raises(SettingsError, match=r"notifiers\.lines\.type: unknown notifier 'jsonl'; registered: "):
        modelcycle_project(SETTINGS, files={"train.parquet": customers(50, 0)})


def test_train_with_its_metric_check_and_alert_into_the_jsonl_file(site: Path, modelcycle_project) -> None:
    from modelcycle_example.notifier import read_alerts

    recorder = RecordingPlugin()
    project = modelcycle_project(
        SETTINGS, plugins=[recorder], files={"train.parquet": customers(600, 1), "feedback.csv": customers(300, 2)}
    )
    trained = project.train("churn")
    assert set(trained.metrics) == {"roc_auc", "top_decile_lift"}
    assert trained.metrics["top_decile_lift"] > 1.0
    assert project.show("churn")["metrics"]["top_decile_lift"] == trained.metrics["top_decile_lift"]

    evaluation = project.evaluate("churn", "feedback.csv")
    lift = evaluation["metrics"]["top_decile_lift"]
    assert lift > 1.0
    assert project.history("churn", "top_decile_lift")["top_decile_lift"].tolist() == [lift]

    [result] = project.run_checks()
    assert (result["outcome"], result["value"]) == ("ERROR", lift)

    [line] = read_alerts(project.settings.root / "alerts.jsonl")
    assert line["notifier"] == "lines"
    assert line["subject"] == "[modelcycle] example: check lift_floor is ERROR for churn v1"
    assert f"top_decile_lift = {lift:.4g}" in line["text"]
    [sent] = recorder.of("after_alert_sent")
    assert sent["alert"]["id"] == line["alert"]["id"] and sent["alert"]["status"] == "sent"
    assert project.notifier("lines").target() == f"JSON lines in {project.settings.root / 'alerts.jsonl'}"


def test_the_activation_policy_bootstraps_the_plugin_metric(site: Path, modelcycle_project) -> None:
    """if-better compares versions on the primary metric with sample weights: the plugin's metric works there."""
    settings = SETTINGS.replace("threads = 1", 'threads = 1\nprimary_metric = "top_decile_lift"\n')
    settings += '[models.churn.activation]\npolicy = "if-better"\nresamples = 200\n'
    project = modelcycle_project(settings, files={"train.parquet": customers(600, 1)})
    project.train("churn")
    second = project.train("churn")
    assert second.decision["metric"] == "top_decile_lift"
    assert second.decision["activate"] is False  # the same data and seed: no significant improvement
    assert second.decision["p_value"] is not None


def test_the_example_own_tests_pass(site: Path, tmp_path: Path) -> None:
    """examples/modelcycle-example-plugin/tests, run by pytest as its author would, with the plugin 'installed'."""
    live = any(ep.value == "modelcycle.testing" for ep in importlib.metadata.entry_points(group="pytest11"))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in [str(site), str(EXAMPLE / "src"), os.environ.get("PYTHONPATH")] if p),
        "PYTHONDONTWRITEBYTECODE": "1",  # nothing written into the examples folder
    }
    env.pop("MODELCYCLE_PROJECT", None)
    args = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t")]
    if not live or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):  # e.g. installed before the entry point existed
        args += ["-p", "modelcycle.testing"]
    done = subprocess.run(args, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout and "skipped" not in done.stdout


# -- modelcycle.testing itself ------------------------------------------------------------------------


def test_the_pytest11_entry_point_names_the_module() -> None:
    import modelcycle.testing

    eps = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.value == "modelcycle.testing"]
    assert eps, "modelcycle was installed before it declared its pytest11 entry point: reinstall it"
    assert [ep.name for ep in eps] == ["modelcycle"]
    assert eps[0].load() is modelcycle.testing


def test_loading_the_testing_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, modelcycle.testing; "
        "print(','.join(m for m in ('pandas', 'numpy', 'aiosmtpd', 'fsspec', 'http.server', 'sklearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def fixtures_of(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if type(value).__name__ == "FixtureFunctionDefinition" or hasattr(value, "_pytestfixturefunction")
    }


def test_fixture_names_do_not_clash_with_the_core_conftest() -> None:
    import modelcycle.testing

    import tests.conftest

    ours, theirs = fixtures_of(modelcycle.testing), fixtures_of(tests.conftest)
    assert ours == {"modelcycle_project", "memory_store", "smtp_sink", "webhook_sink", "recording_plugin"}
    assert theirs >= {"make_project", "s3_endpoint", "s3_bucket", "store_settings"}
    assert not ours & theirs


def test_modelcycle_project_writes_files_of_every_kind(modelcycle_project) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    project = modelcycle_project(
        """
        [project]
        name = "files"
        [datasets.p]
        url = "data/p.parquet"
        """,
        files={
            "data/p.parquet": frame,
            "c.csv": frame,
            "j.jsonl": frame,
            "raw.bin": b"\x00\x01",
            "notes.txt": "text",
        },
    )
    root = project.settings.root
    assert project.name == "files" and (root / "modelcycle.toml").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(root / "data" / "p.parquet"), frame)
    pd.testing.assert_frame_equal(pd.read_csv(root / "c.csv"), frame)
    pd.testing.assert_frame_equal(pd.read_json(root / "j.jsonl", lines=True), frame)
    assert (root / "raw.bin").read_bytes() == b"\x00\x01" and (root / "notes.txt").read_text() == "text"
    assert modelcycle_project().settings.root != root  # one folder per call
    with pytest.raises(ValueError, match="name it .parquet, .csv or .jsonl"):
        modelcycle_project(files={"frame.xlsx": frame})
    with pytest.raises(ValueError, match="outside the project folder"):
        modelcycle_project(files={"../escape.txt": "x"})


def test_memory_store_is_unique_and_emptied(memory_store, modelcycle_project) -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    project = memory_store.project('[project]\nname = "m"\n')
    assert project.store.display_url() == memory_store.url and project.name == "m"
    project.record_version("m", b"bytes", artifact_format="joblib", metadata={})
    assert any(k.startswith("models/m/") for k in memory_store.keys())
    again = modelcycle_project(memory_store.settings)  # the same store, seen from a second project
    assert [v["version"] for v in again.versions("m")] == [1]
    memory_store.project("[alerts]\ncooldown = 0\n").record_version("m", b"x", artifact_format="joblib", metadata={})
    memory_store.clear()
    assert memory_store.keys() == []
    assert not any(
        p.startswith(f"/{memory_store.name}") for p in [*MemoryFileSystem.store, *MemoryFileSystem.pseudo_dirs]
    )


def test_smtp_sink_receives_and_plays_an_outage(smtp_sink, modelcycle_project) -> None:
    project = modelcycle_project(
        '[project]\nname = "mail"\n' + smtp_sink.notifier_settings("mail", to=["a@example.com"])
    )
    project.notifier("mail").send(Message("hello", "body text"))
    [mail] = smtp_sink.messages
    assert (mail["Subject"], mail["To"]) == ("hello", "a@example.com")
    assert mail.get_body(("plain",)).get_content().strip() == "body text"
    assert smtp_sink.envelopes[0].rcpt_tos == ["a@example.com"]

    smtp_sink.stop()
    alert = alerts.queue(project, "mail", "down", "text", {"kind": "check", "check": "c", "outcome": "ERROR"})
    assert alerts.deliver(project, alert)["status"] == "pending"
    smtp_sink.start()  # the same port again
    [sent] = alerts.retry(project, force=True)
    assert sent["status"] == "sent"
    assert [m["Subject"] for m in smtp_sink.messages] == ["hello", "down"]


def test_webhook_sink_records_and_answers_the_status_set(webhook_sink, modelcycle_project) -> None:
    import urllib.error
    import urllib.request

    def post(path: str, payload: bytes) -> int:
        request = urllib.request.Request(webhook_sink.url + path, data=payload, headers={"X-Token": "t"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("/hook", b'{"a": 1}') == 200
    webhook_sink.status = 500
    assert post("/down", b"not json") == 500
    first, second = webhook_sink.requests
    assert (first["method"], first["path"], first["json"]) == ("POST", "/hook", {"a": 1})
    assert first["headers"]["X-Token"] == "t"
    assert (second["body"], second["json"]) == (b"not json", None)
    assert webhook_sink.json(0) == {"a": 1}

    # through the apprise notifier: a 500 keeps the alert pending, a 200 delivers it
    project = modelcycle_project(
        f'[notifiers.chat]\ntype = "apprise"\nurls = ["json://127.0.0.1:{webhook_sink.port}/chat"]\n'
    )
    alert = alerts.queue(project, "chat", "subject", "text", {"kind": "check", "check": "c", "outcome": "ERROR"})
    assert alerts.deliver(project, alert)["status"] == "pending"
    webhook_sink.status = 200
    assert [a["status"] for a in alerts.retry(project, force=True)] == ["sent"]
    assert webhook_sink.json()["title"] == "subject" and webhook_sink.requests[-1]["path"] == "/chat"


def test_recording_plugin_implements_every_event_hook(recording_plugin) -> None:
    from modelcycle import hookspecs

    specs = {name for name in dir(hookspecs) if name.startswith("after_")}
    assert set(EVENT_HOOKS) == specs
    for hook in EVENT_HOOKS:
        assert hasattr(getattr(RecordingPlugin, hook), "modelcycle_impl"), hook
    assert recording_plugin.__name__ == "recording" and recording_plugin.calls == []
    with pytest.raises(ValueError, match="not an event hook"):
        recording_plugin.of("register_metrics")
