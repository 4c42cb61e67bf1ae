"""``endpointlab bench`` from the command line, end to end on its own local emulator: a plan file
with a serverless and a real-time configuration runs, writes the run directory, leaves no
endpoint, process or port behind; the run re-analyses without re-running, and a resumed
complete run keeps what it has."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner, Result

from endpointlab.cli import main
from endpointlab.results import read_records
from endpointlab.results.run_result import load_run_result
from tests.api.support import probe_archive

PLAN = """\
name: tiny
model: {{artifact: {artifact}, invoke_args: args.jsonl}}
objective: {{latency_ms: 2000, max_error_rate: 0.05}}
traffic: {{requests_per_month: 100000}}
configurations:
  - {{name: sl, kind: serverless, memory_mb: 1024, max_concurrency: 2}}
  - {{name: rt, kind: realtime, instance_type: ml.c5.large}}
phases:
  - {{name: closed, clients: 2, duration: 1}}
  - {{name: open, rate: 10, duration: 1}}
"""


def bench(*args: str) -> Result:
    """The command as a user runs it (in this process: the emulator is still its own)."""
    return CliRunner().invoke(main, ["bench", *args])


def using(data_dir: str) -> list[int]:
    """Processes whose command line names ``data_dir`` (the emulator and its workers)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(data_dir in a for a in cmdline):
            found.append(process.info["pid"])
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    base = tmp_path_factory.mktemp("bench-cli")
    artifact = probe_archive(base / "probe", "v1")
    (base / "args.jsonl").write_text('{"Body": "hello", "ContentType": "text/plain"}\n')
    (base / "plan.yaml").write_text(PLAN.format(artifact=artifact))
    return base / "run", bench(str(base / "plan.yaml"), "--out", str(base / "run"))


def test_a_plan_runs_end_to_end_and_leaves_nothing_behind(
    run: tuple[Path, Result],
) -> None:
    run_dir, done = run
    assert done.exit_code == 0, done.output
    for name in ("run-result.json", "plan.yaml", "environment.json", "summaries.csv"):
        assert (run_dir / name).is_file(), name
    result = load_run_result(run_dir)
    measured = [c for c in result.configurations if c.origin == "measured"]
    assert [(c.name, c.kind, c.status) for c in measured] == [
        ("sl", "serverless", "completed"),
        ("rt", "realtime", "completed"),
    ]
    # A configuration measured on an oversubscribed host (this one is shared) gets a projected
    # twin beside it, and only such a one.
    twins = [c.name for c in result.configurations if c.origin == "projected"]
    assert twins == [f"{c.name} (projected)" for c in measured if c.host and c.host.oversubscribed]
    for config in measured:
        assert [p.name for p in config.phases] == ["closed", "open"]
        assert config.total is not None and config.total.successes == config.total.requests > 0
        assert config.host is not None and config.host.host_cores >= 1
        records = read_records(run_dir / config.records[0])
        assert len(records) == config.total.requests
        assert (run_dir / config.records[1]).read_text().startswith("execution_number,")
        assert (run_dir / "metrics" / f"{config.name}.json").is_file()
    assert result.configuration("sl").settings == {"MemorySizeInMB": 1024, "MaxConcurrency": 2}
    # The summary table and the recommendation end the output.
    assert re.search(r"^configuration +kind", done.stdout, re.M)
    assert "Recommendation: " in done.stdout
    assert done.stdout.strip().endswith(f"run directory: {run_dir}")
    # The emulator it started: gone with its workers, its port free, its data dir removed.
    log = (run_dir / "emulator.log").read_text()
    found = re.search(r"listening on http://127\.0\.0\.1:(\d+) \(data in (\S+)\)", log)
    assert found is not None
    port, data_dir = int(found.group(1)), found.group(2)
    assert using(data_dir) == []
    assert not Path(data_dir).exists()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # no listener left
        probe.bind(("127.0.0.1", port))


def test_a_run_reanalyses_and_resumes_without_deploying_again(
    run: tuple[Path, Result],
) -> None:
    run_dir, done = run
    assert done.exit_code == 0, done.output
    before = load_run_result(run_dir)
    summaries = (run_dir / "summaries.csv").read_text()
    (run_dir / "summaries.csv").unlink()
    again = bench("--reanalyse", str(run_dir))
    assert again.exit_code == 0, again.output
    after = load_run_result(run_dir)
    for old, new in zip(before.configurations, after.configurations, strict=True):
        assert new.total == old.total and new.phases == old.phases
    assert (run_dir / "summaries.csv").read_text() == summaries
    assert "Started the local emulator" not in again.output

    resumed = bench("--resume", str(run_dir))
    assert resumed.exit_code == 0, resumed.output
    assert "Every configuration of this run is done: nothing to deploy" in resumed.output
    assert "Started the local emulator" not in resumed.output
    assert (
        json.loads((run_dir / "run-result.json").read_text())["configurations"][1]["name"] == "rt"
    )
