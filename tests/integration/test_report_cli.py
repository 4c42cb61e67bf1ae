"""``endpointlab report`` and ``endpointlab compare`` as a user runs them: the terminal summary,
the comparison page, and one line (no traceback) for a run result it cannot read. (``report
RUN_DIR`` writing the page is run by the session fixture ``synthetic_reports``.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from endpointlab.results.run_result import VERSION
from tests.report_runs import write_run


def endpointlab(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "endpointlab", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def test_report_console_prints_the_summary_and_writes_nothing(tmp_path: Path) -> None:
    write_run("serverless", tmp_path)
    done = endpointlab("report", "--console", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Recommended: sls-2048-mc1" in done.stdout
    assert "oversubscribed" in done.stdout
    assert not (tmp_path / "report.html").exists()


def test_a_newer_version_or_a_missing_directory_is_one_clear_line(tmp_path: Path) -> None:
    path = write_run("async", tmp_path) / "run-result.json"
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    message = (
        f"is run-result version 99, newer than this endpointlab reads ({VERSION}): "
        "upgrade endpointlab"
    )
    done = endpointlab("report", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == f"endpointlab: error: {path} {message}\n"
    assert not (tmp_path / "report.html").exists()
    out = tmp_path / "missing" / "compare.html"
    done = endpointlab("compare", str(tmp_path), str(tmp_path), "--out", str(out))
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr
        == f"endpointlab: error: --out {out}: the directory {out.parent} does not exist\n"
    )


def test_compare_prints_the_differences_and_writes_the_page(tmp_path: Path) -> None:
    a = write_run("serverless", tmp_path / "a")
    b = write_run("compare", tmp_path / "b")
    done = endpointlab("compare", str(a), str(b / "run-result.json"))
    assert done.returncode == 0, done.stderr
    assert "differs: rt-ml.c5.large: only in B" in done.stdout
    assert done.stdout.endswith(f"comparison: {b / 'compare.html'}\n")
    html = (b / "compare.html").read_text()
    assert "Differences that matter" in html
    assert '"name":"compare-percentiles"' in html and '"name":"compare-intervals"' in html
