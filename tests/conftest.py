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


# The files that take longest (seconds of one worker, measured on this 2-core machine). They are
# handed out first, so that the two workers of `make unit` (`--dist loadfile
# --no-loadscope-reorder`) finish together instead of one running a long file alone at the end.
# A stale list only costs balance, never a test.
LONGEST_FILES = (
    "tests/integration/test_container.py",  # 60 s
    "tests/api/test_persistence.py",  # 48 s
    "tests/integration/test_load_engine.py",  # 34 s
    "tests/compat/test_serverless_benchmarking_toolkit.py",  # 33 s
    "tests/api/test_load_cli.py",  # 30 s
    "tests/api/test_autoscaling.py",  # 23 s
    "tests/api/test_worker_recovery.py",  # 20 s
    "tests/unit/test_example_builds.py",  # 20 s
    "tests/api/test_async_durability.py",  # 18 s
    "tests/integration/test_bench_cli.py",  # 18 s
    "tests/api/test_serverless.py",  # 17 s
    "tests/api/test_http_limits.py",  # 16 s
    "tests/unit/test_fork_server.py",  # 15 s
    "tests/api/test_process_ownership.py",  # 15 s
    "tests/api/test_server_data_dir.py",  # 15 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (stable otherwise): see LONGEST_FILES."""
    rank = {path: index for index, path in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
