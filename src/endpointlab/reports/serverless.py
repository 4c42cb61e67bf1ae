"""The serverless plots: latency against memory size (the objective drawn), cost per 1M
invocations and latency per memory size on one chart, throttles and errors against concurrent
clients for each MaxConcurrency (requests and attempts).

Every function takes the saved RunResult and returns None when the run has nothing to plot.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Any

from endpointlab.reports.figures import objective
from endpointlab.reports.style import (
    Plot,
    colour,
    finish,
    hover,
    new_figure,
    objective_line,
    source,
)
from endpointlab.reports.tables import label
from endpointlab.results.run_result import ConfigurationResult, RunResult


def _memory(config: ConfigurationResult) -> float | None:
    value = config.settings.get("MemorySizeInMB")
    return float(value) if isinstance(value, int | float) else None


def _serverless(result: RunResult) -> list[ConfigurationResult]:
    """The serverless configurations, when they tried two memory sizes or more."""
    found = [
        c
        for c in result.configurations
        if c.kind == "serverless" and _memory(c) is not None and c.total is not None
    ]
    return found if len({_memory(c) for c in found}) >= 2 else []


def percentiles_by_memory(result: RunResult) -> Plot | None:
    configs = _serverless(result)
    if not configs:
        return None
    groups: dict[object, list[ConfigurationResult]] = defaultdict(list)
    for config in configs:
        groups[config.settings.get("MaxConcurrency")].append(config)
    fig = new_figure(
        "percentiles-by-memory",
        "Latency against memory size (serverless)",
        x_label="MemorySizeInMB",
        y_label="latency (ms)",
    )
    renderers: list[Any] = []
    for index, (concurrency, members) in enumerate(sorted(groups.items(), key=str)):
        members.sort(key=lambda c: _memory(c) or 0)
        for stat, dash in (("p50", "dotted"), ("p99", "solid")):
            ys = [getattr(c.total.latency, stat) if c.total else None for c in members]
            data = source(
                x=[_memory(c) for c in members],
                y=[math.nan if y is None else y for y in ys],
                config=[label(c) for c in members],
            )
            name = f"{stat}, MaxConcurrency {concurrency}"
            line = fig.line(
                "x",
                "y",
                source=data,
                color=colour(index),
                line_dash=dash,
                line_width=2,
                legend_label=name,
            )
            if stat == "p50":
                renderers.append(line)
                continue
            renderers.append(
                fig.scatter("x", "y", source=data, color=colour(index), size=8, legend_label=name)
            )
    value, text = objective(result)
    objective_line(fig, value, text)
    hover(
        fig,
        renderers,
        [("configuration", "@config"), ("memory", "@x MB"), ("latency", "@y{0,0.0} ms")],
    )
    caption = (
        "p50 (dotted) and p99 (solid) of each memory size; the dashed red line is the objective."
    )
    return Plot("percentiles-by-memory", "Percentiles against memory size", caption, finish(fig))


def cost_and_latency_by_memory(result: RunResult) -> Plot | None:
    by_memory: dict[float, ConfigurationResult] = {}
    for config in sorted(_serverless(result), key=lambda c: -_concurrency(c)):
        memory = _memory(config)
        if memory is not None and config.cost and config.cost.per_million_usd is not None:
            by_memory[memory] = config  # the lowest MaxConcurrency of each memory size wins
    if not by_memory:
        return None
    from bokeh.models import LinearAxis, Range1d

    configs = [by_memory[m] for m in sorted(by_memory)]
    fig = new_figure(
        "cost-by-memory",
        "Cost per 1M invocations and latency per memory size",
        x_label="MemorySizeInMB",
        y_label="latency (ms)",
    )
    costs = [c.cost.per_million_usd if c.cost else None for c in configs]
    top = max((c for c in costs if c is not None), default=1.0) * 1.2
    fig.extra_y_ranges = {"cost": Range1d(start=0, end=top)}
    fig.add_layout(LinearAxis(y_range_name="cost", axis_label="USD per 1M invocations"), "right")
    xs = [_memory(c) for c in configs]
    width = 0.3 * min((b - a for a, b in itertools.pairwise(xs) if a and b), default=512.0)
    data = source(
        x=xs,
        cost=costs,
        p50=[c.total.latency.p50 if c.total else None for c in configs],
        p99=[c.total.latency.p99 if c.total else None for c in configs],
        config=[label(c) for c in configs],
    )
    bars = fig.vbar(
        x="x",
        top="cost",
        width=width,
        source=data,
        y_range_name="cost",
        color="#9ecae1",
        legend_label="USD per 1M invocations",
    )
    p99 = fig.line("x", "p99", source=data, color=colour(3), line_width=2, legend_label="p99")
    fig.scatter("x", "p99", source=data, color=colour(3), size=8, legend_label="p99")
    fig.line("x", "p50", source=data, color=colour(0), line_width=2, legend_label="p50")
    fig.scatter("x", "p50", source=data, color=colour(0), size=8, legend_label="p50")
    value, text = objective(result)
    objective_line(fig, value, text)
    hover(
        fig,
        [bars, p99],
        [
            ("configuration", "@config"),
            ("USD per 1M", "@cost{$0,0.00}"),
            ("p50", "@p50{0,0.0} ms"),
            ("p99", "@p99{0,0.0} ms"),
        ],
    )
    caption = "Bars: cost per 1M invocations (right axis). Lines: latency (left axis)."
    return Plot("cost-by-memory", "Cost and latency per memory size", caption, finish(fig))


def _concurrency(config: ConfigurationResult) -> float:
    value = config.settings.get("MaxConcurrency")
    return float(value) if isinstance(value, int | float) else 0.0


def throttles_by_clients(result: RunResult) -> Plot | None:
    configs = [
        c
        for c in result.configurations
        if c.kind == "serverless" and len({p.clients for p in c.phases} - {None}) >= 2
    ]
    if not configs:
        return None
    fig = new_figure(
        "throttles-by-clients",
        "Throttles and errors against concurrent clients (serverless)",
        x_label="concurrent clients",
        y_label="count",
    )
    renderers: list[Any] = []
    for index, config in enumerate(sorted(configs, key=_concurrency)):
        phases = sorted(
            (p for p in config.phases if p.clients is not None), key=lambda p: p.clients or 0
        )
        data = source(
            x=[p.clients for p in phases],
            requests=[p.throttled_requests for p in phases],
            attempts=[p.throttled_attempts for p in phases],
            errors=[p.requests - p.successes - p.throttled_requests for p in phases],
            phase=[p.name for p in phases],
            config=[label(config)] * len(phases),
        )
        name = f"MaxConcurrency {config.settings.get('MaxConcurrency')} ({config.name})"
        for column, dash, what in (
            ("requests", "solid", "throttled requests"),
            ("attempts", "dashed", "throttled attempts"),
            ("errors", "dotted", "other errors"),
        ):
            line = fig.line(
                "x",
                column,
                source=data,
                color=colour(index),
                line_dash=dash,
                line_width=2,
                legend_label=f"{name}: {what}",
            )
            renderers.append(line)
        fig.scatter(
            "x",
            "requests",
            source=data,
            color=colour(index),
            size=7,
            legend_label=f"{name}: throttled requests",
        )
    hover(
        fig,
        renderers,
        [
            ("configuration", "@config"),
            ("phase", "@phase"),
            ("clients", "@x"),
            ("throttled requests", "@requests"),
            ("throttled attempts", "@attempts"),
            ("other errors", "@errors"),
        ],
    )
    caption = (
        "Requests that failed with ThrottlingException after every retry (solid), the attempts "
        "throttled on the way (dashed, retries included) and other errors (dotted)."
    )
    return Plot("throttles-by-clients", "Throttles against concurrency", caption, finish(fig))
