"""How representational and predictive multiplicity relate across the strategies of a regime
(Heljakka et al., 2023): Table 1 and Hypothesis 1.

Table 1: the Pearson correlation, across the strategies of one regime, between SVCCA (=
-RM) of a layer and PM on one evaluation set, with the range of SVCCA over the strategies
(Delta SVCCA). Strongly negative values: where representations agree, predictions do too.

Hypothesis 1 (section 3): for each strategy H_i pick a subset s_i of the test set S without
looking at RM (here: the inputs of lowest per-input PM under H_i), and compare how well
RM(s_i) and PM(s_i) predict the full-set PM(S) across the L strategies. The paper defines
E_RM = [c RM(s_i) - c' PM(S)] and E_PM = [c'' PM(s_i) - c' PM(S)] with constants scaling
each measure to 1, and the hypothesis E[E_RM] < E[E_PM] (mean over strategies). Here each
measure is min-max scaled to [0, 1] across the strategies, as in the paper's Fig. 3 (RM is
negative, so dividing by its maximum, as the text's c = 1/max suggests, would flip its
order), and the bracket is read as the absolute difference (signed errors would cancel):

    E_RM = mean_i |mm(RM(s_i)) - mm(PM(S))_i|,   E_PM = mean_i |mm(PM(s_i)) - mm(PM(S))_i|

where mm is the min-max scaling over i. The hypothesis holds when E_RM < E_PM.
"""
import numpy as np
import pandas as pd

from image_experiments.training import REGIMES


def pearson(x, y):
    """Pearson's r of x and y float [n] (pairs with a NaN dropped); NaN with fewer than 2
    pairs or a constant side."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.sum() < 2:
        return np.nan
    x, y = x[finite] - x[finite].mean(), y[finite] - y[finite].mean()
    scale = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / scale) if x.size >= 2 and scale > 0 else np.nan


def table1(frame):
    """Table 1 from Fig. 2's frame (columns dataset, regime, strategy, ood_set, metric,
    value; metrics 'pm' per set, 'svcca_<layer>' on 'test'). One row per (dataset, regime,
    layer, ood_set): ``pearson`` r(SVCCA, PM) across strategies, ``strategies`` (how many
    have both), ``delta_svcca`` (max - min of the layer's SVCCA over the regime)."""
    rows = []
    for (dataset, regime), group in frame.groupby(["dataset", "regime"], sort=False):
        pm = group[group["metric"] == "pm"]
        pm = pm.pivot_table(index="strategy", columns="ood_set", values="value",
                            aggfunc="first")[list(dict.fromkeys(pm["ood_set"]))]
        for metric in sorted(m for m in group["metric"].unique() if m.startswith("svcca_")):
            svcca = group[group["metric"] == metric].set_index("strategy")["value"]
            svcca = svcca.reindex(pm.index)
            spread = svcca.max() - svcca.min()
            for ood_set in pm.columns:
                both = svcca.notna() & pm[ood_set].notna()
                rows.append({"dataset": dataset, "regime": regime,
                             "layer": metric.removeprefix("svcca_"), "ood_set": ood_set,
                             "pearson": pearson(svcca, pm[ood_set]),
                             "strategies": int(both.sum()), "delta_svcca": spread})
    return pd.DataFrame(rows, columns=["dataset", "regime", "layer", "ood_set", "pearson",
                                       "strategies", "delta_svcca"])


def lowest_pm_subset(per_input_pm, size):
    """Indices (sorted) of the ``size`` inputs of lowest per-input PM, float [N]; ties go
    to the lower index."""
    order = np.argsort(np.asarray(per_input_pm), kind="stable")
    return np.sort(order[:size])


def min_max(values):
    """values float [L] scaled to [0, 1] by their min and max (NaN kept); all NaN when
    the finite values do not span a range."""
    values = np.asarray(values, np.float64)
    lo, hi = np.nanmin(values, initial=np.inf), np.nanmax(values, initial=-np.inf)
    if not hi > lo:
        return np.full(values.shape, np.nan)
    return (values - lo) / (hi - lo)


def estimation_errors(rm_subset, pm_subset, pm_full):
    """(E_RM, E_PM) of Hypothesis 1 for L strategies: RM(s_i), PM(s_i) and PM(S), each
    float [L], min-max scaled and compared as in the module docs (strategies where a value
    is NaN are left out). NaN when fewer than 2 strategies remain or a measure is
    constant."""
    rm_subset, pm_subset, pm_full = (np.asarray(v, np.float64)
                                     for v in (rm_subset, pm_subset, pm_full))
    finite = np.isfinite(rm_subset) & np.isfinite(pm_subset) & np.isfinite(pm_full)
    target = min_max(pm_full[finite])
    return tuple(float(np.mean(np.abs(min_max(v[finite]) - target))) if finite.sum() >= 2
                 else np.nan for v in (rm_subset, pm_subset))


def table1_wide(frame):
    """Table 1 of one data set laid out as in the paper: one row per evaluation set, one
    column '<regime> <layer>' of Pearson r per regime and layer (fc1 first), and a last
    row 'Δ SVCCA' with each column's SVCCA range."""
    frame = frame.assign(column=frame["regime"] + " " + frame["layer"])
    layers = sorted(frame["layer"].unique(), key=lambda name: (name != "fc1", name))
    present = list(dict.fromkeys(frame["regime"]))
    regimes = [r for r in REGIMES if r in present] + [r for r in present if r not in REGIMES]
    columns = [f"{regime} {layer}" for layer in layers for regime in regimes]
    sets = list(dict.fromkeys(frame["ood_set"]))
    wide = (frame.pivot_table(index="ood_set", columns="column", values="pearson",
                              aggfunc="first", dropna=False)
            .reindex(index=sets, columns=columns))
    spread = frame.groupby("column")["delta_svcca"].first().reindex(columns)
    wide.loc["Δ SVCCA"] = spread
    return wide.rename_axis(index="set", columns=None).reset_index()
