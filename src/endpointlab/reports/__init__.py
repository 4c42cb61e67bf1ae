"""Reports rendered from a saved run result only: the offline HTML report (``render``), the
terminal summary (``console.print_summary``) and the comparison of two runs.

Imports the run-result file and nothing live, so any old run can be re-rendered.
"""

from __future__ import annotations

from pathlib import Path

from endpointlab.results.run_result import load_run_result


def render(run_dir: Path) -> Path:
    """Render ``run_dir/report.html`` from ``run_dir/run-result.json``; return its path.

    ``run_dir`` may also name the run-result file itself; the report goes beside it.

    Raises RunResultError (one line for the user) when the run result cannot be read.
    """
    result = load_run_result(run_dir)
    from endpointlab.reports.html import write_report

    return write_report(result, run_dir if run_dir.is_dir() else run_dir.parent)


__all__ = ["render"]
