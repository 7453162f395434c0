"""The dashboard: one self-contained HTML file and the same page served read-only on
loopback, looked at in a real headless Chromium (Debian's, driven by Playwright):
no console error, no request to any other host, every chart drawn, and hostile names
(a feature column called ``<img src=x onerror=alert(1)>``, a check message and an
activation reason carrying ``<script>``) shown as text, never run.

Screenshots land in tests/screenshots/ for people to look at.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main
from modelcycle.dashboard import build, charts, make_server
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

EVIL_COLUMN = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
EVIL_ACTOR = "<b>mallory</b>"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PLUGIN = """
from modelcycle import hookimpl
from modelcycle.interfaces import CheckType


class Shouty(CheckType):
    name = "shouty"

    def judge(self, value, check, *, baseline):
        return "WARNING", "<script>alert(1)</script> says " + format(value, ".3f")


@hookimpl
def register_check_types():
    return [Shouty]
"""


def free_port() -> int:
    """A port nothing listens on (alerts sent there fail, so they stay pending)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings(mail_port: int) -> str:
    evil_metric = f"drift.columns.{EVIL_COLUMN}.statistic"
    return textwrap.dedent(
        f"""
        [project]
        name = "board"
        plugins = ["xss.py"]
        [datasets.cancer]
        url = "cancer.parquet"
        [datasets.diabetes]
        url = "diabetes.parquet"
        [datasets.wine]
        url = "wine.parquet"
        [models.m]
        dataset = "cancer"
        target = "target"
        params = {{ max_iter = 20 }}
        threads = 1
        [models.r]
        dataset = "diabetes"
        target = "target"
        params = {{ max_iter = 20 }}
        threads = 1
        [models.w]
        dataset = "wine"
        target = "target"
        params = {{ max_iter = 20 }}
        threads = 1
        [models.later]
        dataset = "cancer"
        target = "target"
        [models.fresh]
        dataset = "cancer"
        target = "target"
        params = {{ max_iter = 5 }}
        threads = 1
        activation = {{ policy = "manual" }}
        [notifiers.mail]
        type = "email"
        host = "127.0.0.1"
        port = {mail_port}
        starttls = false
        sender = "ml@example.com"
        to = ["oncall@example.com"]
        timeout = 2
        [notifiers.box]
        type = "file"
        path = "alerts.log"
        [alerts]
        notify = ["mail", "box"]
        [checks.auc]
        model = "m"
        metric = "roc_auc"
        min = 0.9
        soft_min = 0.999
        [checks.drift]
        model = "m"
        metric = "drift.share"
        max = 0.5
        soft_max = 0.05
        [checks.evil]
        model = "m"
        metric = "{evil_metric}"
        max = 0.0001
        [checks.shouty]
        model = "m"
        metric = "accuracy"
        type = "shouty"
        min = 0
        [checks.r2]
        model = "r"
        metric = "r2"
        min = 0.1
        [scenarios.nightly]
        steps = [ {{ type = "check", checks = ["auc", "evil"] }} ]
        """
    )


def frames() -> dict[str, pd.DataFrame]:
    cancer = load_breast_cancer(as_frame=True).frame
    cancer.columns = [c.replace(" ", "_") for c in cancer.columns]
    cancer = cancer.rename(columns={"mean_radius": EVIL_COLUMN}).sample(frac=1.0, random_state=0)
    diabetes = load_diabetes(as_frame=True).frame.sample(frac=1.0, random_state=0)
    wine = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=0)
    return {
        "cancer": cancer.reset_index(drop=True),
        "diabetes": diabetes.reset_index(drop=True),
        "wine": wine.reset_index(drop=True),
    }


def make_board_project(folder: Path):  # noqa: ANN201 - a modelcycle Project
    """Three trained models (binary with the hostile column, regression, multiclass), one
    trained but never activated nor evaluated, one never trained; two evaluations each; checks of every outcome; a pending alert; a scenario run;
    a rollback whose reason and actor carry markup."""
    folder.mkdir(parents=True, exist_ok=True)
    data = frames()
    data["cancer"].iloc[:400].to_parquet(folder / "cancer.parquet", index=False)
    data["diabetes"].iloc[:330].to_parquet(folder / "diabetes.parquet", index=False)
    data["wine"].iloc[:130].to_parquet(folder / "wine.parquet", index=False)
    (folder / "xss.py").write_text(PLUGIN)
    (folder / "modelcycle.toml").write_text(settings(free_port()))
    project = open_project(folder)
    project.train("m")
    project.train("m")
    previous = os.environ.get("MODELCYCLE_ACTOR")
    os.environ["MODELCYCLE_ACTOR"] = EVIL_ACTOR
    try:
        project.rollback("m", reason=f"{SCRIPT} back to the first one")
    finally:
        if previous is None:
            os.environ.pop("MODELCYCLE_ACTOR", None)
        else:
            os.environ["MODELCYCLE_ACTOR"] = previous
    project.train("r")
    project.train("w")
    project.train("fresh")  # never activated, never evaluated
    feedback = data["cancer"].iloc[400:].reset_index(drop=True)
    project.evaluate("m", feedback)
    shifted = feedback.copy()
    shifted[EVIL_COLUMN] = shifted[EVIL_COLUMN] * 1.4
    shifted.loc[: len(shifted) // 4, "target"] = 1 - shifted.loc[: len(shifted) // 4, "target"]
    project.evaluate("m", shifted)
    for name, rows in (("r", 330), ("w", 130)):
        rest = data["diabetes" if name == "r" else "wine"].iloc[rows:].reset_index(drop=True)
        project.evaluate(name, rest)
        project.evaluate(name, rest.sample(frac=1.0, replace=True, random_state=1).reset_index(drop=True))
    project.run_checks()
    project.run_scenario("nightly")
    return project


def store_digest(project) -> dict[str, str]:  # noqa: ANN001
    root = Path(project.settings.root) / ".modelcycle"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    return make_board_project(tmp_path_factory.mktemp("dashboard") / "proj")


@pytest.fixture(scope="module")
def browser():
    # no skip: CI must run these, and scripts/test.sh installs both
    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: run scripts/test.sh (it installs it)"
    import playwright.sync_api as playwright_api

    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def look(browser, url: str, screenshot: str) -> dict:  # noqa: ANN001 - a Playwright Browser
    """Open `url`; return what the page did: console errors, requests, dialogs, chart sizes, texts."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []

    def route(r) -> None:  # noqa: ANN001
        url = r.request.url
        requests.append(url)
        if url.startswith("file://") or url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)
    svgs = page.locator("svg")
    boxes = [svgs.nth(i).bounding_box() for i in range(svgs.count())]
    found = {
        "evil_column": page.get_by_text(EVIL_COLUMN, exact=True).count(),
        "script_text": page.get_by_text(SCRIPT).count(),
        "actor": page.get_by_text(EVIL_ACTOR).count(),
        "img": page.locator("img").count(),
        "script": page.locator("script").count(),
        "b": page.locator("b").count(),
        "title": page.title(),
    }
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    context.close()
    return {"errors": errors, "requests": requests, "dialogs": dialogs, "boxes": boxes, "found": found}


def open_offline(browser, path: Path):  # noqa: ANN001, ANN201 - Playwright objects
    """Open a built file with every other request refused: (context, page, page errors seen)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    return context, page, errors


def assert_clean(seen: dict, allowed_prefix: str) -> None:
    assert seen["errors"] == []
    assert seen["dialogs"] == []
    assert seen["requests"] and all(u.startswith(allowed_prefix) for u in seen["requests"]), seen["requests"]
    boxes = seen["boxes"]
    assert len(boxes) >= 30  # overview sparklines, metric/drift/check charts, insights, drift bars, run strip
    assert all(b is not None and b["width"] > 0 and b["height"] > 0 for b in boxes)
    found = seen["found"]
    assert found["evil_column"] >= 2  # drift table row, feature importance label…
    assert found["script_text"] >= 2 and found["actor"] >= 1  # check message, activation reason; actor
    assert (found["img"], found["script"], found["b"]) == (0, 0, 0)
    assert found["title"] == "board · modelcycle dashboard"


# -- the file ---------------------------------------------------------------------------------


def test_build_writes_one_self_contained_escaped_file(board, capsys) -> None:
    folder = Path(board.settings.root)
    with pytest.raises(SystemExit) as info:
        main(["--project", str(folder), "dashboard", "build"])
    assert info.value.code == 0
    out = folder / "dashboard.html"
    assert capsys.readouterr().out.startswith(f"dashboard written to {out} (")
    html = out.read_text(encoding="utf-8")
    assert len(html) < 5_000_000
    # no script, nothing fetched: the only URL is the SVG namespace
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<b>" not in html
    assert "src=" not in html.replace("&lt;img src=x", "")
    assert {u for u in _urls(html)} == {"http://www.w3.org/2000/svg"}
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;' in html
    for section in ("Overview", "Activation history", "Performance over time", "Drift", "Prediction distribution"):
        assert section in html
    for text in ("ROC curve", "Precision-recall", "Calibration", "Residuals by predicted value", "Predicted vs actual"):
        assert text in html
    assert "Pending alerts" in html and "Scenarios" in html and "Not trained yet" in html


def _urls(html: str) -> list[str]:
    import re

    return re.findall(r"(?:https?|ftp|wss?)://[^\s\"'<>)]+", html)


def test_the_built_file_in_chromium(board, browser, tmp_path: Path) -> None:
    path = build(board, tmp_path / "board.html")
    seen = look(browser, path.as_uri(), "dashboard-file.png")
    assert_clean(seen, "file://")
    assert set(seen["requests"]) == {path.as_uri()}


# -- the server -------------------------------------------------------------------------------


@pytest.fixture
def served(board):
    server = make_server(board, port=0, log=None)  # the default host
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def request(server, method: str, path: str = "/", headers: dict | None = None, body: bytes | None = None):  # noqa: ANN001, ANN201
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def test_serve_binds_loopback_and_is_read_only(board, served) -> None:
    assert served.socket.getsockname()[0] == "127.0.0.1"
    before = store_digest(board)
    response, page = request(served, "GET")
    assert response.status == 200 and response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert b"&lt;img src=x onerror=alert(1)&gt;" in page and b"<script" not in page
    assert "default-src 'none'" in response.getheader("Content-Security-Policy")
    response, body = request(served, "HEAD")
    assert response.status == 200 and body == b"" and int(response.getheader("Content-Length")) == len(page)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response, body = request(
            served, method, "/", body=b'{"activate": 1}', headers={"Content-Type": "application/json"}
        )
        assert response.status == 405, method
        assert response.getheader("Allow") == "GET, HEAD" and b"read-only" in body
    assert request(served, "GET", "/nope")[0].status == 404
    assert request(served, "GET", "/", headers={"Host": "evil.example:80"})[0].status == 403
    assert store_digest(board) == before


def test_serve_rebuilds_only_when_the_store_changed(board, served) -> None:
    request(served, "GET")
    builds = served.builds
    request(served, "GET")
    assert served.builds == builds
    record = dict(board.latest_evaluation("w"))
    record.pop("id")
    board.record_evaluation("w", record)
    _, page = request(served, "GET")
    assert served.builds == builds + 1
    assert b"3 evaluations" in page


def test_the_served_page_in_chromium(board, browser, served) -> None:
    url = served.url
    assert url.startswith("http://127.0.0.1:")
    seen = look(browser, url, "dashboard-served.png")
    assert_clean(seen, url)


def test_the_serve_command(board) -> None:
    exe = Path(sys.executable).with_name("modelcycle")
    command = [str(exe), "--project", str(board.settings.root), "dashboard", "serve", "--port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stderr.readline() for _ in range(1)]
        while "serving the dashboard" not in lines[-1] and lines[-1] and len(lines) < 20:  # skip stray warnings
            lines.append(process.stderr.readline())
        line = lines[-1]
        assert "serving the dashboard of board on http://127.0.0.1:" in line and "read-only" in line, lines
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and b"modelcycle dashboard" in response.read()
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0


# -- pieces -----------------------------------------------------------------------------------


def test_svg_elements_escape_every_value() -> None:
    markup = charts.el("text", {"x": 1.25, "class": 'a" onload="x'}, charts.title(SCRIPT), EVIL_COLUMN)
    assert str(markup) == (
        '<text x="1.2" class="a&#34; onload=&#34;x"><title>&lt;script&gt;alert(1)&lt;/script&gt;</title>'
        "&lt;img src=x onerror=alert(1)&gt;</text>"
    )


def test_long_series_are_thinned_to_evenly_spaced_points_with_the_last() -> None:
    items = list(range(10_000))
    kept = charts.downsample(items, 500)
    assert len(kept) == 500 and kept[0] == 0 and kept[-1] == 9_999
    gaps = {b - a for a, b in zip(kept, kept[1:], strict=False)}
    assert gaps <= {20, 21}
    assert charts.downsample(items[:10], 500) == items[:10]


def test_an_empty_project_still_builds(tmp_path: Path) -> None:
    (tmp_path / "modelcycle.toml").write_text('[project]\nname = "nothing"\n')
    html = build(open_project(tmp_path)).read_text()
    assert "No model in modelcycle.toml yet." in html


def test_time_stays_small(board, tmp_path: Path) -> None:
    started = time.perf_counter()
    build(board, tmp_path / "again.html")
    assert time.perf_counter() - started < 3


def test_challenger_evaluations_are_shown_beside_the_active_versions_in_chromium(browser, tmp_path: Path) -> None:
    """Evaluating version 1 after version 2 is active: the headline, drift and prediction stay the
    active version's; the challenger's evaluation is listed beside it and marked in the history."""
    folder = tmp_path / "proj"
    folder.mkdir()
    diabetes = frames()["diabetes"]
    diabetes.iloc[:330].to_parquet(folder / "diabetes.parquet", index=False)
    (folder / "modelcycle.toml").write_text(
        '[project]\nname = "challengers"\n[datasets.d]\nurl = "diabetes.parquet"\n'
        '[models.r]\ndataset = "d"\ntarget = "target"\nparams = { max_iter = 20 }\nthreads = 1\n'
        '[checks.rmse]\nmodel = "r"\nmetric = "rmse"\nmax = 1000\n'
    )
    project = open_project(folder)
    project.train("r")
    project.train("r")  # version 2, active
    rest = diabetes.iloc[330:].reset_index(drop=True)
    own = project.evaluate("r", rest)
    project.run_checks()
    worse = rest.assign(target=rest["target"] * 3)
    challenger = project.evaluate("r", worse, version=1)
    assert (own["version"], challenger["version"]) == (2, 1)

    path = build(project, tmp_path / "board.html")
    context, page, errors = open_offline(browser, path)
    table = page.locator("#model-r table.by-version")
    assert page.get_by_role("heading", name="Latest evaluation of each version").is_visible()
    rows = [[c.strip() for c in row.locator("td").all_inner_texts()] for row in table.locator("tbody tr").all()]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("2", "active", str(own["id"])),
        ("1", "challenger", str(challenger["id"])),
    ]
    assert rows[0][4] == charts.fmt(own["metrics"]["rmse"]) and rows[1][4] == charts.fmt(challenger["metrics"]["rmse"])
    # the drift section and the overview card speak of the active version's latest evaluation
    drift_heading = page.locator("#model-r h4", has_text="Latest evaluation of the active version").inner_text()
    assert drift_heading.startswith(f"Latest evaluation of the active version ({own['id']},")
    card = page.locator("a.card", has_text="r").inner_text()
    assert charts.fmt(own["metrics"]["rmse"]) in card and charts.fmt(challenger["metrics"]["rmse"]) not in card
    history = page.locator("#model-r details table tbody tr")
    marked = [history.nth(i).locator("td").nth(2).inner_text().strip() for i in range(history.count())]
    assert marked == ["1 challenger", "2"]  # newest first
    page.screenshot(path=str(SCREENSHOTS / "dashboard-challengers.png"), full_page=True)
    context.close()
    assert errors == []
    assert project.status("r")[0]["status"] == "OK"


# -- distributions, version changes, alert history ---------------------------------------------


DRIFTING = """
[project]
name = "drifting"
[datasets.customers]
url = "customers.parquet"
[models.churn]
dataset = "customers"
target = "churned"
exclude = ["customer_id"]
params = { max_iter = 20 }
threads = 1
[checks.drift_share]
model = "churn"
metric = "drift.share"
soft_max = 0.0001
[notifiers.box]
type = "file"
path = "outbox.txt"
[alerts]
notify = ["box"]
[scenarios.weekly]
steps = [ { type = "check", checks = ["drift_share"] } ]
notify = { WARNING = ["box"], SUCCESS = ["box"], FAILED = ["box"] }
"""


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory):
    """Version 1, an evaluation, version 2 activated, an evaluation, a rollback to version 1, an
    evaluation, then version 2 evaluated as a challenger; a drift check whose alert is sent."""
    from modelcycle.demo_data import month

    folder = tmp_path_factory.mktemp("drifting") / "proj"
    folder.mkdir()
    month(0, 1500).to_parquet(folder / "customers.parquet", index=False)
    (folder / "modelcycle.toml").write_text(DRIFTING)
    project = open_project(folder)
    project.train("churn")
    project.evaluate("churn", month(1, 600))
    project.train("churn")  # policy "always": version 2 is active
    project.evaluate("churn", month(2, 600))
    project.rollback("churn", reason="back to the first one")
    project.evaluate("churn", month(5, 600))
    project.run_checks()
    project.evaluate("churn", month(5, 600), version=2)  # a challenger
    project.run_scenario("weekly")
    return project


def _titles(locator) -> list[str]:  # noqa: ANN001 - a Playwright Locator
    return [t.strip() for t in locator.locator("title").all_text_contents()]


def _rows(text: str, which: str) -> int:
    """The rows a tooltip gives for `which` ("reference" or "current")."""
    import re

    found = re.search(rf"{which} ([\d,]+) rows", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_distributions_version_changes_and_alerts_in_chromium(drifting, browser, tmp_path: Path) -> None:
    import json

    project = drifting
    latest = project.latest_evaluation("churn", 1)
    profile = json.loads(project.registry.read_attachment("churn", 1, "profile.json"))
    columns = latest["drift"]["columns"]
    path = build(project, tmp_path / "drifting.html")
    context, page, errors = open_offline(browser, path)

    # one figure per feature, most drifted first, reference and current on the same bins
    figures = page.locator("#model-churn figure.dist")
    assert figures.count() == len(profile["columns"])
    names = [h.strip() for h in figures.locator("h4 > span:first-child").all_inner_texts()]
    assert set(names) == set(profile["columns"])
    assert columns[names[0]]["drifted"]
    for name in ("tenure_months", "contract"):
        figure = figures.nth(names.index(name))
        assert figure.locator("svg rect.ref-bar").count() > 0 and figure.locator("svg rect.cur-bar").count() > 0
        assert figure.locator("svg").bounding_box()["width"] > 200
        titles = _titles(figure.locator("svg rect.hit"))
        present = latest["rows"] - columns[name]["current"]["missing"] if name == "tenure_months" else None
        assert sum(_rows(t, "current") for t in titles) == sum(columns[name]["counts"]) == (present or latest["rows"])
        ref = profile["columns"][name]
        assert sum(_rows(t, "reference") for t in titles) == ref["count"] - ref["missing"]
    contract = figures.nth(names.index("contract"))
    reference = profile["columns"]["contract"]
    for i, category in enumerate(reference["top"]):
        title = next(t for t in _titles(contract.locator("svg rect.hit")) if t.startswith(f"{category}:"))
        assert _rows(title, "reference") == reference["top"][category]
        assert _rows(title, "current") == columns["contract"]["counts"][i]
    caption = figures.nth(names.index("tenure_months")).locator("figcaption").inner_text()
    tenure = profile["columns"]["tenure_months"]["mean"], columns["tenure_months"]["current"]["mean"]
    assert f"mean {charts.fmt(tenure[0])} → {charts.fmt(tenure[1])}" in caption

    # the predictions: reference and latest on the profile's 20 probability bins
    prediction = page.locator("#model-churn h3", has_text="Prediction distribution").locator(
        "xpath=following-sibling::div[1]"
    )
    titles = _titles(prediction.locator("svg rect.hit"))
    assert len(titles) == 20
    assert [_rows(t, "current") for t in titles] == latest["drift"]["prediction"]["counts"]
    assert [_rows(t, "reference") for t in titles] == profile["prediction"]["counts"]

    # every time chart marks the activation of version 2 and the rollback, inside its range
    activations = project.registry.activations("churn")
    assert [a["kind"] for a in activations] == ["activate", "activate", "rollback"]
    charts_over_time = page.locator("#model-churn svg.chart", has=page.locator("g.event"))
    time_charts = page.locator("#perf-churn + p + div.grid svg.chart, #drift-churn + div.two svg.chart")
    assert time_charts.count() >= 3
    for i in range(time_charts.count()):
        events = _titles(time_charts.nth(i).locator("g.event"))
        assert len(events) == 2, events
        assert events[0].startswith("activate version 2 (was 1)")
        assert events[1].startswith("rollback version 1 (was 2)") and events[1].endswith("back to the first one")
    assert charts_over_time.count() == time_charts.count()

    # the challenger's evaluation beside the active version's on the metric charts
    dots = _titles(page.locator("#perf-churn + p + div.grid svg circle.dot.s4"))
    challenger = project.latest_evaluation("churn", 2)
    assert dots and all(t.startswith(f"challenger: evaluation {challenger['id']} of version 2") for t in dots)
    assert f"roc_auc: {charts.fmt(challenger['metrics']['roc_auc'])}" in "\n".join(dots)

    # the sent alert says what triggered it, and links to the distributions
    rows = page.locator("#alerts table.sent tbody tr")
    assert rows.count() == 2  # the scenario's, then the check's (its rerun in the scenario is in cooldown)
    run = project.scenario_runs("weekly")[-1]
    assert rows.nth(0).locator("td.trigger").inner_text().startswith(
        f"run {run['id']} of scenario weekly (manual) ended {run['outcome']}"
    )
    sent = rows.filter(has=page.locator("td.trigger", has_text=f"on evaluation {latest['id']} of"))
    assert sent.count() == 1
    trigger = sent.locator("td.trigger").inner_text()
    assert f"drift.share = {charts.fmt(latest['drift']['share'])}" in trigger
    assert f"on evaluation {latest['id']} of version 1" in trigger
    top = max(latest["drift"]["drifted_columns"], key=lambda n: columns[n]["statistic"] / columns[n]["threshold"])
    reason = columns[top]["reasons"][0]  # auto: the measures that drifted, in the words alerts use
    assert f"drifted: {top} (" in trigger and f"{reason} " in trigger.split(f"drifted: {top} (")[1].split(")")[0]
    from modelcycle.alert_reasons import effect

    assert f"drifted: {top} ({effect(columns[top])})" in trigger
    assert sent.locator("td.trigger a").get_attribute("href") == "#dist-churn"
    assert page.locator("#alerts").get_by_text("Nothing pending: every alert was delivered.").is_visible()
    context.close()
    assert errors == []


def test_evaluations_recorded_before_histograms_were_stored_still_show(drifting, tmp_path: Path) -> None:
    """An older record has no `counts`: the reference is drawn alone, with a note, and nothing breaks."""
    project = drifting
    old = json_copy(project.latest_evaluation("churn", 1))
    old.pop("id")
    for column in [*old["drift"]["columns"].values(), old["drift"]["prediction"], old["drift"]["label"]]:
        column.pop("counts", None)
    folder = tmp_path / "copy"
    shutil.copytree(project.settings.root, folder)
    copy = open_project(folder)
    copy.record_evaluation("churn", old)
    html = build(copy, tmp_path / "old.html").read_text()
    section = html[html.index('id="dist-churn"') : html.index("<h3>Prediction distribution</h3>")]
    assert "recorded before evaluations stored their histograms" in section
    assert section.count('class="bar ref-bar"') > 0 and 'class="bar cur-bar"' not in section
    prediction = html[html.index("<h3>Prediction distribution</h3>") : html.index("<h3>Insights")]
    assert "recorded before evaluations stored their histograms" in prediction and "cur-bar" not in prediction


def json_copy(value):  # noqa: ANN001, ANN201
    import json

    return json.loads(json.dumps(value))


def test_reference_and_current_share_the_profiles_bins() -> None:
    from modelcycle.dashboard.build import category_bins, paired_bins

    ref = {"edges": [1.0, 2.0, 3.0], "counts": [5, 10, 10, 5], "min": 0.5, "max": 3.5}
    # the outer bins close at the lowest and highest value of either side, at most one inner span out
    bins = paired_bins(ref, [1, 2, 3, 40], probability=False, extent={"min": 0.0, "max": 1e9})
    assert bins == [(0.0, 1.0, 5, 1), (1.0, 2.0, 10, 2), (2.0, 3.0, 10, 3), (3.0, 5.0, 5, 40)]
    # counts of another length (another profile's) are not drawn; old records have none
    assert [b[3] for b in paired_bins(ref, [1, 2], probability=False)] == [None] * 4
    assert [b[3] for b in paired_bins(ref, None, probability=False)] == [None] * 4
    # 100 percentile bins are merged in runs of 5, both sides alike
    many = {"edges": [float(e) for e in range(1, 100)], "counts": [1] * 100, "min": 0.0, "max": 100.0}
    merged = paired_bins(many, list(range(100)), probability=False)
    assert len(merged) == 20 and merged[0] == (0.0, 5.0, 5, 0 + 1 + 2 + 3 + 4) and merged[-1][1] == 100.0
    assert sum(b[3] for b in merged) == sum(range(100))
    # categories: the reference's order, then everything else (new values included) summed
    top = {"top": {"a": 6, "b": 3}, "other": 1}
    assert category_bins(top, [2, 2, 7]) == [("a", 6, 2), ("b", 3, 2), ("(other values)", 1, 7)]
    assert category_bins(top, None) == [("a", 6, None), ("b", 3, None), ("(other values)", 1, None)]


def test_the_screenshots_linked_from_the_docs_exist_and_stay_small() -> None:
    import re

    docs = Path(__file__).parent.parent / "docs"
    linked = re.findall(r"\((images/[^)\s]+\.png)\)", (docs / "dashboard.md").read_text(encoding="utf-8"))
    assert {"images/dashboard-distributions.png", "images/dashboard-full.png"} <= set(linked)
    for name in linked:
        data = (docs / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000, name
