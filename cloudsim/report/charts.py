"""Charts as static SVG drawn by Matplotlib, inlined in the page (no script, nothing
fetched; the page opens from a file in any browser and prints as it shows).

Matplotlib is the ``report`` extra (``pip install 'cloudsim[report]'``); it is imported
only here and only when a chart is drawn. Series longer than :data:`MAX_POINTS` are
aggregated into that many bins (the mean drawn as the line, the min-max band shaded) and
the chart's caption says so: a year of hourly samples stays a few hundred points a line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cloudsim.report.page import esc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: At most this many points per line; longer series are binned.
MAX_POINTS = 500
EXTRA_HINT = "charts need Matplotlib: pip install 'cloudsim[report]'"

FloatArray = npt.NDArray[np.float64]


class ChartsUnavailable(RuntimeError):
    """Matplotlib is not installed."""

    def __init__(self) -> None:
        super().__init__(EXTRA_HINT)


def require_matplotlib() -> None:
    """Raise :class:`ChartsUnavailable` (saying how to install it) without Matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ChartsUnavailable from None


@dataclass(frozen=True)
class Binned:
    """A series reduced to bins: centre time, mean, min and max; ``per_bin`` samples each
    (1: the series as it was)."""

    t: FloatArray
    mean: FloatArray
    low: FloatArray
    high: FloatArray
    per_bin: int


def binned(t: npt.ArrayLike, y: npt.ArrayLike, max_points: int = MAX_POINTS) -> Binned:
    """Consecutive samples in ``ceil(n / max_points)``-sized bins (time-ordered input)."""
    tt = np.asarray(t, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    n = tt.size
    if n <= max_points:
        return Binned(tt, yy, yy, yy, 1)
    k = -(-n // max_points)
    pad = (-n) % k
    shape = (-1, k)

    def fill(a: FloatArray) -> FloatArray:
        return np.concatenate([a, np.full(pad, np.nan)]).reshape(shape)

    tb, yb = fill(tt), fill(yy)
    with np.errstate(invalid="ignore"):
        return Binned(
            np.nanmean(tb, axis=1),
            np.nanmean(yb, axis=1),
            np.nanmin(yb, axis=1),
            np.nanmax(yb, axis=1),
            k,
        )


def plot_series(ax: Axes, t: npt.ArrayLike, y: npt.ArrayLike, label: str, **style: Any) -> int:
    """A line, binned when long (the min-max band shaded); returns samples per point."""
    b = binned(t, y)
    (line,) = ax.plot(b.t, b.mean, label=shown_label(label), linewidth=1.2, **style)
    if b.per_bin > 1:
        ax.fill_between(b.t, b.low, b.high, color=line.get_color(), alpha=0.18, linewidth=0)
    return b.per_bin


def binning_note(per_bin: int, interval_s: float | None) -> str:
    """What a caption says about binned lines ('' when nothing was binned)."""
    if per_bin <= 1:
        return ""
    span = f" ({per_bin * interval_s / 3600:g} h)" if interval_s else ""
    return (
        f" Aggregated for display: each point is the mean of {per_bin} samples{span}; "
        "the shaded band is their min-max."
    )


_ID = re.compile(r'(\bid="|url\(#|xlink:href="#|href="#)')
_HEADER = re.compile(r"^.*?(?=<svg)", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


@dataclass
class Chart:
    """A chart being drawn: its figure, its caption (a drawing may add to it) and, once
    the ``with`` block is done, its HTML."""

    fig: Figure
    caption: str
    html: str = ""


class Charts:
    """Draws the page's charts; each gets a unique prefix for the ids inside its SVG."""

    def __init__(self) -> None:
        require_matplotlib()
        self.count = 0

    @contextmanager
    def figure(
        self,
        name: str,
        caption: str,
        width: float = 10.0,
        height: float = 3.4,
        time_series: bool = False,
    ) -> Iterator[Chart]:
        """``with charts.figure(name, caption) as chart:`` draw on ``chart.fig``; after the
        block ``chart.html`` is the figure as inline SVG with its caption. Charts over time
        (numbers on both axes, the legend right) take fixed margins: laying them out from
        their text's extent costs about half the drawing time of a report."""
        import matplotlib
        from matplotlib.figure import Figure

        self.count += 1
        prefix = f"c{self.count}-"
        style: Any = {**_STYLE, "svg.hashsalt": prefix}
        with matplotlib.rc_context(style):
            figure = (
                Figure(figsize=(width, height))
                if time_series
                else Figure(figsize=(width, height), layout="constrained")
            )
            chart = Chart(figure, caption)
            yield chart
            if time_series:
                chart.fig.subplots_adjust(
                    left=0.6 / width,
                    right=1 - 2.0 / width,
                    bottom=0.75 / height,
                    top=1 - 0.35 / height,
                    wspace=0.18,
                )
            buffer = io.StringIO()
            chart.fig.savefig(
                buffer,
                format="svg",
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
            )
        svg = _inline(buffer.getvalue(), prefix)
        chart.html = (
            f'<figure class="chart" data-chart="{esc(name)}">{svg}'
            f"<figcaption>{esc(chart.caption)}</figcaption></figure>"
        )


_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    # names are text, never TeX: a '$' in a centre's or system's name is shown as is
    "text.parse_math": False,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


def _inline(svg: str, prefix: str) -> str:
    """Matplotlib's SVG file as an element of the page: no XML header or DOCTYPE, no
    namespace declarations (the HTML parser supplies them; nothing names a web address),
    its style kept to SVG elements, ids prefixed so that two charts never share one."""
    svg = _HEADER.sub("", svg, count=1)
    svg = _NAMESPACES.sub("", svg)
    # Matplotlib's stroke defaults for every element: kept to the charts, not the page
    svg = svg.replace('<style type="text/css">*{', "<style>svg *{", 1)
    return _ID.sub(lambda m: m.group(1) + prefix, svg)


def shown_label(name: str) -> str:
    """A name as a legend label: Matplotlib leaves out labels that start with '_'."""
    return f"\u200b{name}" if name.startswith("_") else name


def log_axes(ax: Axes, x: bool = True, y: bool = False) -> None:
    """Logarithmic axes labelled in plain numbers (the page draws no TeX)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for on, axis, scale in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if on:
            scale("log")
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())


def legend_outside(ax: Axes, entries: int) -> None:
    """A legend right of the axes (several columns when long)."""
    if entries:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=1 + entries // 14)
