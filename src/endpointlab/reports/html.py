"""The self-contained HTML report of one run, rendered from its saved run result only.

Templates live in ``templates/`` (Jinja2); plots are Bokeh figures whose JavaScript, styles and
data are embedded inline, so the page opens offline and makes no network request.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.resources import Resources
from jinja2 import Environment, PackageLoader, select_autoescape

from endpointlab.reports import compare, figures, queueing, serverless, tables
from endpointlab.reports.compare import RunComparison
from endpointlab.reports.style import Plot
from endpointlab.reports.timelines import timeline_plots
from endpointlab.results.run_result import RunResult

REPORT_NAME = "report.html"
RUN_FILES = ("plan.yaml", "environment.json", "summaries.csv", "metrics")


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    plots: list[Plot]


@cache
def templates() -> Environment:
    return Environment(
        loader=PackageLoader("endpointlab.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def sections(result: RunResult) -> list[Section]:
    """The plots of ``result`` grouped as the report shows them, empty groups left out."""
    groups: list[tuple[str, str, list[Plot | None]]] = [
        ("latency", "Latency", [figures.latency_percentiles(result)]),
        (
            "serverless",
            "Serverless: memory size and concurrency",
            [
                serverless.percentiles_by_memory(result),
                serverless.cost_and_latency_by_memory(result),
                serverless.throttles_by_clients(result),
            ],
        ),
        ("realtime", "Real-time: load", [figures.percentiles_by_load(result)]),
        ("cost", "Cost", [figures.monthly_cost(result)]),
        ("timelines", "Timelines: scaling behaviour", list(timeline_plots(result))),
    ]
    kept = []
    for anchor, title, maybe in groups:
        plots = [plot for plot in maybe if plot is not None]
        if plots:
            kept.append(Section(anchor, title, plots))
    return kept


def page(template: str, title: str, plots: Sequence[Plot], context: dict[str, Any]) -> str:
    """Render ``template`` with ``context`` and the Bokeh roots of ``plots`` embedded inline."""
    jinja = templates().get_template(template)
    if not plots:
        return jinja.render(
            title=title, bokeh_css="", bokeh_js="", plot_script="", roots={}, **context
        )
    document = Document()
    with document.models.freeze():  # one recomputation of the model graph, not one per root
        for plot in plots:
            document.add_root(plot.model)
    html: str = file_html(
        document,
        resources=Resources(mode="inline"),
        title=title,
        template=jinja,
        template_variables=context,
    )
    return html


def raw_files(result: RunResult, run_dir: Path) -> list[tuple[str, str, bool]]:
    """(configuration, relative path, present) for every raw file the run names or has."""
    found = [
        (c.name, record, (run_dir / record).exists())
        for c in result.configurations
        for record in c.records
    ]
    found.extend(("", name, True) for name in RUN_FILES if (run_dir / name).exists())
    return found


def report_html(result: RunResult, run_dir: Path) -> str:
    """The HTML text of the report of ``result``, whose raw files sit in ``run_dir``."""
    shown = sections(result)
    split_plot = queueing.queue_vs_processing(result)
    context = {
        "result": result,
        "objective": tables.objective_text(result),
        "traffic": tables.traffic_text(result),
        "recommendation": result.recommendation,
        "picks": tables.picks(result),
        "warnings": tables.warnings(result),
        "config_header": tables.CONFIG_HEADER,
        "config_rows": tables.configuration_rows(result),
        "config_flags": {c.name: tables.flags(c) for c in result.configurations},
        "settings": {c.name: tables.settings_text(c) for c in result.configurations},
        "phase_header": tables.PHASE_HEADER,
        "phase_tables": [(c, tables.phase_rows(c)) for c in result.configurations],
        "sections": shown,
        "plan_text": yaml.safe_dump(result.plan, sort_keys=False) if result.plan else "(none)",
        "environment": tables.environment_rows(result),
        "raw_files": raw_files(result, run_dir),
        "split_tables": queueing.split_tables(result),
        "split_plot": split_plot,
        "split_header": queueing.SPLIT_HEADER,
        "split_source": queueing.SOURCE,
    }
    title = f"{result.plan_name} report: {result.run_id}"
    plots = [plot for section in shown for plot in section.plots]
    plots += [split_plot] if split_plot is not None else []
    return page("report.html.j2", title, plots, context)


def comparison_html(comparison: RunComparison) -> str:
    """The HTML text of a comparison of two runs."""
    from endpointlab.reports.compare_figures import intervals, percentiles_overlay

    plots = [p for p in (percentiles_overlay(comparison), intervals(comparison)) if p is not None]
    context = {
        "cmp": comparison,
        "warnings": {"A": tables.warnings(comparison.a), "B": tables.warnings(comparison.b)},
        "header": compare.HEADER,
        "rows": compare.rows(comparison),
        "plots": plots,
    }
    title = f"Comparison: {comparison.a.run_id} and {comparison.b.run_id}"
    return page("compare.html.j2", title, plots, context)


def write(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` whole (a temporary file renamed), so a reader never sees half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(html, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_comparison(comparison: RunComparison, path: Path) -> Path:
    """Write the comparison page to ``path``; return it."""
    return write(path, comparison_html(comparison))


def write_report(result: RunResult, run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` for ``result``; return its path."""
    return write(run_dir / REPORT_NAME, report_html(result, run_dir))
