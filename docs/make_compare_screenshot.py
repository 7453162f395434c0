"""Make docs/images/compare.png, the compare page of the demo project (docs/dashboard.md shows it).

    PYTHONPATH=core:plugins python docs/make_compare_screenshot.py [OUT.png]

Runs `modelcycle demo` in a temporary folder (about a minute), compares churn versions 1
and 2 (the retraining that if-better activated) with `modelcycle compare --html`, and
photographs the page in headless Chromium (Playwright, /usr/bin/chromium).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from modelcycle.cli import main

OUT = Path(__file__).parent / "images" / "compare.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LIMIT = 300_000  # bytes: the docs stay light


def run(*args: str) -> None:
    try:
        main(list(args))
    except SystemExit as done:
        if done.code:
            raise SystemExit(f"modelcycle {' '.join(args)} failed with status {done.code}") from None


def screenshot(page_path: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
        page.goto(page_path.as_uri(), wait_until="load")
        page.screenshot(path=str(out), full_page=True, type="png")
        browser.close()


def make(out: Path = OUT) -> Path:
    with tempfile.TemporaryDirectory() as folder:
        demo = Path(folder) / "demo"
        run("demo", str(demo))
        page = Path(folder) / "compare.html"
        run("--project", str(demo), "compare", "churn", "1", "2", "--html", str(page))
        out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(page, out)
    size = out.stat().st_size
    if size > LIMIT:
        raise SystemExit(f"{out} is {size:,} bytes, over {LIMIT:,}: make the viewport smaller")
    return out


if __name__ == "__main__":
    print(f"wrote {make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)}")
