"""The plots of one run: latency percentiles (cold apart from warm), percentiles against load
(real-time) with the objective drawn, monthly cost against volume with the break-even. The
serverless plots are in serverless.py, the timelines in timelines.py.

Every function takes the saved RunResult and returns None when the run has nothing to plot.
"""

from __future__ import annotations

from typing import Any

from endpointlab.reports.style import (
    PERCENTILE_LABELS,
    PERCENTILES,
    Plot,
    colour,
    finish,
    hover,
    new_figure,
    objective_line,
    source,
)
from endpointlab.reports.tables import label, ms
from endpointlab.results.run_result import (
    LatencyStats,
    PhaseSummary,
    RunResult,
)


def percentile_points(stats: LatencyStats) -> tuple[list[str], list[float]]:
    xs, ys = [], []
    for key, text in zip(PERCENTILES, PERCENTILE_LABELS, strict=True):
        value = getattr(stats, key)
        if value is not None and value > 0:
            xs.append(text)
            ys.append(float(value))
    return xs, ys


def objective(result: RunResult) -> tuple[float, str]:
    objective = result.objective
    return objective.latency_ms, f"objective p{objective.percentile:g} ≤ {ms(objective.latency_ms)}"


def latency_percentiles(result: RunResult) -> Plot | None:
    fig = new_figure(
        "latency-percentiles",
        "Latency percentiles per configuration (warm requests; cold starts apart)",
        x_label="percentile",
        y_label="latency (ms, log)",
        y_log=True,
        x_range=list(PERCENTILE_LABELS),
    )
    renderers: list[Any] = []
    cold: dict[str, list[object]] = {"x": [], "y": [], "config": [], "colour": []}
    for index, config in enumerate(result.configurations):
        summary = config.total
        if summary is None:
            continue
        warm = summary.warm_latency or summary.latency
        xs, ys = percentile_points(warm)
        data = source(x=xs, y=ys, config=[label(config)] * len(xs), kind=["warm"] * len(xs))
        dash = "dashed" if config.origin == "projected" else "solid"
        fig.line(
            "x",
            "y",
            source=data,
            color=colour(index),
            line_dash=dash,
            line_width=2,
            legend_label=label(config),
        )
        renderers.append(
            fig.scatter(
                "x", "y", source=data, color=colour(index), size=7, legend_label=label(config)
            )
        )
        if summary.cold_latency is not None and summary.cold_latency.count:
            xs, ys = percentile_points(summary.cold_latency)
            cold["x"] += xs
            cold["y"] += ys
            cold["config"] += [label(config)] * len(xs)
            cold["colour"] += [colour(index)] * len(xs)
    if cold["x"]:  # one renderer for every configuration's cold starts: a lighter page
        data = source(**cold, kind=["cold start"] * len(cold["x"]))
        renderers.append(
            fig.scatter(
                "x",
                "y",
                source=data,
                color="colour",
                size=11,
                marker="triangle",
                fill_alpha=0.4,
                legend_label="cold starts (colour: configuration)",
            )
        )
    if not renderers:
        return None
    value, text = objective(result)
    objective_line(fig, value, text)
    hover(
        fig,
        renderers,
        [
            ("configuration", "@config"),
            ("requests", "@kind"),
            ("percentile", "@x"),
            ("latency", "@y{0,0.0} ms"),
        ],
    )
    caption = (
        "Exact percentiles of every successful request, warm ones as lines and cold starts as "
        "triangles; the y axis is logarithmic so the tail stays visible."
    )
    return Plot("latency-percentiles", "Latency distribution", caption, finish(fig))


def _load(phase: PhaseSummary) -> float | None:
    return phase.rate_per_s if phase.rate_per_s is not None else phase.clients


def percentiles_by_load(result: RunResult) -> Plot | None:
    configs = [c for c in result.configurations if c.kind == "realtime" and len(c.phases) >= 2]
    if not configs:
        return None
    rates = all(p.rate_per_s is not None for c in configs for p in c.phases)
    fig = new_figure(
        "percentiles-by-load",
        "Latency against load (real-time)",
        x_label="offered load (requests/s)" if rates else "concurrent clients",
        y_label="latency (ms, log)",
        y_log=True,
    )
    renderers: list[Any] = []
    for index, config in enumerate(configs):
        phases = [p for p in config.phases if _load(p) is not None]
        dash = "dashed" if config.origin == "projected" else "solid"
        data = source(
            x=[_load(p) for p in phases],
            p50=[p.latency.p50 for p in phases],
            p99=[p.latency.p99 for p in phases],
            errors=[p.error_rate * 100 for p in phases],
            throughput=[p.throughput_per_s for p in phases],
            config=[label(config)] * len(phases),
        )
        fig.line(
            "x",
            "p99",
            source=data,
            color=colour(index),
            line_width=2,
            line_dash=dash,
            legend_label=f"{label(config)} p99",
        )
        renderers.append(
            fig.scatter(
                "x",
                "p99",
                source=data,
                color=colour(index),
                size=8,
                legend_label=f"{label(config)} p99",
            )
        )
        fig.line(
            "x",
            "p50",
            source=data,
            color=colour(index),
            line_width=1,
            line_dash="dotted",
            legend_label=f"{label(config)} p50",
        )
    value, text = objective(result)
    objective_line(fig, value, text)
    hover(
        fig,
        renderers,
        [
            ("configuration", "@config"),
            ("load", "@x"),
            ("p50", "@p50{0,0.0} ms"),
            ("p99", "@p99{0,0.0} ms"),
            ("throughput", "@throughput{0.0}/s"),
            ("errors", "@errors{0.00}%"),
        ],
    )
    caption = (
        "p99 (solid) and p50 (dotted) at each load step; the dashed red line is the objective."
    )
    return Plot("percentiles-by-load", "Percentiles against load", caption, finish(fig))


def monthly_cost(result: RunResult) -> Plot | None:
    comparison = result.comparison
    if comparison is None or not comparison.savings:
        return None
    points = sorted(comparison.savings, key=lambda p: p.requests_per_month)
    names = sorted({name for point in points for name in point.usd})
    fig = new_figure(
        "monthly-cost",
        "Monthly cost against monthly volume",
        x_label="requests per month (log)",
        y_label="USD per month (log)",
        x_log=True,
        y_log=True,
    )
    renderers: list[Any] = []
    for index, name in enumerate(names):
        kept = [p for p in points if p.usd.get(name, 0) > 0]
        try:
            config = result.configuration(name)
            projected = ", projected" if config.origin == "projected" else ""
            shown = f"{name} ({config.kind}{projected})"
        except KeyError:
            shown = name
        data = source(
            x=[p.requests_per_month for p in kept],
            y=[p.usd[name] for p in kept],
            config=[shown] * len(kept),
        )
        fig.line("x", "y", source=data, color=colour(index), line_width=2, legend_label=shown)
        renderers.append(
            fig.scatter("x", "y", source=data, color=colour(index), size=7, legend_label=shown)
        )
    if comparison.break_even_requests_per_month is not None:
        objective_line(
            fig,
            comparison.break_even_requests_per_month,
            f"break-even {comparison.break_even_requests_per_month:,.0f}/month",
            dimension="height",
        )
    if result.traffic is not None:
        from bokeh.models.annotations import Span

        fig.add_layout(
            Span(
                location=result.traffic.requests_per_month,
                dimension="height",
                line_color="#555555",
                line_dash="dotted",
                line_width=2,
            )
        )
    hover(
        fig,
        renderers,
        [
            ("configuration", "@config"),
            ("requests/month", "@x{0,0}"),
            ("cost", "@y{$0,0.00}/month"),
        ],
    )
    pair = " and ".join(comparison.between) or "the options"
    even = (
        f"Between {pair}: the red line is the break-even volume"
        if comparison.break_even_requests_per_month is not None
        else f"No break-even between {pair}"
    )
    caption = (
        f"{even}; the grey dotted line is the expected traffic. Real-time costs are for the "
        "instances each volume needs at the rate one instance carried within the objective. "
        f"Prices: {comparison.price_source or 'not stated'} ({comparison.region})."
    )
    return Plot("monthly-cost", "Cost against volume", caption, finish(fig))
