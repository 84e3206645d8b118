"""The image analyses' figures as pure functions of DataFrames (no file read, no model run):
each returns a matplotlib Figure; ``irrepro.tables.save_figure`` writes it.

- ``multiplicity_figure``: Fig. 2 of Heljakka et al.: SVCCA per layer and PM per evaluation
  set against the strategies, one row of panels per regime.
- ``table_figure``: a small table (Table 1) rendered as an image.
- ``hypothesis_figure``: Fig. 3: PM(S), PM(s) and RM(s), min-max scaled, per regime.
- ``confabulation_figure``: Fig. 4: the most confabulated inputs with their label counts.
- ``sheet_figure``: a multiplicity sheet (Ganesh, Fig. 1).
- ``deltas_figure``: Delta_max^all of every intervention, per regime.
- ``selection_figure``: the range left on unforeseen metrics after model selection.

Strategies are drawn on a log axis in their regime's order (learning rates descending,
batch sizes ascending: ``training.REGIMES``).
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from image_experiments.relations import min_max  # noqa: E402
from image_experiments.training import REGIMES  # noqa: E402

ROTATION_PREFIX = "rot"


def regimes_in(frame):
    """The regimes of ``frame`` in REGIMES order (others after them, in order of appearance)."""
    present = list(dict.fromkeys(frame["regime"]))
    return [r for r in REGIMES if r in present] + [r for r in present if r not in REGIMES]


def strategy_order(regime, values):
    """The distinct strategy ``values`` of ``regime`` in its order: learning rates
    descending, batch sizes ascending (as in training.REGIMES)."""
    values = sorted(set(float(v) for v in values))
    first, last = (REGIMES[regime][0], REGIMES[regime][-1]) if regime in REGIMES else (0, 1)
    return values[::-1] if first > last else values


def strategy_axis(ax, regime, values):
    """A log x axis over the strategy values, ticks at each, in the regime's order (the
    learning rate's axis runs from high to low)."""
    values = strategy_order(regime, values)
    ax.set_xscale("log")
    # rotated: on a log axis 3e-3 and 2e-3 sit too close for upright labels
    ax.set_xticks(values, [f"{v:g}" for v in values], fontsize=7, rotation=45, ha="right",
                  rotation_mode="anchor")
    ax.minorticks_off()
    if len(values) > 1 and values[0] > values[-1]:
        ax.invert_xaxis()
    ax.set_xlabel({"lr": "learning rate", "batch": "batch size"}.get(regime, regime))
    ax.grid(True, alpha=0.3)


def _series(frame, metric, ood_set=None):
    rows = frame[frame["metric"] == metric]
    if ood_set is not None:
        rows = rows[rows["ood_set"] == ood_set]
    rows = rows.sort_values("strategy")
    return rows["strategy"].to_numpy(float), rows["value"].to_numpy(float)


def multiplicity_figure(frame, title=""):
    """Fig. 2 for one data set: ``frame`` has columns regime, strategy, ood_set, metric,
    value with metrics 'svcca_cnn', 'svcca_fc1' (on 'test') and 'pm' (per set). Per regime
    three panels: SVCCA per layer; PM on the test set and the non-rotation OOD sets; PM on
    the rotation sets (coloured from the smallest to the largest angle)."""
    regimes = regimes_in(frame)
    fig, axes = plt.subplots(len(regimes), 3, figsize=(14, 3.6 * len(regimes)), squeeze=False)
    sets = list(dict.fromkeys(frame.loc[frame["metric"] == "pm", "ood_set"]))
    rotations = [s for s in sets if s.startswith(ROTATION_PREFIX)]
    others = [s for s in sets if s not in rotations]
    for row, regime in zip(axes, regimes):
        mine = frame[frame["regime"] == regime]
        for metric in sorted(m for m in mine["metric"].unique() if m.startswith("svcca_")):
            row[0].plot(*_series(mine, metric), marker="o", label=metric.split("_", 1)[1])
        row[0].set(ylabel="SVCCA (= -RM)", title=f"{regime}: representations")
        for name in others:
            row[1].plot(*_series(mine, "pm", name), marker="o", label=name,
                        lw=2.2 if name == "test" else 1.2)
        row[1].set(ylabel="PM (std of predictions)", title=f"{regime}: PM, test and OOD")
        colours = plt.cm.viridis(np.linspace(0, 0.95, max(len(rotations), 1)))
        for name, colour in zip(rotations, colours):
            row[2].plot(*_series(mine, "pm", name), marker=".", color=colour, label=name)
        row[2].set(ylabel="PM (std of predictions)", title=f"{regime}: PM, rotations")
        for ax in row:
            strategy_axis(ax, regime, mine["strategy"])
            if ax.lines:
                ax.legend(fontsize=6, ncol=2)
        if not rotations:
            row[2].set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def table_figure(frame, title="", digits=3):
    """``frame`` drawn as a table (numbers rounded to ``digits``; NaN as '-')."""
    def text(value):
        if isinstance(value, (float, np.floating)):
            return "-" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    cells = [[text(v) for v in row] for row in frame.itertuples(index=False)]
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(frame.columns)),
                                    0.6 + 0.28 * (len(frame) + 1)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=[str(c) for c in frame.columns], loc="center",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.2)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


#: Hypothesis 1's curves of PM: column, label, style; one RM(s) curve per layer follows.
HYPOTHESIS_CURVES = (("pm_full", "PM(S), full test set", dict(color="tab:blue", lw=2.5)),
                     ("pm_subset", "PM(s), lowest-PM subset", dict(color="tab:red")))
RM_COLOURS = ("tab:green", "tab:olive", "tab:cyan", "tab:purple")


def hypothesis_curves(frame):
    """HYPOTHESIS_CURVES and an 'RM(s), <layer>' curve (dashed) per rm_subset_<layer> column
    of ``frame``."""
    layers = [c.removeprefix("rm_subset_") for c in frame if c.startswith("rm_subset_")]
    return HYPOTHESIS_CURVES + tuple(
        (f"rm_subset_{layer}", f"RM(s), {layer}", dict(color=RM_COLOURS[i % len(RM_COLOURS)],
                                                        ls="--"))
        for i, layer in enumerate(layers))


def hypothesis_figure(frame, title=""):
    """Fig. 3: per regime, the curves of :func:`hypothesis_curves` of ``frame`` (one row per
    (regime, strategy), raw values) each min-max scaled to [0, 1] across the strategies."""
    regimes = regimes_in(frame)
    curves = hypothesis_curves(frame)
    fig, axes = plt.subplots(1, len(regimes), figsize=(5.5 * len(regimes), 4), squeeze=False)
    for ax, regime in zip(axes[0], regimes):
        mine = frame[frame["regime"] == regime].sort_values("strategy")
        for column, label, style in curves:
            if column in mine:
                ax.plot(mine["strategy"], min_max(mine[column]), marker="o", label=label,
                        **style)
        strategy_axis(ax, regime, mine["strategy"])
        ax.set(ylabel="min-max scaled", title=regime, ylim=(-0.05, 1.05))
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confabulation_figure(frame, images, title="", columns=4):
    """Fig. 4: ``images`` float [n, H, W, C] in [0, 1] in the order of ``frame``'s rows
    (columns input, label, entropy, counts: 'class:count' pairs, most predicted first)."""
    rows = max(1, int(np.ceil(len(frame) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.6 * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, row in zip(axes.ravel(), images, frame.itertuples(index=False)):
        gray = image.shape[-1] == 1
        ax.imshow(image[..., 0] if gray else image, cmap="gray" if gray else None, vmin=0,
                  vmax=1)
        ax.set_title(f"#{row.input} true {row.label}, H={row.entropy:.2f} bits\n"
                     f"{row.counts}", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def sheet_figure(wide, title=""):
    """A multiplicity sheet drawn from :func:`sheets.sheet`'s wide frame (percent); the
    Delta_max row, column and Delta_max^all cell in bold."""
    columns = [c for c in wide.columns if c not in ("regime",)]
    cells, bold = [], []
    for i, row in enumerate(wide.itertuples(index=False)):
        record = row._asdict()
        label = "all" if record["regime"] == "all" else f"{record['regime']} {record['row']}"
        cells.append([label if c == "row" else
                      ("" if np.isnan(record[c]) else f"{record[c]:.2f}") for c in columns])
        if record["row"] in ("delta_max", "delta_max_all"):
            bold.append(i + 1)
    labels = ["strategy", *(c.replace("variant_", "seed ") for c in columns[1:-1]),
              "Δmax"]
    longest = max(len(str(row[0])) for row in cells)
    fig, ax = plt.subplots(figsize=(1.0 * len(columns) + 1 + max(0, longest - 10) / 10,
                                    0.6 + 0.27 * (len(cells) + 1)))
    ax.axis("off")
    # the first column as wide as its longest label (axis names such as 'augmentation')
    first = max(len(str(row[0])) for row in [labels, *cells])
    widths = [max(1.0, first / 14)] + [1.0] * (len(columns) - 1)
    widths = [w / sum(widths) for w in widths]
    table = ax.table(cellText=cells, colLabels=labels, loc="center", cellLoc="center",
                     colWidths=widths)
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (r, c), cell in table.get_celld().items():
        if r in bold or c == len(columns) - 1 or r == 0:
            cell.set_text_props(fontweight="bold")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def deltas_figure(frame, title=""):
    """Delta_max^all (percentage points) of every intervention: ``frame`` has columns
    intervention, regime, delta_max_all; one bar per intervention and regime."""
    regimes = regimes_in(frame)
    names = list(dict.fromkeys(frame["intervention"]))
    width = 0.8 / max(len(regimes), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(names) + 2), 4))
    for i, regime in enumerate(regimes):
        mine = frame[frame["regime"] == regime].set_index("intervention").reindex(names)
        ax.bar(np.arange(len(names)) + i * width, mine["delta_max_all"], width, label=regime)
    ax.set_xticks(np.arange(len(names)) + width * (len(regimes) - 1) / 2, names,
                  rotation=60, ha="right", fontsize=7)
    ax.set(ylabel="Δmax^all (percentage points)", title=title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def selection_figure(frame, title=""):
    """Model selection: per regime, the min-max range (percent) of every unforeseen
    intervention among the models kept at each top_percent level (columns regime,
    top_percent, intervention, min, max)."""
    regimes = regimes_in(frame)
    names = list(dict.fromkeys(frame["intervention"]))
    levels = sorted(frame["top_percent"].unique(), reverse=True)
    fig, axes = plt.subplots(len(regimes), 1, figsize=(max(6, 0.45 * len(names) + 2),
                                                         3.6 * len(regimes)), squeeze=False)
    offsets = np.linspace(-0.25, 0.25, len(levels)) if len(levels) > 1 else [0.0]
    for ax, regime in zip(axes[:, 0], regimes):
        mine = frame[frame["regime"] == regime]
        for i, (offset, level) in enumerate(zip(offsets, levels)):
            rows = mine[mine["top_percent"] == level].set_index("intervention").reindex(names)
            x = np.arange(len(names)) + offset
            ax.vlines(x, rows["min"], rows["max"], lw=3, color=f"C{i}",
                      label="all models" if level == 100 else f"top {level:g}%")
            ax.scatter(np.concatenate([x, x]), np.concatenate([rows["min"], rows["max"]]),
                       marker="_", s=60, color=f"C{i}")
        ax.set_xticks(np.arange(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax.set(ylabel="accuracy under intervention (%)", title=f"{regime}: unforeseen metrics")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
