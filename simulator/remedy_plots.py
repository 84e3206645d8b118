"""The mitigation figure: PD against excess loss and against compute, one curve per remedy.

A pure function of a tidy results frame (``simctl plot --kind remedies``). One row of panels
per model; left: relative PD against excess loss, right: relative PD against compute (the
model-examples trained for one deployed member, in units of the setting's own model, see
``mitigations.model_examples``); each point is one window, labelled with its log2 z; standard
errors over pairs as error bars.
"""
import numpy as np
from matplotlib.ticker import NullFormatter

from irrepro.errors import UserError
from simulator.config import Setting
from simulator.curves import line_style, model_name
from simulator.mitigations import model_examples
from simulator.plots import place_labels, plt
from simulator.results import SETTING_COLUMNS
from simulator.summary import final_means

INTEGER_COLUMNS = {"window", "pairs", "examples", "eval_examples", "seed", "warm_examples",
                   "members", "checkpoints"}


def setting_of(row):
    """The Setting of one row of results (empty cells take the defaults)."""
    params = {}
    for name in [*SETTING_COLUMNS, "mitigation", "members", "mitigation_weight",
                 "temperature", "equal_flops"]:
        value = row.get(name)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if name in INTEGER_COLUMNS:
            value = int(value)
        if name == "equal_flops":
            value = str(value) == "True"
        params[name] = value
    return Setting(**params)


def remedy_figure(frame):
    """PD vs excess loss (left) and vs compute (right) per model (rows)."""
    means = final_means(frame)
    if "model" not in means.columns:
        raise UserError("results lack the column 'model'; give CSVs written by simctl")
    means["compute"] = [model_examples(setting_of(row), setting_of(row).examples)
                        for _, row in means.iterrows()]
    models = list(dict.fromkeys(means["model"]))
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 4.5 * len(models)), squeeze=False)
    labels = {ax: [] for ax in axes.ravel()}
    for (left, right), model in zip(axes, models):
        rows = means[means["model"] == model]
        for curve, group in rows.groupby("twin", sort=False):
            group = group.sort_values("window")
            pd_r = group["relative_pd"].to_numpy()
            pd_sem = np.minimum(np.nan_to_num(group["relative_pd_sem"].to_numpy()), pd_r * 0.999)
            style = dict(marker="o", ms=4, linestyle=line_style(group["init"].iloc[0]),
                         elinewidth=0.6, capsize=2, label=curve)
            bars = left.errorbar(group["excess_loss"], pd_r, yerr=pd_sem,
                                 xerr=np.nan_to_num(group["excess_loss_sem"].to_numpy()),
                                 **style)
            color = bars.lines[0].get_color()
            right.errorbar(group["compute"], pd_r, yerr=pd_sem, color=color, **style)
            z = np.log2(group["window"].to_numpy())
            for ax, x in ((left, group["excess_loss"]), (right, group["compute"])):
                labels[ax] += [((a, b), f"{c:g}", color) for a, b, c in zip(x, pd_r, z)]
        left.set(xlabel="excess loss L", ylabel="relative PD  $\\Delta_r$", xscale="log",
                 yscale="log", title=f"model {model_name(model)}")
        right.set(xlabel="compute per deployed member (model-examples)",
                  ylabel="relative PD  $\\Delta_r$", xscale="log", yscale="log",
                  title=f"model {model_name(model)}")
        left.legend(fontsize=7, loc="best")
    for ax in axes.ravel():
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_minor_formatter(NullFormatter())  # a narrow log range: major ticks only
    fig.tight_layout()
    for ax, items in labels.items():
        if items:
            place_labels(ax, *zip(*items))
    return fig
