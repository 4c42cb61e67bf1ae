"""How big the HTML report of a serverless run is, and how long it takes to render: in Python
(``endpointlab.reports.render``, CPU seconds) and in headless Chromium (from navigation start to
every Bokeh document idle, i.e. every plot drawn; the median of N page loads) with the CPU time
of the page's main thread (what the render would take on an idle machine).

The run is the tests' synthetic serverless run (tests/report_runs.py: 5 configurations, the shape
of ``bench serverless --quick``). Requires Debian's ``chromium`` package.

    uv run python benchmarks/report_render.py [--loads 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from endpointlab.reports import render

IDLE = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
  && Bokeh.documents.every((d) => d.is_idle) ? performance.now() : false"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' synthetic runs
    from tests.report_runs import write_run

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = write_run("serverless", Path(tmp))
        render(run_dir)  # imports and warms up
        started = time.process_time()
        report = render(run_dir)
        cpu = time.process_time() - started
        size = report.stat().st_size
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            idle, cpu_ms = [], []
            for _ in range(args.loads):
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                devtools = page.context.new_cdp_session(page)
                devtools.send("Performance.enable")
                page.goto(report.as_uri())
                idle.append(page.wait_for_function(IDLE, timeout=60_000).json_value())
                metrics = devtools.send("Performance.getMetrics")["metrics"]
                # ThreadTime: CPU time of the page's main thread, which does all the drawing
                cpu_ms.append(1000 * next(m["value"] for m in metrics if m["name"] == "ThreadTime"))
                page.close()
            browser.close()
    print(f"report size: {size / 2**20:.2f} MiB ({size:,} bytes)")
    print(f"python render: {cpu:.2f} CPU s")
    print(
        f"chromium render (navigation start -> all plots drawn): median "
        f"{statistics.median(idle):.0f} ms, min {min(idle):.0f} ms over {args.loads} loads "
        f"(1-minute load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"chromium main-thread CPU for that: median {statistics.median(cpu_ms):.0f} ms")


if __name__ == "__main__":
    main()
