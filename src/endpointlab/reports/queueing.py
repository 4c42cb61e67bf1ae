"""Asynchronous configurations, queue against processing: a table per configuration and a
stacked bar of the mean time per request, from the server's per-request CloudWatch metrics
(TimeInBacklog, TotalProcessingTime, ModelLatency) that bench saved, not client timings.

The bars stack means (the mean queue time plus the mean processing time is the mean total);
percentiles do not add, so they are in the table and the hover only.
"""

from __future__ import annotations

from dataclasses import dataclass

from bokeh.models import DataRange1d

from endpointlab.reports.style import Plot, colour, finish, hover, new_figure, source
from endpointlab.reports.tables import DASH, Row, count, label, ms
from endpointlab.results.run_result import AsyncSplit, ConfigurationResult, RunResult, ServerTimes

SPLIT_HEADER = ["Server metric (per request)", "Samples", "Mean", "p50", "p90", "p99", "Max"]
SOURCE = (
    "The server's own per-request metrics, pulled from CloudWatch (AWS/SageMaker TimeInBacklog, "
    "TotalProcessingTime and ModelLatency over the configuration's run), not client-side "
    "timings. TotalProcessingTime runs from the request's receipt to its end, the queue "
    "included; processing is the difference of the means (percentiles do not subtract)."
)


@dataclass(frozen=True)
class SplitTable:
    """One async configuration's split as the report shows it."""

    config: ConfigurationResult
    rows: list[Row]
    answered: str  # "40 requests answered (client)" or ""
    findings: list[str]


def _row(name: str, times: ServerTimes) -> Row:
    figures = (times.mean, times.p50, times.p90, times.p99, times.max)
    return Row([name, count(times.samples), *(ms(v) for v in figures)])


def split_rows(split: AsyncSplit) -> list[Row]:
    """Queue, processing (mean only), model and the whole, in that order."""
    rows = [
        _row("In the queue (TimeInBacklog)", split.queue),
        Row(
            [
                "Processing (TotalProcessingTime less TimeInBacklog)",
                count(split.total.samples) if split.processing_mean is not None else DASH,
                ms(split.processing_mean),
                *[DASH] * 4,
            ]
        ),
    ]
    if split.model is not None:
        rows.append(_row("of which the model (ModelLatency)", split.model))
    rows.append(_row("Received to finished (TotalProcessingTime)", split.total))
    return rows


def split_tables(result: RunResult) -> list[SplitTable]:
    tables = []
    for config in result.configurations:
        split = config.async_split
        if split is None:
            continue
        answered = "" if split.answered is None else f"{split.answered} answers found (client)"
        tables.append(SplitTable(config, split_rows(split), answered, list(split.findings)))
    return tables


def queue_vs_processing(result: RunResult) -> Plot | None:
    """Mean queue and processing time per request of each async configuration, stacked."""
    configs = [
        c
        for c in result.configurations
        if c.async_split is not None and c.async_split.processing_mean is not None
    ]
    if not configs:
        return None
    splits = [c.async_split for c in configs if c.async_split is not None]
    names = [label(c) for c in configs]
    fig = new_figure(
        "queue-vs-processing",
        "Queue against processing (server, per request)",
        x_label="configuration",
        y_label="mean time per request (ms)",
        x_range=names,
    )
    data = source(
        config=names,
        queue=[s.queue.mean or 0.0 for s in splits],
        processing=[max(0.0, s.processing_mean or 0.0) for s in splits],
        queue_p=[_spread(s.queue) for s in splits],
        total_p=[_spread(s.total) for s in splits],
        samples=[s.queue.samples for s in splits],
    )
    bars = fig.vbar_stack(
        ["queue", "processing"],
        x="config",
        width=0.5,
        source=data,
        color=[colour(0), colour(1)],
        legend_label=["in the queue (TimeInBacklog)", "processing (the rest)"],
    )
    fig.y_range = DataRange1d(start=0)
    hover(
        fig,
        bars,
        [
            ("configuration", "@config"),
            ("mean queue", "@queue{0,0.0} ms"),
            ("mean processing", "@processing{0,0.0} ms"),
            ("queue p50/p90/p99", "@queue_p"),
            ("received to finished p50/p90/p99", "@total_p"),
            ("samples", "@samples"),
        ],
    )
    caption = (
        "Mean time per request in the queue and in processing, as the endpoint measured it "
        "(CloudWatch TimeInBacklog and TotalProcessingTime); the whole bar is the mean from "
        "receipt to finish. Percentiles are in the table below."
    )
    return Plot("queue-vs-processing", "Queue against processing", caption, finish(fig))


def _spread(times: ServerTimes) -> str:
    return " / ".join(ms(getattr(times, p)) for p in ("p50", "p90", "p99"))
