"""The terminal summary of a run (rich tables): the recommendation first, then one line per
configuration, an async configuration's queue/processing split (the server's), then every
warning (oversubscribed host, projected figures).

Printed at the end of ``bench`` and by ``endpointlab report --console RUN_DIR``.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from endpointlab.analysis.queueing import describe
from endpointlab.reports import compare, tables
from endpointlab.reports.compare import RunComparison
from endpointlab.results.run_result import RunResult

# The terminal table: short headers for the report's columns (settings and CI left out).
SHORT = {
    "Configuration": "Configuration",
    "Requests": "Req",
    "Error rate": "Err",
    "Throttled (req / attempts)": "Thr",
    "Cold starts": "Cold",
    "p50": "p50",
    "p99": "p99",
    "$ per 1M": "$/1M",
    "$ per month": "$/month",
    "Meets objective": "Meets",
}
SHOWN = [i for i, name in enumerate(tables.CONFIG_HEADER) if name in SHORT]


def name_cell(name: str, flags: list[str]) -> Text:
    text = Text(name)
    for flag in flags:
        style = "cyan" if flag.startswith("projected") else "yellow"
        text.append(f" [{flag}]", style="red" if flag == "differs" else style)
    return text


def recommendation_panel(result: RunResult) -> Panel:
    recommendation = result.recommendation
    if recommendation is None:
        return Panel("This run result carries no recommendation.", title="Recommendation")
    body = Text(recommendation.statement, style="bold")
    for pick in tables.picks(result):
        body.append(f"\n{pick.role}: ")
        body.append_text(name_cell(pick.name, pick.flags))
        body.append(
            f"  p50 {pick.p50}  p99 {pick.p99}  {pick.per_million} per 1M  "
            f"{pick.per_month} per month"
        )
    for reason in recommendation.reasons:
        body.append(f"\n  why: {reason}")
    for change in recommendation.would_change:
        body.append(f"\n  would change: {change}")
    return Panel(body, title="Recommendation", border_style="green", expand=False)


def configurations_table(result: RunResult) -> Table:
    table = Table(
        title="Configurations",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for index in SHOWN:
        header = tables.CONFIG_HEADER[index]
        first = index == 0
        table.add_column(
            SHORT[header],
            justify="left" if first else "right",
            no_wrap=not first,
            min_width=14 if first else None,
        )
    for config, row in zip(result.configurations, tables.configuration_rows(result), strict=True):
        cells = [row.cells[i].replace(" ms", "").replace(" / ", "/") for i in SHOWN]
        name = name_cell(config.name, [])
        name.append(f"\n{config.kind}", style="dim")
        name.append_text(name_cell("", row.flags))
        style = "dim" if row.meets is False else None
        table.add_row(name, *cells[1:], style=style)
    table.caption = "latencies in ms; Thr: throttled requests/attempts; dim rows miss the objective"
    table.caption_justify = "left"
    return table


def print_summary(result: RunResult, console: Console | None = None) -> None:
    """Print the summary of ``result`` (to the terminal unless ``console`` is given)."""
    out = console or Console()
    origin = "projected" if result.origin == "projected" else "measured"
    head = Text(result.plan_name, style="bold")
    head.append(
        f" run {result.run_id} ({origin}, {result.environment.target}): objective "
        f"{tables.objective_text(result)}; traffic {tables.traffic_text(result)}"
    )
    out.print(head)
    out.print(recommendation_panel(result))
    out.print(configurations_table(result))
    for config in result.configurations:
        if config.async_split is not None:
            out.print(Text(f"{config.name}: {describe(config.async_split)}"))
            for finding in config.async_split.findings:
                out.print(Text(f"warning: {config.name}: {finding}", style="yellow"))
    for warning in tables.warnings(result):
        out.print(Text(f"warning: {warning}", style="yellow"))


def print_comparison(comparison: RunComparison, console: Console | None = None) -> None:
    """Print two runs side by side, the differences that matter first."""
    out = console or Console()
    out.print(Text(comparison.title("A")))
    out.print(Text(comparison.title("B")))
    if comparison.differences:
        for line in comparison.differences:
            out.print(Text(f"differs: {line}", style="bold red"))
    else:
        out.print("No difference that matters.", style="green")
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    keep = [i for i, header in enumerate(compare.HEADER) if "CI" not in header]
    for i in keep:
        header = compare.HEADER[i].replace("Error rate", "Err").replace("$ per 1M", "$/1M")
        table.add_column(
            header.replace("Meets A / B", "Meets"),
            justify="left" if i == 0 else "right",
            no_wrap=i != 0,
            min_width=16 if i == 0 else (6 if i == len(compare.HEADER) - 1 else None),
        )
    for row in compare.rows(comparison):
        cells = [row.cells[i].replace(" ms", "").replace(" / ", "/") for i in keep]
        name = Text(cells[0])
        if row.flags:
            name.append("\n").append_text(name_cell("", row.flags))
        table.add_row(name, *cells[1:])
    table.caption = "latencies in ms; Meets: meets the objective in A/B"
    table.caption_justify = "left"
    out.print(table)
