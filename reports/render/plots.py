"""Plots: each a report ``Figure`` (PNG bytes), drawn on matplotlib's Agg
canvas through the object-oriented API — no pyplot, no global figure
registry, no backend switched for whoever else uses matplotlib.

* ``timing`` — one log-log plot per device: gradient time per call against width;
* ``training`` — learning curves against torch.optim.SGD, and test accuracy;
* ``growth`` — the batched numerical oracles' cost against parameters and depth;
* ``taylor`` — the Taylor remainders of every notation and of one catalogued bug.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from io import BytesIO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from backprop_reference.oracles.checks.taylor import plot_remainders
from backprop_reference.reports.model import Figure

# The plots know the report's data model, not its sections: the sections import them.
DEVICE_TITLES = {"cpu": "CPU", "cuda": "GPU (CUDA)"}
TAYLOR_FIGURE = "taylor.png"


# matplotlib's ten default colours, then five dark ones; markers change once the colours run out
PALETTE = tuple(f"C{i}" for i in range(10)) + ("black", "#7f0000", "#005f5f", "#5f5f00", "#3f007f")
MARKERS = "osD^v"


def _png(fig: MplFigure, dpi: int) -> bytes:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    fig.clear()
    return buffer.getvalue()


def _quietly(plot):
    """A glyph DejaVu Sans lacks (vᵀ) sends matplotlib through its fallback fonts, logging a
    "findfont" warning for each one absent — not the reader's concern: silenced while ``plot``
    draws, and the logger's level put back."""

    @functools.wraps(plot)
    def drawn(*args, **kwargs):
        fonts = logging.getLogger("matplotlib.font_manager")
        level = fonts.level
        fonts.setLevel(logging.ERROR)
        try:
            return plot(*args, **kwargs)
        finally:
            fonts.setLevel(level)

    return drawn


def _canvas(size: tuple[float, float]) -> MplFigure:
    fig = MplFigure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _width(row) -> int:
    """w of the network (w, w, w, outputs) a timing row timed."""
    return row.sizes[1]


@_quietly
def timing(rows: list) -> list[Figure]:
    """One log-log PNG per device: time per call against width, one line per
    method, float64 solid and float32 dashed; skipped networks leave no point
    (rows: ``reports.sections.timing.TimingRow``s)."""
    order = list(dict.fromkeys(r.method for r in rows))
    figures = []
    for device in dict.fromkeys(r.device for r in rows):
        measured = [r for r in rows if r.device == device and r.median_s is not None]
        if not measured:
            continue
        fig = _canvas((9.0, 5.6))
        ax = fig.add_subplot()
        colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(order)}
        marks = {m: MARKERS[(i // len(PALETTE)) % len(MARKERS)] for i, m in enumerate(order)}
        for method in order:
            for dtype, style in (("float64", "-"), ("float32", "--")):
                points = sorted((_width(r), r.median_s) for r in measured if r.method == method and r.dtype == dtype)
                if not points:
                    continue
                xs, ys = zip(*points)
                ax.plot(xs, ys, linestyle=style, marker=marks[method], color=colours[method], linewidth=1.5, ms=4)
        # the legend: one entry per method (its colour), then the two line styles
        handles = [Line2D([], [], color=colours[m], marker=marks[m], markersize=4, label=m)
                   for m in order if any(r.method == m for r in measured)]
        handles += [Line2D([], [], color="black", linestyle=style, label=dtype)
                    for dtype, style in (("float64", "-"), ("float32", "--"))]
        batch = measured[0].batch
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        widths = sorted({_width(r) for r in rows if r.device == device})
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.set_xlabel(f"width w (network sizes (w, w, w, {measured[0].sizes[-1]}), tanh/tanh/softmax)")
        ax.set_ylabel("median time per gradient call (s)")
        ax.set_title(f"Gradient time per call on the {DEVICE_TITLES.get(device, device)}, batch {batch}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        name = f"timing_{device}.png"
        figures.append(Figure(
            name=name,
            png=_png(fig, 110),
            caption=f"Median gradient time per call against width on the {DEVICE_TITLES.get(device, device)} "
                    "(log-log); a method stops where its next network was predicted over the budget.",
            alt=f"log-log plot of gradient time per call against network width on the {device}, "
                f"one line per method, float64 solid and float32 dashed",
        ))
    return figures


@_quietly
def training(result) -> Figure:
    """Each notation's trajectory beside torch.optim.SGD's, and test accuracy per epoch
    (result: a ``reports.sections.training.TrainingResult``)."""
    figure = _canvas((10, 4))
    left, right = figure.subplots(1, 2)
    for name, losses in result.curves.items():
        style = dict(color="black", linestyle=":", linewidth=2) if name.startswith("torch") else dict(linewidth=1)
        left.plot(np.arange(1, len(losses) + 1), losses, label=name, **style)
    left.set(xlabel="step", ylabel="mini-batch loss (before the step)", yscale="log", title="Trajectories: documents vs torch")
    left.legend(fontsize=8)
    right.plot(np.arange(1, result.epochs + 1), 100 * np.array(result.epoch_accuracy), marker="o")
    right.set(xlabel="epoch", ylabel="test accuracy (%)", title="64-32-10 on the digits (seed 000's algorithm)")
    right.grid(True, alpha=0.3)
    figure.tight_layout()
    return Figure(
        "training.png", _png(figure, 100),
        "Learning curves: each notation's training against torch.optim.SGD from the same weights and batches; test accuracy per epoch.",
        "learning curves",
    )


GROWTH_FIGURE = "bench_numerical_growth.png"


@_quietly
def growth(rows: list) -> Figure:
    """Two panels — seconds against parameters (width sweep) and against hidden
    layers (depth sweep), log scales, one line per oracle (rows: ``GrowthRow``s or their dicts)."""
    rows = [r if isinstance(r, dict) else asdict(r) for r in rows]
    fig = _canvas((10.0, 4.2))
    for axis, (sweep, x, label) in zip(
        fig.subplots(1, 2), (("width", "parameters", "parameters (widths w of w-w-w-10)"), ("depth", "hidden_layers", "hidden layers of width 64"))
    ):
        for oracle, marker in (("central", "o"), ("complex_step", "s")):
            points = sorted((r[x], r["seconds"]) for r in rows if r["sweep"] == sweep and r["oracle"] == oracle)
            if points:
                axis.plot(*zip(*points), marker=marker, label=oracle.replace("_", " "))
        axis.set_xscale("log" if sweep == "width" else "linear")
        if sweep == "depth":
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_yscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("seconds per full gradient")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    batch = {r["batch"] for r in rows}
    fig.suptitle(f"Batched numerical oracles, float64, batch {', '.join(map(str, sorted(batch)))}")
    fig.tight_layout()
    return Figure(
        name=GROWTH_FIGURE,
        png=_png(fig, 110),
        caption="Seconds per full numerical gradient against parameter count (width sweep) and depth.",
        alt="Two log-scale panels: seconds per gradient of central differences and the complex step, against parameters and against hidden layers.",
    )


@_quietly
def taylor(curves: list) -> Figure | None:
    """One log-log plot: r(h) of every notation and of the bug (None when no curve has a result;
    curves: ``reports.sections.taylor.TaylorCurve``s)."""
    drawn = [(f"{c.row.gradient}{' (bug)' if c.row.kind == 'bug' else ''}", c.result) for c in curves if c.result is not None]
    if not drawn:
        return None
    return _remainder_figure(
        drawn, TAYLOR_FIGURE, "Taylor remainder r(h) = |E(θ + hv) − E(θ) − h vᵀg|: right gradients fall as h², a wrong one as h",
        "one line per notation and one for the catalogued bug",
        "one line per notation falling with slope 2 and one for a wrong gradient falling with slope 1",
    )


def _remainder_figure(curves: list, name: str, title: str, lines: str, alt_lines: str) -> Figure:
    """Taylor remainders of ``curves`` ((label, TaylorResult)) on one log-log plot."""
    fig = _canvas((9.0, 5.6))
    axes = fig.add_subplot()
    plot_remainders(axes, curves)
    axes.set_title(title)
    fig.tight_layout()
    return Figure(
        name, _png(fig, 110),
        f"Taylor remainders against the step h (log-log), {lines}; thick, shaded: the steps each order was fitted over; "
        "dashed: slopes ∝ h and ∝ h².",
        f"log-log plot of the first-order Taylor remainder against the step, {alt_lines}",
    )


HEATMAP_FIGURE = "heatmap.png"


@_quietly
def heatmap(rows: list[str], columns: list[str], ratios: list[list[float | None]], *, name: str = HEATMAP_FIGURE, what: str = "check") -> Figure:
    """Checks × oracles, colour = log10(worst error ÷ tolerance): below 0 agrees, above
    fails; an empty cell (grey) is an oracle that did not judge that check."""
    values = np.array([[np.nan if r is None else np.log10(max(r, 1e-6)) for r in row] for row in ratios], dtype=float)
    label = max((len(r) for r in rows), default=0)
    fig = _canvas((min(3.5 + 1.0 * len(columns) + 0.085 * label, 18.0), min(2.0 + 0.42 * len(rows), 24.0)))
    axes = fig.add_subplot()
    colours = axes.imshow(np.ma.masked_invalid(values), cmap="RdYlGn_r", vmin=-6, vmax=6, aspect="auto")
    axes.set_facecolor("#dddddd")
    axes.set_xticks(range(len(columns)), labels=columns, rotation=30, ha="right")
    axes.set_yticks(range(len(rows)), labels=rows)
    for i, row in enumerate(ratios):
        for j, r in enumerate(row):
            if r is not None:
                axes.text(j, i, f"{r:.0e}" if r else "0", ha="center", va="center", fontsize=7)
    bar = fig.colorbar(colours, ax=axes)
    bar.set_label("log10(error ÷ tolerance)")
    axes.set_title("worst error ÷ tolerance (> 1 fails)")
    fig.tight_layout()
    return Figure(
        name, _png(fig, 100),
        f"Each {what} against each oracle: the worst element's error divided by the oracle's tolerance (log colour "
        f"scale; green agrees, red fails at > 1; grey: the oracle did not judge it).",
        f"heatmap of {what} against oracles coloured by worst error over tolerance on a log scale",
    )


REMAINDERS_FIGURE = "taylor_checks.png"


@_quietly
def remainders(curves: list[tuple[str, object]], *, name: str = REMAINDERS_FIGURE) -> Figure:
    """One log-log plot of the Taylor remainders of ``curves`` ((label, TaylorResult)), one line per check."""
    return _remainder_figure(curves, name, "Taylor remainder r(h): right gradients fall as h², a wrong one as h",
                             "one line per check", "one line per check")
