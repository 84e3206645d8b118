"""The paper's figures as pure functions of tidy DataFrames (no training, no files read).

- ``pd_figure``: Delta_r against log2 window (top) and against excess loss with log2 window
  labelled at each point (bottom), one curve per configuration (Fig. 2, 6, 8, 10).
- ``timeseries_figure``: a metric against examples seen, one line per configuration and window.
- ``weights_figure``: a pair's learned weights against weight index (Fig. 3), their
  differences (Fig. 4), or one member's against the other's coloured by layer (Fig. 7, 9).
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from irrepro.errors import UserError  # noqa: E402
from irrepro.tables import save_figure  # noqa: E402
from simulator.curves import curve_columns, curve_label, line_style  # noqa: E402
from simulator.results import load_weights_frame  # noqa: E402
from simulator.summary import final_means, read_results  # noqa: E402

#: Candidate offsets (points) of a log2 z label from its point, tried in order.
LABEL_OFFSETS = ((4, 4), (4, -10), (-14, 4), (-14, -10), (4, 12), (-14, -18), (12, -3))


def place_labels(ax, points, texts, colors, fontsize=7):
    """Annotate each point (x, y) with its text at the first offset of LABEL_OFFSETS whose
    box overlaps no label placed before; a label that fits nowhere is left out. Returns the
    annotations placed."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    placed, boxes = [], []
    for (x, y), text, color in zip(points, texts, colors):
        for offset in LABEL_OFFSETS:
            note = ax.annotate(text, (x, y), textcoords="offset points", xytext=offset,
                               fontsize=fontsize, color=color)
            box = note.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(b) for b in boxes):
                boxes.append(box)
                placed.append(note)
                break
            note.remove()
    return placed


def pd_figure(frame):
    """Two panels: Delta_r vs log2 z, and Delta_r vs excess loss with log2 z at each point;
    one curve per configuration, labelled as in the paper, distinct-init curves dashed in
    their identical-init twin's colour, the standard error over pairs as a band (top) and
    error bars (bottom)."""
    means = final_means(frame)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 9))
    colors, labels = {}, []
    for curve, group in means.groupby("curve", sort=False):
        twin, init = group["twin"].iloc[0], group["init"].iloc[0]
        log_z = np.log2(group["window"].to_numpy())
        pd_r, loss = group["relative_pd"].to_numpy(), group["excess_loss"].to_numpy()
        pd_sem = np.nan_to_num(group["relative_pd_sem"].to_numpy())
        loss_sem = np.nan_to_num(group["excess_loss_sem"].to_numpy())
        style = dict(marker="o", ms=4, linestyle=line_style(init), label=curve)
        if twin in colors:
            style["color"] = colors[twin]
        (line,) = top.plot(log_z, pd_r, **style)
        colors.setdefault(twin, line.get_color())
        top.fill_between(log_z, np.maximum(pd_r - pd_sem, pd_r * 1e-3), pd_r + pd_sem,
                         color=line.get_color(), alpha=0.15, linewidth=0)
        bottom.errorbar(loss, pd_r, xerr=loss_sem, yerr=np.minimum(pd_sem, pd_r * 0.999),
                        color=line.get_color(), linestyle=line_style(init), marker="o", ms=4,
                        elinewidth=0.6, capsize=2, label=curve)
        labels += [((x, y), f"{z:g}", line.get_color()) for x, y, z in zip(loss, pd_r, log_z)]
    top.set(xlabel="log2 window z", ylabel="relative PD  $\\Delta_r$", yscale="log")
    bottom.set(xlabel="excess loss L", ylabel="relative PD  $\\Delta_r$", xscale="log",
               yscale="log")
    for ax in (top, bottom):
        ax.grid(True, which="both", alpha=0.3)
    top.legend(fontsize=7, loc="best")
    fig.tight_layout()
    if labels:  # after the layout, so the boxes are those of the final figure
        place_labels(bottom, *zip(*labels))
    return fig


def timeseries_figure(frame, metric="relative_pd"):
    """``metric`` (mean over pairs) against examples seen, one line per curve and window."""
    rows = frame[frame["metric"] == metric]
    if rows.empty:
        raise UserError(f"results hold no metric '{metric}'; known: "
                        f"{', '.join(sorted(frame['metric'].unique()))}")
    columns = curve_columns(rows)
    fig, ax = plt.subplots(figsize=(7, 5))
    for _, group in rows.groupby([*columns, "window"], dropna=False, sort=True):
        series = group.groupby("examples_seen")["value"].mean()
        first = group.iloc[0]
        label = f"{curve_label(first, columns)}, log2 z={np.log2(first['window']):g}"
        ax.plot(series.index, series.to_numpy(), marker=".", label=label,
                linestyle=line_style(first.get("init")))
    ax.set(xscale="log", yscale="log" if (rows["value"] > 0).all() else "linear",
           xlabel="examples seen", ylabel=metric)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


WEIGHT_KINDS = ("index", "diff", "cloud")


def weights_figure(weights, kind="index", pair=0):
    """A figure of pair ``pair``'s weights from a tidy weights frame (see
    ``results.load_weights_frame``): 'index' (both members against weight index, with the
    true theta for linear models), 'diff' (member 1 minus member 0) or 'cloud' (member 1
    against member 0, coloured by layer)."""
    if kind not in WEIGHT_KINDS:
        raise UserError(f"unknown weight figure '{kind}'; choose {', '.join(WEIGHT_KINDS)}")
    rows = weights[weights["pair"] == pair]
    if "component" in rows.columns:  # a mitigation's members: their component 0
        rows = rows[rows["component"] == 0]
    if rows.empty:
        raise UserError(f"no pair {pair} in the weights (pairs 0..{weights['pair'].max()})")
    wide = rows.pivot_table(index=["layer", "tensor", "index"], columns="member",
                            values="value").reset_index()
    a, b = wide[0].to_numpy(), wide[1].to_numpy()
    position = np.arange(len(wide))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if kind == "index":
        ax.plot(position, a, "o", ms=3, label="member 0")
        ax.plot(position, b, "x", ms=3, label="member 1")
        theta = weights.attrs.get("theta")
        if weights.attrs.get("model") == "linear" and theta is not None and theta.ndim == 1:
            ax.plot(np.arange(theta.size), theta, "k_", ms=8, label="true theta")
        ax.set(xlabel="weight index", ylabel="weight")
        ax.legend(fontsize=8)
    elif kind == "diff":
        ax.plot(position, b - a, "o", ms=3)
        ax.set(xlabel="weight index", ylabel="weight difference within the pair")
    else:
        for layer, group in wide.groupby("layer"):
            ax.plot(group[0], group[1], ".", ms=3, label=f"layer {layer}")
        lo, hi = np.nanmin([a.min(), b.min()]), np.nanmax([a.max(), b.max()])
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.5)
        ax.set(xlabel="member 0 parameter", ylabel="member 1 parameter")
        ax.legend(fontsize=8)
    ax.set_title(f"pair {pair}")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def plot_results(results, out=None, kind="pd", metric="relative_pd", echo=print):
    """``simctl plot``: the figure of ``kind`` ('pd', 'remedies' or 'timeseries' of
    ``metric``) from the result CSVs or sweep folders ``results``, written as PNG and PDF
    to ``out`` (a path without extension; default beside the first result). Returns the
    paths."""
    from pathlib import Path

    frame = read_results(results)
    if kind == "remedies":
        from simulator.remedy_plots import remedy_figure

        figure = remedy_figure(frame)
    else:
        figure = pd_figure(frame) if kind == "pd" else timeseries_figure(frame, metric)
    first = Path(results[0])
    stem = out or (first / first.name if first.is_dir() else first.with_suffix(""))
    suffix = {"pd": "", "remedies": "-remedies"}.get(kind, f"-{metric}")
    paths = save_figure(figure, f"{stem}{suffix}")
    echo("wrote " + " and ".join(map(str, paths)))
    return paths


def plot_weights_file(weights, kind="index", pair=0, out=None, echo=print):
    """``simctl plot-weights``: the weight figure of ``kind`` for ``pair`` from a run's saved
    weights (``simctl run --save-weights``), written beside them unless ``out``."""
    from pathlib import Path

    weights = Path(weights)
    figure = weights_figure(load_weights_frame(weights), kind, pair)
    stem = out or weights.with_name(weights.name.removesuffix(".npz") + f"-{kind}-pair{pair}")
    paths = save_figure(figure, stem)
    echo("wrote " + " and ".join(map(str, paths)))
    return paths
