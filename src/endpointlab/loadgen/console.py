"""What ``endpointlab load`` shows: a live progress line, the run itself (in one process or
several) as the command drives it, and the summary table."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from endpointlab.loadgen.client import RuntimeClient
from endpointlab.loadgen.processes import Interrupted, run_in_processes
from endpointlab.loadgen.runner import Plan, Progress, run_blocking
from endpointlab.results import RecordWriter, RequestRecord, Summary

# One process per CPU from this many clients (or requests/s) up, unless told.
LARGE_RUN = 1000
INTERRUPTED = "\ninterrupted: keeping the requests recorded so far\n"


def default_processes(size: float, cpus: int) -> int:
    return cpus if size >= LARGE_RUN else 1


def run_command(
    make_client: Callable[[], RuntimeClient],
    plan: Plan,
    stream_to: Path,
    processes: int,
    say: Callable[[str], None],
    live: bool,
) -> list[RequestRecord]:
    """Run ``plan``; ``live``: a progress line through ``say`` (one process only). Ctrl-C
    ends the run early and keeps what was recorded."""
    if processes > 1:
        say(f"Running in {processes} processes\n")
        try:
            return run_in_processes(make_client, plan, stream_to, processes)
        except Interrupted as interruption:
            say(INTERRUPTED)
            return interruption.records
    writer = RecordWriter(stream_to)

    def report(state: Progress) -> None:
        say("\r" + progress_line(state))

    try:
        run_blocking(make_client(), plan, writer, report if live else None)
    except KeyboardInterrupt:
        say(INTERRUPTED)
    if live:
        say("\n")
    return writer.close()


def progress_line(progress: Progress) -> str:
    p99 = "-" if math.isnan(progress.recent_p99_ms) else f"{progress.recent_p99_ms:.1f} ms"
    return (
        f"{progress.elapsed_s:6.1f} s  {progress.completed:>8} done  "
        f"{progress.recent_rate:8.1f}/s  {progress.in_flight:>5} in flight  "
        f"{progress.errors:>6} errors  {progress.throttled:>6} throttled  p99 {p99}"
    )


def summary_table(summary: Summary, endpoint: str) -> str:
    rows = [
        ("endpoint", endpoint),
        ("requests", str(summary.requests)),
        ("successes", str(summary.successes)),
        ("attempts", str(summary.attempts)),
        (
            "throttled",
            f"{summary.throttled_requests} requests, {summary.throttled_attempts} attempts",
        ),
        ("errors", ", ".join(f"{c}: {n}" for c, n in summary.errors.items()) or "none"),
        ("cold starts", str(summary.cold_starts)),
    ]
    for name, value in summary.latency_ms.items():
        shown = "-" if math.isnan(value) else f"{value:.2f}"
        rows.append((f"latency {name} (ms)", shown))
    rows.append(
        ("throughput", f"{summary.throughput:.1f} successes/s over {summary.duration_s:.2f} s")
    )
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
