"""Fixtures shared across test folders: the reports of the synthetic runs of every built-in plan,
rendered once per session (the HTML tests read them, the browser test opens one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report_runs import PLANS, write_run


@pytest.fixture(scope="session")
def synthetic_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """plan -> its run directory, holding run-result.json and the report.html rendered from it."""
    from endpointlab.reports import render

    run_dirs = {}
    for plan in PLANS:
        run_dir = write_run(plan, tmp_path_factory.mktemp(f"report-{plan}"))
        assert render(run_dir) == run_dir / "report.html"
        run_dirs[plan] = run_dir
    return run_dirs
