"""The compare page (`modelcycle compare ... --html FILE`) in headless Chromium: its charts draw,
its numbers are the comparison's, it runs no script and asks for nothing, and a column
name made of markup shows as text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from modelcycle.cli import main
from modelcycle.dashboard.charts import fmt
from modelcycle.dashboard.compare import render_compare

from tests.test_compare import configure, rows, two_versions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: run scripts/test.sh (it installs it)"
    import playwright.sync_api as playwright_api

    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        yield chromium
        chromium.close()


def evil_project(folder: Path) -> None:
    """Two binary versions whose last feature is named with markup."""
    folder.mkdir(parents=True)
    for n, estimator in (
        (600, "sklearn.tree.DecisionTreeClassifier"),
        (900, "sklearn.linear_model.LogisticRegression"),
    ):
        frame = pd.concat([rows("binary", 600, 0), rows("binary", 300, 1)]).head(n).rename(columns={"d": EVIL})
        frame.to_csv(folder / "d.csv", index=False)
        configure(folder, "binary", estimator).train("m")


def test_the_compare_page_in_chromium(browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    folder = tmp_path / "p"
    evil_project(folder)
    page_path = tmp_path / "out" / "compare.html"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "--project",
                str(folder),
                "compare",
                "m",
                "1",
                "2",
                "--resamples",
                "100",
                "--html",
                str(page_path),
                "--json",
            ]
        )
    out = json.loads(capsys.readouterr().out)
    assert done.value.code == 0 and out["html"] == str(page_path)
    html = page_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;' in html

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(page_path.as_uri(), wait_until="load")

    assert page.title() == "m: version 1 vs 2 · modelcycle"
    assert (requests, errors, dialogs) == ([page_path.as_uri()], [], [])
    assert page.locator("img").count() == 0 and page.locator("script").count() == 0
    assert page.get_by_text(EVIL, exact=True).count() >= 1  # the importance label, as text

    # every chart draws: the differences, ROC, precision-recall, calibration, importances
    charts = {
        name: page.locator(f'svg[aria-label="{name}"]')
        for name in (
            "differences between versions 1 and 2",
            "ROC curves",
            "precision-recall curves",
            "calibration",
            "feature importances of versions 1 and 2",
        )
    }
    for name, chart in charts.items():
        assert chart.count() == 1, name
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, name
    for name in ("ROC curves", "precision-recall curves", "calibration"):  # both versions overlaid
        assert charts[name].locator("path.line.s0").count() == 1
        assert charts[name].locator("path.line.s1.dashed").count() == 1
    assert charts["feature importances of versions 1 and 2"].locator("rect").count() == 2 * 4
    assert charts["differences between versions 1 and 2"].locator("circle").count() == len(out["metrics"])

    # the numbers in the table are the comparison's
    table = page.locator("table.metrics tbody tr")
    assert table.count() == len(out["metrics"])
    for i, metric in enumerate(out["metrics"]):
        cells = [c.strip() for c in table.nth(i).locator("td").all_inner_texts()]
        assert cells[0].split(" ")[0] == metric["metric"]
        assert cells[1:4] == [fmt(metric["a"]), fmt(metric["b"]), fmt(metric["difference"])]
        assert cells[4] == f"[{fmt(metric['low'])}, {fmt(metric['high'])}]"
    header = page.locator("header").inner_text()
    assert f"compared on {out['rows_compared']:,} labelled rows of dataset 'd'" in header
    lineage = page.locator("table.lineage").inner_text()
    assert "sklearn.tree.DecisionTreeClassifier" in lineage and "sklearn.linear_model.LogisticRegression" in lineage
    decision = page.locator("#decision").inner_text()
    verb = "would activate" if out["if_better"]["activate"] else "would not activate"
    assert f"{verb} version 2 over version 1: {out['if_better']['reason']}" in decision
    assert "none: neither was trained while the other was active" in decision  # policy 'always' compares nothing
    context.close()


@pytest.mark.parametrize(
    ("task", "titles"),
    [
        ("regression", ["Residuals by predicted value"]),
        ("multiclass", ["Confusion matrix, version 1", "Confusion matrix, version 2"]),
    ],
)
def test_the_page_draws_what_each_task_has(tmp_path: Path, task: str, titles: list[str]) -> None:
    project = two_versions(tmp_path / "p", task)
    html = render_compare(project.compare("m", 1, 2, resamples=20), project=project.name)
    for title in titles:
        assert f"<h4>{title}</h4>" in html
    assert "ROC curves" not in html


def test_the_docs_show_a_light_screenshot_of_the_compare_page() -> None:
    docs = Path(__file__).parent.parent / "docs"
    assert "![The compare page of the demo project" in (docs / "dashboard.md").read_text(encoding="utf-8")
    shot = docs / "images" / "compare.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size < 300_000
