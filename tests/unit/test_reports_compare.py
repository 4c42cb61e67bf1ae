"""Comparing two runs: configurations matched by name, a p99 beyond its confidence interval or a
different recommendation flagged, movements within the interval not; the terminal summaries."""

from __future__ import annotations

import io

from rich.console import Console

from endpointlab.reports.compare import compare_runs, rows
from endpointlab.reports.console import print_comparison, print_summary
from endpointlab.results.run_result import ConfigurationResult, Interval, RunResult
from tests.report_runs import compare_run, realtime_run, serverless_run


def with_p99(run: RunResult, name: str, p99: float, ci: Interval | None) -> RunResult:
    """``run`` with configuration ``name``'s total p99 (and its interval) replaced."""
    configs = []
    for config in run.configurations:
        if config.name == name and config.total is not None:
            total = config.total
            intervals = dict(total.latency_ci)
            intervals.pop("p99", None)
            if ci is not None:
                intervals["p99"] = ci
            total = total.model_copy(
                update={
                    "latency": total.latency.model_copy(update={"p99": p99}),
                    "latency_ci": intervals,
                }
            )
            configs.append(config.model_copy(update={"total": total}))
        else:
            configs.append(config)
    return run.model_copy(update={"configurations": configs})


def p99_of(run: RunResult, name: str) -> tuple[float, Interval]:
    config: ConfigurationResult = run.configuration(name)
    assert config.total is not None and config.total.latency.p99 is not None
    return config.total.latency.p99, config.total.latency_ci["p99"]


def test_the_same_run_shows_no_difference() -> None:
    run = serverless_run()
    comparison = compare_runs(run, run)
    assert comparison.differences == []
    assert [pair.name for pair in comparison.pairs] == [c.name for c in run.configurations]
    assert all("differs" not in row.flags for row in rows(comparison))


def test_a_p99_beyond_its_interval_is_flagged_and_one_within_it_is_not() -> None:
    a = serverless_run()
    p99, ci = p99_of(a, "sls-2048-mc1")
    inside = with_p99(a, "sls-2048-mc1", ci.high * 0.99, Interval(low=ci.low, high=ci.high))
    assert compare_runs(a, inside).differences == []
    beyond = with_p99(
        a, "sls-2048-mc1", ci.high * 2, Interval(low=ci.high * 1.8, high=ci.high * 2.2)
    )
    (line,) = compare_runs(a, beyond).differences
    assert line.startswith(f"sls-2048-mc1: p99 {p99:.0f} ms -> ")
    assert "beyond its 95% confidence interval" in line
    flagged = {row.cells[0]: row.flags for row in rows(compare_runs(a, beyond))}
    assert flagged["sls-2048-mc1"] == ["differs"]
    assert flagged["sls-1024-mc1"] == []


def test_without_intervals_a_large_relative_change_is_flagged() -> None:
    a = with_p99(serverless_run(), "sls-3072-mc1", 100.0, None)
    small = with_p99(a, "sls-3072-mc1", 110.0, None)
    large = with_p99(a, "sls-3072-mc1", 140.0, None)
    assert compare_runs(a, small).differences == []
    (line,) = compare_runs(a, large).differences
    assert "p99 100 ms -> 140 ms (+40%), no confidence interval" in line


def test_a_different_recommendation_and_missing_configurations_are_flagged() -> None:
    comparison = compare_runs(serverless_run(), compare_run())
    assert comparison.differences[0] == (
        "a different recommendation: A chose sls-2048-mc1, B chose sls-2048-mc2"
    )
    assert "rt-ml.c5.large: only in B" in comparison.differences
    assert "sls-1024-mc1: only in A" in comparison.differences
    other = serverless_run()
    assert other.recommendation is not None
    changed = other.model_copy(
        update={
            "recommendation": other.recommendation.model_copy(update={"chosen": "sls-3072-mc1"})
        }
    )
    assert compare_runs(other, changed).differences == [
        "a different recommendation: A chose sls-2048-mc1, B chose sls-3072-mc1"
    ]


def printed(function: object, *args: object) -> str:
    out = io.StringIO()
    function(*args, console=Console(file=out, width=120))  # type: ignore[operator]
    return out.getvalue()


def test_the_terminal_summary_puts_the_recommendation_first_and_labels_figures() -> None:
    text = printed(print_summary, compare_run())
    assert text.index("Recommendation") < text.index("Configurations")
    assert "Recommended: sls-2048-mc2 [oversubscribed host]  p50 " in text
    assert "Runner-up: rt-ml.c5.large [projected]" in text
    assert "warning: sls-2048-mc2 was measured on an oversubscribed host" in text
    assert "warning: rt-ml.c5.large: projected (simulated) figures, not measured." in text
    for name in ("sls-2048-mc2", "rt-ml.c5.large", "async-ml.m5.large-0to2"):
        assert name in text
    # The async configuration's split, said to be the server's.
    assert "async-ml.m5.large-0to2: server per request (CloudWatch): queue p50/p90/p99" in text


def test_the_terminal_comparison_flags_differences_first() -> None:
    a = serverless_run()
    _, ci = p99_of(a, "sls-2048-mc1")
    b = with_p99(a, "sls-2048-mc1", ci.high * 3, None)
    text = printed(print_comparison, compare_runs(a, b))
    assert text.index("differs: sls-2048-mc1: p99") < text.index("sls-1024-mc1")
    assert "[differs]" in text
    assert "No difference that matters." in printed(print_comparison, compare_runs(a, a))


def test_names_with_rich_markup_are_printed_as_they_are() -> None:
    run = serverless_run().model_copy(update={"plan_name": "[bold]x[/] [/oops]", "run_id": "[red]"})
    assert "[bold]x[/] [/oops] run [red] (measured" in printed(print_summary, run)
    assert "A: [bold]x[/] [/oops] [red] (measured" in printed(
        print_comparison, compare_runs(run, run)
    )


def test_a_projected_run_says_so_and_names_its_source() -> None:
    run = realtime_run().model_copy(update={"origin": "projected", "source_run": "runs/measured"})
    text = printed(print_summary, run)
    assert "(projected, local)" in text
    assert "Every figure in this run is projected from run runs/measured (simulated)" in text
