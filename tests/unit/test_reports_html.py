"""The HTML report of a synthetic run of each built-in plan: self-contained, the recommendation
first, the plots each plan calls for, projected and oversubscribed figures labelled."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from endpointlab.reports import render
from endpointlab.results.run_result import (
    VERSION,
    ConfigurationResult,
    Environment,
    Objective,
    RunResult,
    RunResultError,
    save_run_result,
)
from tests.report_runs import PLANS, write_run

ALWAYS = {"latency-percentiles", "timeline-in-flight", "timeline-throughput"}
PLOTS = {
    "serverless": ALWAYS
    | {
        "timeline-events",
        "percentiles-by-memory",
        "cost-by-memory",
        "throttles-by-clients",
        "timeline-instances",
    },
    "realtime": ALWAYS | {"percentiles-by-load", "timeline-instances"},
    "async": ALWAYS
    | {"timeline-events", "timeline-instances", "timeline-backlog", "queue-vs-processing"},
    "compare": ALWAYS
    | {
        "timeline-events",
        "throttles-by-clients",
        "monthly-cost",
    }
    | {"percentiles-by-load", "timeline-instances", "timeline-backlog", "queue-vs-processing"},
}


def plot_names(html: str) -> set[str]:
    """The names of the plots embedded in the page (the roots of its Bokeh document)."""
    documents = re.findall(
        r'<script type="application/json" id="[^"]+">\s*(.*?)\s*</script>', html, re.S
    )
    assert len(documents) == 1
    (document,) = json.loads(documents[0]).values()
    return {root["attributes"]["name"] for root in document["roots"]}


@pytest.fixture(scope="module")
def reports(synthetic_reports: dict[str, Path]) -> dict[str, str]:
    return {
        plan: (run_dir / "report.html").read_text(encoding="utf-8")
        for plan, run_dir in synthetic_reports.items()
    }


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_each_plan_gets_its_plots_and_no_others(reports: dict[str, str], plan: str) -> None:
    names = plot_names(reports[plan])
    assert names == PLOTS[plan], sorted(names ^ PLOTS[plan])


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_the_report_is_self_contained_and_small(reports: dict[str, str], plan: str) -> None:
    html = reports[plan]
    assert len(html.encode()) < 5 * 2**20
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert "Bokeh" in html  # the library itself is inline (the browser test checks requests)


def test_the_recommendation_comes_first_with_its_figures(reports: dict[str, str]) -> None:
    html = reports["serverless"]
    recommendation = html.index('id="recommendation"')
    assert recommendation < html.index('id="latency"') < html.index('id="summaries"')
    card = html[recommendation : html.index("<h3>Configurations")]
    assert "Recommended: sls-2048-mc1" in card
    assert "Runner-up: sls-3072-mc1" in card
    assert "$3.80" in card and "per 1M invocations" in card
    assert "MaxConcurrency 2 costs $2.20" in card


def test_memory_plots_need_two_memory_sizes(reports: dict[str, str]) -> None:
    assert "percentiles-by-memory" not in plot_names(reports["compare"])  # one serverless config
    assert "percentiles-by-memory" in plot_names(reports["serverless"])


def test_oversubscribed_hosts_and_projected_figures_are_labelled(
    reports: dict[str, str],
) -> None:
    serverless = reports["serverless"]
    assert "sls-2048-mc4 was measured on an oversubscribed host" in serverless  # the analysis'
    assert "sls-2048-mc2 was measured on an oversubscribed host: entitled to 2.32" in serverless
    assert "sls-2048-mc4 was measured on an oversubscribed host: entitled" not in serverless
    assert serverless.count('<span class="badge oversubscribed">oversubscribed host</span>') >= 3
    compare = reports["compare"]
    assert '<span class="badge projected">projected</span>' in compare
    assert "rt-ml.c5.large: projected (simulated) figures, not measured." in compare
    assert "rt-ml.c5.large (projected)" in compare  # its legend entries
    assert "rt-ml.c5.large (projected)" not in serverless


def test_summaries_plan_environment_and_raw_files_are_listed(reports: dict[str, str]) -> None:
    html = reports["realtime"]
    for phase in ("step 1", "step 4", "total"):
        assert f'<td class="text">{phase}</td>' in html
    assert "ModelError 12" in html  # step 4 of the 2-vCPU instances
    assert "quick: true" in html  # the plan, as YAML
    assert "xgboost-cpu" in html  # the environment's packages
    assert "records/rt-ml.c5.large.parquet" in html


def bare(**configuration: object) -> RunResult:
    """A run result with only what is required (and one configuration, when given)."""
    return RunResult(
        run_id="r<1>",
        plan_name="<script>alert(1)</script>",
        created_at="2026-12-07T17:00:00Z",
        environment=Environment(
            endpointlab_version="0", python="3", platform="linux", machine="x86_64", cpu_count=2
        ),
        objective=Objective(latency_ms=100.0),
        configurations=[ConfigurationResult.model_validate(configuration)] if configuration else [],
    )


def test_record_files_present_in_the_run_are_linked(tmp_path: Path) -> None:
    records = ["records/q.csv", "records/q.parquet"]
    save_run_result(bare(name="q", kind="async", records=records), tmp_path)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "q.csv").write_text("request_id\n")
    (tmp_path / "summaries.csv").write_text("configuration\n")
    html = render(tmp_path / "run-result.json").read_text()
    assert '<a href="records/q.csv">' in html
    assert '<a href="summaries.csv">' in html
    assert '<a href="records/q.parquet">' not in html
    assert 'records/q.parquet <span class="badge">not in this run directory' in html


def test_a_bare_run_result_renders_without_plots_and_names_are_escaped(tmp_path: Path) -> None:
    save_run_result(bare(), tmp_path)
    html = render(tmp_path).read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "carries no recommendation" in html
    assert "<script" not in html  # nothing to plot: no Bokeh at all


def test_an_unreadable_run_result_raises_the_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RunResultError, match="no run result at"):
        render(tmp_path)
    path = write_run("async", tmp_path) / "run-result.json"
    path.write_text(path.read_text().replace(f'"version": {VERSION},', '"version": 0,', 1))
    with pytest.raises(RunResultError, match=r"json has an unknown run-result version 0$"):
        render(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_the_objective_stays_in_view_when_every_latency_is_above_it() -> None:
    from endpointlab.reports.figures import latency_percentiles
    from tests.report_runs import async_run

    run = async_run()
    plot = latency_percentiles(run)
    assert plot is not None
    plotted = [y for r in plot.model.renderers for y in r.data_source.data.get("y", [])]
    assert min(plotted) == run.objective.latency_ms  # the automatic y range reaches the line


def test_the_cost_plot_says_when_there_is_no_break_even() -> None:
    from endpointlab.reports.figures import monthly_cost
    from tests.report_runs import compare_run

    run = compare_run()
    assert run.comparison is not None
    crossing = monthly_cost(run)
    assert crossing is not None and "the red line is the break-even volume" in crossing.caption
    never = run.model_copy(
        update={
            "comparison": run.comparison.model_copy(update={"break_even_requests_per_month": None})
        }
    )
    plot = monthly_cost(never)
    assert plot is not None and plot.caption.startswith("No break-even between")


def test_an_async_configuration_shows_the_servers_queue_and_processing(
    reports: dict[str, str],
) -> None:
    html = reports["async"]
    section = html[html.index('<h2 id="queue">') : html.index('<h2 id="summaries">')]
    assert "not client-side timings" in section  # where the figures come from
    assert "200 answers found (client)" in section
    rows = re.findall(r"<tr>\s*(.*?)\s*</tr>", section, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows[1:]]

    def shown(*values: int) -> list[str]:
        return [f"{v:,} ms" for v in values]

    assert cells == [
        ["In the queue (TimeInBacklog)", "200", *shown(1400, 1200, 2600, 2900, 3000)],
        ["Processing (TotalProcessingTime less TimeInBacklog)", "200", "1,100 ms", *["\u2013"] * 4],
        ["of which the model (ModelLatency)", "200", *shown(700, 680, 900, 1000, 1100)],
        ["Received to finished (TotalProcessingTime)", "200", *shown(2500, 2400, 3800, 4300, 4500)],
    ]
    assert "Queue vs processing" not in reports["realtime"]


def test_a_split_without_its_processing_time_keeps_its_table_and_findings(tmp_path: Path) -> None:
    from endpointlab.analysis.queueing import async_split

    split = async_split(
        {"TimeInBacklog": [{"Unit": "Milliseconds", "SampleCount": 3.0, "Average": 2.0}]},
        answered=4,
    )
    save_run_result(bare(name="q", kind="async", async_split=split.model_dump()), tmp_path)
    html = render(tmp_path).read_text(encoding="utf-8")
    assert "queue-vs-processing" not in html  # no processing time: nothing to stack
    assert "⚠ TimeInBacklog has 3 samples but the client found 4 answers" in html
    assert "TimeInBacklog counts 3 requests and TotalProcessingTime 0" in html
