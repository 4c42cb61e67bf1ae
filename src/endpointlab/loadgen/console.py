"""What ``endpointlab load`` prints: a live progress line and the summary table of a run."""

from __future__ import annotations

import math

from endpointlab.loadgen.runner import Progress
from endpointlab.results import Summary


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
