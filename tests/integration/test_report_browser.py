"""The report of a serverless run opened in headless Chromium (Debian's package, driven by
Playwright; no browser is downloaded): no console error, no network request, every plot drawn,
a screenshot saved (build/report-screenshots/serverless.png). The report is the session's
rendering of the synthetic serverless run (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "report-screenshots"

# Every Bokeh plot draws into canvases inside shadow roots: for each embedded root, the size of
# its largest canvas and how many of its pixels are painted (not transparent, not white).
PAINTED = """() => {
  const canvases = (node) => {
    const found = [];
    const walk = (n) => {
      if (n instanceof HTMLCanvasElement) found.push(n);
      if (n.shadowRoot) walk(n.shadowRoot);
      for (const child of n.children || []) walk(child);
    };
    walk(node);
    return found;
  };
  return [...document.querySelectorAll('[data-root-id]')].map((root) => {
    const area = (c) => c.width * c.height;
    const all = canvases(root.parentElement).sort((a, b) => area(b) - area(a));
    if (!all.length || !all[0].width) return [root.id, 0, 0];
    const canvas = all[0];
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const white = pixels[i] > 249 && pixels[i + 1] > 249 && pixels[i + 2] > 249;
      if (pixels[i + 3] > 0 && !white) painted++;
    }
    return [root.id, canvas.width * canvas.height, painted];
  });
}"""
IDLE = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
  && Bokeh.documents.every((d) => d.is_idle) ? performance.now() : false"""


@pytest.fixture(scope="module")
def report(synthetic_reports: dict[str, Path]) -> Path:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium package is missing in CI: .ci/run installs it")
        pytest.skip("no chromium: install Debian's package (apt-get install -y chromium)")
    return synthetic_reports["serverless"] / "report.html"


@pytest.fixture(scope="module")
def page(report: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        requested: list[str] = []
        errors: list[str] = []

        def only_the_file(route: Any) -> None:
            requested.append(route.request.url)
            if route.request.url == report.as_uri():
                route.continue_()
            else:
                route.abort()

        context.route("**/*", only_the_file)
        opened = context.new_page()
        opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        opened.goto(report.as_uri())
        idle_at = opened.wait_for_function(IDLE, timeout=20_000).json_value()
        opened.requested = requested  # type: ignore[attr-defined]
        opened.errors = errors  # type: ignore[attr-defined]
        opened.idle_at = idle_at  # type: ignore[attr-defined]
        yield opened
        browser.close()


def test_the_report_makes_no_request_and_logs_no_error(page: Any, report: Path) -> None:
    assert page.requested == [report.as_uri()]
    assert page.errors == []
    assert page.idle_at > 0  # performance.now() when Bokeh's documents were idle


def test_every_plot_is_drawn(page: Any) -> None:
    drawn = page.evaluate(PAINTED)
    assert len(drawn) == 8  # the serverless plan's plots (see test_reports_html.PLOTS)
    for root, area, painted in drawn:
        assert area > 0, f"plot {root} has no canvas"
        assert painted > area * 0.01, f"plot {root} is blank ({painted} of {area} pixels painted)"


def test_a_screenshot_is_saved(page: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "serverless.png"
    page.screenshot(path=str(path))  # the first screenful: the recommendation
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
