"""The look shared by every plot: figure defaults, colours, hover, legends that toggle series.

Plots are Bokeh figures embedded with Bokeh's inline resources, so a report opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bokeh.models import ColumnDataSource, HoverTool, Model
from bokeh.models.annotations import Label, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

TOOLS = "pan,box_zoom,wheel_zoom,reset,save"
PERCENTILES = ("min", "p50", "p90", "p95", "p99", "p99_9", "max")
PERCENTILE_LABELS = ("min", "p50", "p90", "p95", "p99", "p99.9", "max")
OBJECTIVE_COLOUR = "#d62728"


@dataclass(frozen=True)
class Plot:
    """One plot of a report: ``name`` is its root's name in the page template."""

    name: str
    title: str
    caption: str
    model: Model


def colour(index: int) -> str:
    return str(Category10_10[index % len(Category10_10)])


def new_figure(
    name: str,
    title: str,
    *,
    x_label: str,
    y_label: str,
    y_log: bool = False,
    x_log: bool = False,
    x_range: Any = None,
    height: int = 340,
) -> figure:
    options: dict[str, Any] = {}
    if x_range is not None:
        options["x_range"] = x_range
    fig = figure(
        name=name,
        title=title,
        height=height,
        sizing_mode="stretch_width",
        tools=TOOLS,
        toolbar_location="above",
        y_axis_type="log" if y_log else "linear",
        x_axis_type="log" if x_log else ("auto" if x_range is not None else "linear"),
        **options,
    )
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = y_label
    return fig


def hover(fig: figure, renderers: Sequence[Any], tooltips: list[tuple[str, str]]) -> None:
    """Show ``tooltips`` when the pointer is over one of ``renderers``."""
    if renderers:
        fig.add_tools(HoverTool(renderers=list(renderers), tooltips=tooltips))


def source(**columns: Sequence[Any]) -> ColumnDataSource:
    return ColumnDataSource(data={key: list(values) for key, values in columns.items()})


def objective_line(
    fig: figure, value: float, text: str, *, dimension: Literal["width", "height"] = "width"
) -> None:
    """A dashed line at the objective (or any threshold), labelled on the plot."""
    fig.add_layout(
        Span(
            location=value,
            dimension=dimension,
            line_color=OBJECTIVE_COLOUR,
            line_dash="dashed",
            line_width=2,
        )
    )
    if dimension == "width":
        place: dict[str, Any] = {"x": 5, "y": value, "x_units": "screen"}
    else:
        place = {"x": value, "y": 5, "y_units": "screen", "angle": 1.5708}
    fig.add_layout(Label(text=text, text_color=OBJECTIVE_COLOUR, text_font_size="11px", **place))
    _keep_in_range(fig, value, dimension)


def _keep_in_range(fig: figure, value: float, dimension: str) -> None:
    """An invisible point at the line, so the automatic range (which ignores lines) shows it."""
    for renderer in fig.renderers:
        data = getattr(getattr(renderer, "data_source", None), "data", {})
        xs, ys = data.get("x"), data.get("y", data.get("p99"))
        if xs is not None and ys is not None and len(xs) and len(ys):
            x, y = (xs[0], value) if dimension == "width" else (value, ys[0])
            fig.scatter(x=[x], y=[y], alpha=0, size=1)
            return


def finish(fig: figure) -> figure:
    """Legends outside the plot area, a click on an entry hides its series."""
    if fig.legend:
        legend = fig.legend[0]
        legend.click_policy = "hide"
        legend.label_text_font_size = "11px"
        legend.spacing = 0
        fig.add_layout(legend, "right")
    return fig
