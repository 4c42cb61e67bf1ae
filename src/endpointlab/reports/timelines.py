"""Timeline plots (one series per configuration, x axes linked so zooming one zooms all):
requests in flight, throughput, instance count, cold starts with throttles and errors, and the
asynchronous backlog. A plot whose series are all empty is left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from bokeh.models import Range1d
from bokeh.plotting import figure

from endpointlab.reports.style import Plot, colour, finish, hover, new_figure, source
from endpointlab.reports.tables import label
from endpointlab.results.run_result import ConfigurationResult, RunResult, TimelinePoint

Getter = Callable[[TimelinePoint, float], float | None]


def _step(points: list[TimelinePoint]) -> float:
    steps = [b.t - a.t for a, b in itertools.pairwise(points) if b.t > a.t]
    return min(steps, default=1.0)


SERIES: tuple[tuple[str, str, str, Getter, str], ...] = (
    (
        "in-flight",
        "Requests in flight",
        "requests in flight",
        lambda p, s: p.in_flight,
        "Requests sent and not yet answered, per interval.",
    ),
    (
        "throughput",
        "Throughput",
        "completed requests/s",
        lambda p, s: p.completed / s,
        "Requests completed per second.",
    ),
    (
        "instances",
        "Instance count",
        "instances (or serverless copies)",
        lambda p, s: p.instances,
        "Instances in service (real-time, async) or busy serverless copies: scaling behaviour.",
    ),
    (
        "backlog",
        "Asynchronous backlog",
        "queued requests",
        lambda p, s: p.backlog,
        "Requests waiting in the asynchronous queue (ApproximateBacklogSize).",
    ),
)


def timeline_plots(result: RunResult) -> list[Plot]:
    configs = [c for c in result.configurations if c.timeline]
    if not configs:
        return []
    end = max(p.t for c in configs for p in c.timeline)
    shared = Range1d(start=0, end=max(end, 1.0))
    plots = []
    for key, title, axis, get, caption in SERIES:
        plot = _series_plot(configs, f"timeline-{key}", title, axis, get, shared)
        if plot is not None:
            plots.append(Plot(f"timeline-{key}", title, caption, plot))
    events = _events_plot(configs, shared)
    if events is not None:
        plots.append(events)
    return plots


def _series_plot(
    configs: list[ConfigurationResult],
    name: str,
    title: str,
    axis: str,
    get: Getter,
    shared: Range1d,
) -> figure | None:
    fig = new_figure(
        name,
        title,
        x_label="seconds from the configuration's start",
        y_label=axis,
        x_range=shared,
        height=260,
    )
    renderers: list[Any] = []
    for index, config in enumerate(configs):
        step = _step(config.timeline)
        kept = [(p.t, get(p, step)) for p in config.timeline]
        points = [(t, v) for t, v in kept if v is not None]
        if not points:
            continue
        data = source(
            x=[t for t, _ in points], y=[v for _, v in points], config=[label(config)] * len(points)
        )
        dash = "dashed" if config.origin == "projected" else "solid"
        renderers.append(
            fig.step(
                "x",
                "y",
                source=data,
                mode="after",
                color=colour(index),
                line_width=2,
                line_dash=dash,
                legend_label=label(config),
            )
        )
    if not renderers:
        return None
    hover(fig, renderers, [("configuration", "@config"), ("t", "@x s"), ("value", "@y{0,0.0}")])
    return finish(fig)


def _events_plot(configs: list[ConfigurationResult], shared: Range1d) -> Plot | None:
    fig = new_figure(
        "timeline-events",
        "Cold starts, throttles and errors",
        x_label="seconds from the configuration's start",
        y_label="count",
        x_range=shared,
        height=260,
    )
    renderers: list[Any] = []
    for column, marker, what in (
        ("cold_starts", "triangle", "cold starts"),
        ("throttles", "x", "throttles"),
        ("errors", "square", "errors"),
    ):  # one renderer per kind of event, coloured by configuration: a lighter page
        points = [
            (p, index, config)
            for index, config in enumerate(configs)
            for p in config.timeline
            if getattr(p, column) > 0
        ]
        if not points:
            continue
        data = source(
            x=[p.t for p, _, _ in points],
            y=[getattr(p, column) for p, _, _ in points],
            config=[label(c) for _, _, c in points],
            colour=[colour(i) for _, i, _ in points],
            what=[what] * len(points),
        )
        renderers.append(
            fig.scatter(
                "x",
                "y",
                source=data,
                marker=marker,
                size=10,
                color="colour",
                line_width=2,
                legend_label=f"{what} (colour: configuration)",
            )
        )
    if not renderers:
        return None
    hover(
        fig,
        renderers,
        [("configuration", "@config"), ("event", "@what"), ("t", "@x s"), ("count", "@y")],
    )
    caption = "Per interval: cold starts (triangles), throttled attempts (x) and errors (squares)."
    return Plot("timeline-events", "Cold starts, throttles and errors", caption, finish(fig))
