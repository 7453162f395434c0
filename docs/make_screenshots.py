"""Regenerate the dashboard screenshots linked from docs/dashboard.md.

Runs `modelcycle demo` in a scratch folder, builds its dashboard, opens it in headless
Chromium (Debian's, driven by Playwright) and saves two PNGs in docs/images/: the
per-feature distributions of the churn model, and the whole page drawn at 0.4 scale
(device scale factor 0.4), so that each stays under 300 KB without an image library.

    OMP_NUM_THREADS=1 .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

IMAGES = Path(__file__).parent / "images"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LIMIT = 300_000  # bytes per PNG


def main() -> None:
    from modelcycle.demo import run_demo
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        story = run_demo(Path(scratch) / "demo", say=lambda line: None)
        url = Path(story["dashboard"]).as_uri()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url, wait_until="load")
            top = page.locator("#dist-churn").bounding_box()
            bottom = page.locator("#model-churn div.grid.dist").bounding_box()
            height = bottom["y"] + bottom["height"] - top["y"] + 24
            clip = {"x": 0, "y": top["y"] - 12, "width": 1280, "height": height}
            page.screenshot(path=IMAGES / "dashboard-distributions.png", clip=clip, full_page=True)
            small = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=0.4)
            small.goto(url, wait_until="load")
            small.screenshot(path=IMAGES / "dashboard-full.png", full_page=True)
            browser.close()
    for name in ("dashboard-distributions.png", "dashboard-full.png"):
        size = (IMAGES / name).stat().st_size
        print(f"{IMAGES / name}: {size / 1000:.0f} kB")
        if size > LIMIT:
            raise SystemExit(f"{name} is {size:,} bytes, over {LIMIT:,}: draw it smaller")


if __name__ == "__main__":
    main()
