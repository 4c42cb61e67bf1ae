"""The overlaid plots of a comparison: each configuration's latency percentiles in both runs (A
solid, B dashed, one colour per configuration) and its p50/p99 with their confidence intervals.
"""

from __future__ import annotations

from bokeh.models import FactorRange
from bokeh.models.annotations import Whisker

from endpointlab.reports.compare import RunComparison
from endpointlab.reports.figures import percentile_points
from endpointlab.reports.style import (
    PERCENTILE_LABELS,
    Plot,
    colour,
    finish,
    hover,
    new_figure,
    objective_line,
    source,
)
from endpointlab.reports.tables import ms


def percentiles_overlay(comparison: RunComparison) -> Plot | None:
    fig = new_figure(
        "compare-percentiles",
        "Latency percentiles: A (solid) against B (dashed)",
        x_label="percentile",
        y_label="latency (ms, log)",
        y_log=True,
        x_range=list(PERCENTILE_LABELS),
    )
    renderers = []
    for index, pair in enumerate(comparison.pairs):
        for side, config, dash in (("A", pair.a, "solid"), ("B", pair.b, "dashed")):
            if config is None or config.total is None:
                continue
            xs, ys = percentile_points(config.total.warm_latency or config.total.latency)
            name = f"{pair.name} ({side})"
            data = source(x=xs, y=ys, config=[name] * len(xs))
            fig.line(
                "x",
                "y",
                source=data,
                color=colour(index),
                line_dash=dash,
                line_width=2,
                legend_label=name,
            )
            renderers.append(
                fig.scatter("x", "y", source=data, color=colour(index), size=6, legend_label=name)
            )
    if not renderers:
        return None
    objective = comparison.a.objective
    objective_line(
        fig,
        objective.latency_ms,
        f"objective (A) p{objective.percentile:g} ≤ {ms(objective.latency_ms)}",
    )
    hover(
        fig,
        renderers,
        [("configuration", "@config"), ("percentile", "@x"), ("latency", "@y{0,0.0} ms")],
    )
    caption = "Warm requests of each configuration in both runs; the y axis is logarithmic."
    return Plot("compare-percentiles", "Percentiles, overlaid", caption, finish(fig))


def intervals(comparison: RunComparison) -> Plot | None:
    factors, p50, p99, low, high, labels = [], [], [], [], [], []
    for pair in comparison.pairs:
        for side, config in (("A", pair.a), ("B", pair.b)):
            if config is None or config.total is None or config.total.latency.p99 is None:
                continue
            ci = config.total.latency_ci.get("p99")
            factors.append((pair.name, side))
            p50.append(config.total.latency.p50)
            p99.append(config.total.latency.p99)
            low.append(ci.low if ci else config.total.latency.p99)
            high.append(ci.high if ci else config.total.latency.p99)
            labels.append(f"{pair.name} ({side})")
    if not factors:
        return None
    fig = new_figure(
        "compare-intervals",
        "p99 with its 95% confidence interval, and p50",
        x_label="configuration, run",
        y_label="latency (ms, log)",
        y_log=True,
        x_range=FactorRange(factors=factors),
    )
    data = source(x=factors, p50=p50, p99=p99, low=low, high=high, config=labels)
    fig.add_layout(
        Whisker(
            source=data, base="x", lower="low", upper="high", line_color=colour(3), line_width=2
        )
    )
    marks = fig.scatter("x", "p99", source=data, color=colour(3), size=10, legend_label="p99")
    fig.scatter(
        "x", "p50", source=data, color=colour(0), size=8, marker="diamond", legend_label="p50"
    )
    objective = comparison.a.objective
    objective_line(fig, objective.latency_ms, f"objective (A) {ms(objective.latency_ms)}")
    hover(
        fig,
        [marks],
        [
            ("configuration", "@config"),
            ("p99", "@p99{0,0.0} ms"),
            ("95% CI", "@low{0,0.0} to @high{0,0.0} ms"),
            ("p50", "@p50{0,0.0} ms"),
        ],
    )
    fig.xaxis.major_label_orientation = 0.6
    caption = (
        "Where the two whiskers of a configuration do not overlap, its p99 differs beyond the "
        "confidence interval (flagged above)."
    )
    return Plot("compare-intervals", "p99 against its confidence interval", caption, finish(fig))
