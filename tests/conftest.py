"""Fixtures shared across test folders: the reports of the synthetic runs of every built-in plan,
rendered once per session (the HTML tests read them, the browser test opens one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.report_runs import PLANS, write_run


@pytest.fixture(scope="session")
def synthetic_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """plan -> its run directory, holding run-result.json and the report.html rendered from it.

    The serverless report is rendered as a user does, by ``endpointlab report RUN_DIR`` (its exit
    status and output checked here); the others through ``endpointlab.reports.render``.
    """
    from endpointlab.reports import render

    run_dirs = {}
    for plan in PLANS:
        run_dir = write_run(plan, tmp_path_factory.mktemp(f"report-{plan}"))
        if plan == "serverless":
            command = [sys.executable, "-m", "endpointlab", "report", str(run_dir)]
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
            assert (done.returncode, done.stderr) == (0, ""), done.stderr
            assert done.stdout == f"report: {run_dir / 'report.html'}\n"
        else:
            assert render(run_dir) == run_dir / "report.html"
        run_dirs[plan] = run_dir
    return run_dirs
