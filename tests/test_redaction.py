"""Secrets given through ${NAME} never leave the process: every output of every command, with -v,
in any printed form (repr, JSON, URL-quoted, HTML), the dashboard and every stored object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle.cli import main
from modelcycle.redaction import RedactedStream, Redactor

#: a backslash, a single and a double quote: each printed form escapes them differently
SECRETS = {
    "PROJECT_SECRET": "prjA7x\\q'u\"ote9Z",
    "STORE_KEY": "keyB8y\\q'u\"ote8Y",
    "STORE_PATH": "pthC9z\\q'u\"ote7X",
    "SMTP_PASSWORD": "pwdD1w\\q'u\"ote6W",
    "STEP_SECRET": "stpE2v\\q'u\"ote5V",
}
#: fragments of the secrets that no escaping changes: none may appear anywhere
FRAGMENTS = [part for value in SECRETS.values() for part in (value[:6], value[-5:])]


def leaks(text: str) -> list[str]:
    return [fragment for fragment in FRAGMENTS if fragment in text]


SETTINGS = """\
[project]
name = "shop-${PROJECT_SECRET}"
store = "s3://BUCKET/${STORE_PATH}"
store_options = { endpoint_url = "ENDPOINT", key = "${STORE_KEY}", secret = "testing" }

[datasets.train]
url = "train.csv"

[datasets.feedback]
url = "feedback.csv"

[models.m]
dataset = "train"
target = "target"
params = { max_iter = 10 }
threads = 1

[checks.floor]
model = "m"
metric = "roc_auc"
min = 0.99

[notifiers.mail]
type = "email"
host = "127.0.0.1"
port = PORT
starttls = false
username = "ops"
password = "${SMTP_PASSWORD}"
sender = "a@example.com"
to = ["b@example.com"]
timeout = 2

[alerts]
notify = ["mail"]

[scenarios.nightly]
steps = [
  { type = "evaluate", model = "m", dataset = "feedback" },
  { type = "check", checks = ["floor"] },
  { type = "notify", notifiers = ["mail"], message = "done ${STEP_SECRET} {summary}", run_if = "always" },
]
"""


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "target": (x + rng.normal(size=rows) > 0).astype(int)})


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def project_dir(tmp_path: Path, s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    text = SETTINGS.replace("BUCKET", s3_bucket).replace("ENDPOINT", s3_endpoint).replace("PORT", str(closed_port()))
    (folder / "modelcycle.toml").write_text(text, encoding="utf-8")
    frame(200, 0).to_csv(folder / "train.csv", index=False)
    frame(100, 1).to_csv(folder / "feedback.csv", index=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MODELCYCLE_PROJECT", raising=False)
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(["-v", *args])
    out, err = capsys.readouterr()
    return info.value.code or 0, out + err


COMMANDS = [
    ["train", "m"],
    ["train", "m", "--json"],
    ["versions", "m"],
    ["versions", "m", "--json"],
    ["show", "m"],
    ["show", "m", "--json"],
    ["score", "m", "feedback", "scored.csv"],
    ["score", "m", "feedback", "scored.csv", "--json"],
    ["evaluate", "m", "feedback"],
    ["evaluate", "m", "feedback", "--json"],
    ["history", "m"],
    ["history", "m", "--json"],
    ["check"],
    ["check", "--json"],
    ["alerts"],
    ["alerts", "--json"],
    ["alerts", "retry"],
    ["notify", "mail", "hello"],
    ["status"],
    ["status", "--json"],
    ["scenario", "list"],
    ["scenario", "run", "nightly"],
    ["scenario", "run", "nightly", "--json"],
    ["scenario", "runs"],
    ["scenario", "runs", "--json"],
    ["dashboard", "build", "board.html"],
    ["plugins"],
    ["gc", "m", "--keep", "1", "--dry-run"],
    ["activate", "m", "1", "--reason", "back"],
    ["rollback", "m"],
    ["scheduler", "--once"],
    ["versions", "nope"],
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")
def test_no_command_prints_or_stores_a_secret(
    project_dir: Path, capsys: pytest.CaptureFixture[str], s3_endpoint: str, s3_bucket: str
) -> None:
    codes = {}
    for args in COMMANDS:
        code, text = run(capsys, *args)
        codes[" ".join(args)] = code
        assert not leaks(text), (args, text)
    assert codes["train m"] == 0 and codes["check"] == 1 and codes["notify mail hello"] == 1
    assert codes["versions nope"] == 2
    # the placeholders show where the secrets were
    _, shown = run(capsys, "scenario", "runs", "--json")
    assert '"project": "shop-${PROJECT_SECRET}"' in shown
    page = (project_dir / "board.html").read_text(encoding="utf-8")
    assert not leaks(page)
    assert "<title>" in page and "${PROJECT_SECRET}" in page
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert len(keys) > 20
    for key in keys:
        body = s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
        if key.endswith(".json"):
            assert not leaks(body.decode("utf-8")), key
    scored = (project_dir / "scored.csv").read_text(encoding="utf-8")
    assert not leaks(scored)


def test_settings_errors_and_tracebacks_hide_escaped_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value that fails validation is shown as repr(): backslashes doubled, quotes escaped."""
    folder = tmp_path / "p"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = folder / "modelcycle.toml"
    settings.write_text(
        textwrap.dedent("""\
        [project]
        name = "x"
        [datasets.d]
        url = "d.csv"
        [models.m]
        dataset = "d"
        target = "y"
        split = { test_size = "${STEP_SECRET}" }
        """),
        encoding="utf-8",
    )
    code, text = run(capsys, "versions", "m")
    assert code == 2 and "test_size" in text and "${STEP_SECRET}" in text
    assert not leaks(text), text
    # a store that cannot be reached: its URL and options are in the -v traceback
    settings.write_text(
        '[project]\nname = "${PROJECT_SECRET}"\nstore = "s3://b/${STORE_PATH}"\n'
        'store_options = { endpoint_url = "http://127.0.0.1:1/${STORE_KEY}", connect_timeout = 1 }\n'
        "[project.executor_options]\n",
        encoding="utf-8",
    )
    code, text = run(capsys, "versions", "m")
    assert code != 0 and "Traceback" in text
    assert not leaks(text), text


def test_dashboard_serve_banner_hides_the_project_name_secret(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "modelcycle.toml").write_text('[project]\nname = "${PROJECT_SECRET}"\n', encoding="utf-8")
    env = {**os.environ, **SECRETS, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "modelcycle.cli", "-v", "--project", str(folder), "dashboard", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = process.stderr.readline()
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        import urllib.request

        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode("utf-8")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "serving the dashboard of ${PROJECT_SECRET}" in banner
    assert not leaks(banner + out + err)
    assert "<title>" in page and not leaks(page)


def test_the_redactor_catches_every_printed_form() -> None:
    secret = SECRETS["SMTP_PASSWORD"]
    redactor = Redactor()
    redactor.add(secret, "${SMTP_PASSWORD}")
    import html
    import urllib.parse

    forms = [
        secret,
        repr(secret),
        repr(repr(secret)),
        str([secret]),
        repr({"k": [secret]}),
        json.dumps(secret),
        json.dumps({"k": repr(secret)}),
        urllib.parse.quote(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        html.escape(secret),
        f"error: {secret!r} is not a number",
    ]
    for form in forms:
        assert not leaks(redactor(form)), form
        assert "${SMTP_PASSWORD}" in redactor(form)
    assert redactor({"a": [secret, 1], secret: None}) == {"a": ["${SMTP_PASSWORD}", 1], "${SMTP_PASSWORD}": None}
    assert redactor("ab") == "ab"  # nothing to hide: text unchanged
    short = Redactor()
    short.add("123", "${SEP}")
    digest = "9f0123ab" * 8  # a sha256 holding the short secret: left alone
    assert short(f"sep=123 sha256={digest} '123'") == f"sep=${{SEP}} sha256={digest} '${{SEP}}'"
    assert redactor({secret: secret}, keys=False) == {secret: "${SMTP_PASSWORD}"}  # keys are structure


def test_stored_json_keeps_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret equal to a field name must not rename the field in the store (HEAD's "last")."""
    from modelcycle import redaction
    from modelcycle.interfaces import dump_json

    process = Redactor()  # this process's secrets, as if a settings file had set NAME_IS_LAST=last
    process.add("last", "${NAME_IS_LAST}")
    monkeypatch.setattr(redaction, "PROCESS", process)
    assert json.loads(dump_json({"last": 3, "note": "the last one"})) == {"last": 3, "note": "the ${NAME_IS_LAST} one"}


def test_a_redacted_stream_never_splits_a_secret_between_writes() -> None:
    import io

    secret = SECRETS["STORE_KEY"]
    redactor = Redactor()
    redactor.add(secret, "${STORE_KEY}")
    sink = io.StringIO()
    stream = RedactedStream(sink, redactor.text)
    for char in f"a {secret} b\nc {secret}":  # one character at a time, as some writers do
        stream.write(char)
    assert sink.getvalue() == "a ${STORE_KEY} b\n"
    stream.flush()
    assert sink.getvalue() == "a ${STORE_KEY} b\nc ${STORE_KEY}"
    with pytest.raises(TypeError):
        stream.write(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        stream.buffer  # noqa: B018 - the binary buffer would bypass redaction


def test_a_number_from_the_environment_is_not_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redacting "0.25" would rewrite every metric sharing its digits: numbers are settings."""
    from modelcycle.settings import load_settings

    path = tmp_path / "modelcycle.toml"
    path.write_text(
        '[datasets.d]\nurl = "${DATA}"\n[models.m]\ndataset = "d"\ntarget = "y"\n'
        'split = { test_size = "${TEST_SIZE}" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TEST_SIZE", "0.25")
    monkeypatch.setenv("DATA", "s3://data/file.csv")
    settings = load_settings(path)
    assert settings.models["m"].split.test_size == 0.25
    assert settings.redactor("roc_auc=0.25 from s3://data/file.csv") == "roc_auc=0.25 from ${DATA}"


def test_scenario_warnings_hide_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreachable store whose endpoint holds a secret: the warning about pending alerts hides it."""
    import warnings

    from modelcycle import open_project

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "modelcycle.toml").write_text(
        textwrap.dedent("""\
        [project]
        store = "s3://bucket/x"
        store_options = { endpoint_url = "http://127.0.0.1:1/${STORE_KEY}", key = "a", secret = "b", \
config_kwargs = { connect_timeout = 1, retries = { max_attempts = 1 } } }
        [notifiers.o]
        type = "file"
        path = "out.log"
        [scenarios.s]
        steps = [ { type = "notify", notifiers = ["o"], message = "x" } ]
        """),
        encoding="utf-8",
    )
    monkeypatch.setenv("STORE_KEY", SECRETS["STORE_KEY"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Exception):  # noqa: B017, PT011 - the store is unreachable: any error will do
            open_project(folder).run_scenario("s")
    shown = [str(w.message) for w in caught if "pending alerts failed" in str(w.message)]
    assert shown and "${STORE_KEY}" in shown[0]
    assert not leaks(" ".join(shown))


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Redactor:
    """This process's redactor of last resort, without the secrets earlier tests loaded."""
    from modelcycle import redaction, settings

    process = Redactor()
    monkeypatch.setattr(redaction, "PROCESS", process)
    monkeypatch.setattr(settings, "PROCESS", process)
    return process


@pytest.mark.parametrize("env", [None, "target"])
def test_a_target_column_from_the_environment_keeps_records_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_process: Redactor, env: str | None
) -> None:
    """A default is written in the file (no secret) and a column name is a setting the store reads back."""
    from modelcycle import open_project

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "modelcycle.toml").write_text(
        '[project]\nname = "${PROJECT_NAME}"\n[datasets.d]\nurl = "d.csv"\n'
        '[models.m]\ndataset = "d"\ntarget = "${TARGET_COLUMN:-target}"\nparams = { max_iter = 10 }\nthreads = 1\n',
        encoding="utf-8",
    )
    frame(200, 0).to_csv(folder / "d.csv", index=False)
    monkeypatch.setenv("PROJECT_NAME", "metrics")  # a secret that is also a field name of every record
    if env is None:
        monkeypatch.delenv("TARGET_COLUMN", raising=False)
    else:
        monkeypatch.setenv("TARGET_COLUMN", env)
    project = open_project(folder)
    project.train("m")
    entry = project.registry.version("m", 1)
    assert entry["target"] == "target" and "metrics" in entry
    record = project.evaluate("m", frame(100, 1))
    assert "metrics" in record and record["metrics"]["roc_auc"] > 0.5
    stored = project.evaluations("m")[-1]
    assert stored["metrics"] == record["metrics"]
    assert project.settings.redactor("project metrics, column target") == "project ${PROJECT_NAME}, column target"


def test_redacting_twice_gives_the_same_text() -> None:
    """A placeholder may hold its own value (a name, a default): a second pass must not nest it."""
    redactor = Redactor()
    redactor.add("TOKEN", "${TOKEN}")
    redactor.add("shop", "${SHOP:-shop}")
    redactor.add("s3cr3t-value", "${KEY:-s3cr3t-value}")
    once = redactor("TOKEN for shop: s3cr3t-value")
    assert once == "${TOKEN} for ${SHOP:-shop}: ${KEY:-s3cr3t-value}"
    assert redactor(once) == once
    assert redactor({"k": [once]}) == {"k": [once]}


def test_a_default_written_in_the_file_is_not_a_secret(tmp_path: Path, fresh_process: Redactor) -> None:
    from modelcycle.settings import load_settings

    path = tmp_path / "modelcycle.toml"
    path.write_text('[project]\nname = "${NAME:-local}"\nstore = "${STORE:-store}-${KEY}"\n', encoding="utf-8")
    settings = load_settings(path, env={"KEY": "k3y-from-env"})
    assert settings.project.store == "store-k3y-from-env"
    assert settings.redactor("local store k3y-from-env") == "local store ${KEY}"
    assert fresh_process("local k3y-from-env") == "local ${KEY}"
