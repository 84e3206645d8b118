"""Accuracy under intervention, multiplicity sheets and model selection (Ganesh, 2023).

Every trustworthiness metric becomes an accuracy under an intervention, so that they share
one scale. Interventions computed from stored predictions probs float [K, N, C] (K models,
N inputs, C classes) and labels int [N]:

  accuracy      plain test accuracy
  class_<c>     group accuracy: accuracy on the test inputs of class c
  worst_class   the lowest class accuracy of each model (its worst-served group)
  ood_<set>     accuracy on an OOD set (robustness; no further intervention)
  noise_<rate>  accuracy under output perturbation (privacy): every class probability gets
                independent exponential noise lambda * Exp(1) (mean lambda: Ganesh's Fig. 6,
                a larger rate parameter perturbs more; image_experiments.interventions)
                before the argmax. The noise is drawn once per experiment seed and shared
                by all models, so their differences are not noise
  pgd_<budget>  accuracy under an L-infinity PGD attack of that budget (security; see
                image_experiments.attacks: it runs the models, the others do not)

A multiplicity sheet (Ganesh, Fig. 1) tabulates one intervention's accuracy (in percent)
over strategies (rows) x seed variants (columns), one table per regime, with Delta_max =
max - min across each row (seeds) and each column (strategies), and Delta_max^all = max -
min over every value of the sheet.

Model selection (Ganesh, section 4): keep the models ranked in the top k% of every chosen
metric, and measure the spread (max - min) left on the other, "unforeseen" metrics.
"""
import math

import numpy as np
import pandas as pd

from image_experiments import multiplicity as mm
from irrepro.streams import Role, rng_for


def class_accuracy(probs, labels, classes):
    """Accuracy of each model on the inputs of each class: float [K, classes], NaN for a
    class without inputs."""
    labels = np.asarray(labels)
    correct = np.argmax(probs, axis=-1) == labels[None]  # [K, N]
    out = np.full((len(correct), classes), np.nan)
    for c in range(classes):
        members = labels == c
        if members.any():
            out[:, c] = correct[:, members].mean(axis=1)
    return out


def worst_class_accuracy(probs, labels, classes):
    """The lowest class accuracy of each model: float [K]."""
    return np.nanmin(class_accuracy(probs, labels, classes), axis=1)


def standard_noise(shape, seed):
    """Exponential noise Exp(1) for predictions of ``shape`` (N, C), from the fixed
    stream of experiment ``seed``: float64 [N, C]. Times lambda for rate parameter lambda
    in Ganesh's reading (see :func:`noise_accuracy`)."""
    return rng_for(seed, Role.NOISE).standard_exponential(shape)


def noise_accuracy(probs, labels, rate, seed):
    """Accuracy of each model, float [K], when every class probability of probs [K, N, C]
    gets the same exponential noise of rate parameter ``rate`` = lambda, which Ganesh's
    Fig. 6 makes grow with lambda: lambda * :func:`standard_noise` (mean lambda)."""
    probs = np.asarray(probs, np.float64)
    noise = standard_noise(probs.shape[1:], seed) * rate
    return mm.accuracy(probs + noise[None], labels)


def intervention_name(kind, parameter=None):
    """'accuracy', 'class_3', 'ood_xflip', 'noise_5', 'pgd_0.01': the column name of an
    intervention (numbers in shortest form)."""
    if parameter is None:
        return kind
    text = f"{parameter:g}" if isinstance(parameter, (int, float)) else str(parameter)
    return f"{kind}_{text}"


def delta_max(values):
    """max - min of the finite values (NaN when there are none)."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    return float(values.max() - values.min()) if values.size else np.nan


def sheet(frame, order):
    """The multiplicity sheet of one intervention: ``frame`` has columns regime, strategy,
    variant and value (accuracy in [0, 1], one row per model); ``order`` maps each regime
    to its strategies in display order. Returns a wide DataFrame in percent: per regime
    one row per strategy (``row`` = the strategy value as text) with a column per variant
    (``variant_<k>``) and ``delta_max`` across the row, then a ``delta_max`` row across
    each column; last, the row ``regime='all', row='delta_max_all'``."""
    variants = sorted(frame["variant"].unique())
    columns = [f"variant_{k}" for k in variants]
    blocks = []
    for regime, strategies in order.items():
        mine = frame[frame["regime"] == regime]
        if mine.empty:
            continue
        grid = (mine.pivot_table(index="strategy", columns="variant", values="value",
                                 aggfunc="first")
                .reindex(index=[s for s in strategies if s in set(mine["strategy"])],
                         columns=variants) * 100)
        grid.columns = columns
        block = grid.reset_index(drop=True)
        block.insert(0, "row", [f"{s:g}" if isinstance(s, (int, float, np.number)) else str(s)
                                for s in grid.index])  # axis values may be names
        block["delta_max"] = [delta_max(row) for row in grid.to_numpy()]
        across = {c: delta_max(grid[c]) for c in columns}
        block = pd.concat([block, pd.DataFrame([{"row": "delta_max", **across}])],
                          ignore_index=True)
        block.insert(0, "regime", regime)
        blocks.append(block)
    everything = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
    total = delta_max(frame["value"] * 100)
    final = pd.DataFrame([{"regime": "all", "row": "delta_max_all", "delta_max": total}])
    return pd.concat([everything, final], ignore_index=True)[
        ["regime", "row", *columns, "delta_max"]]


def top_percent(values, percent):
    """Which of the models (rows of ``values``, a DataFrame with one column per metric,
    higher = better) rank in the top ``percent`` % of every column: bool [models]. Rank 1
    is the best; ties share the best rank; a model is kept when its rank is at most
    ceil(percent/100 x models) in each column. A missing value is never kept."""
    keep = np.ones(len(values), bool)
    allowed = math.ceil(percent / 100 * len(values))
    for column in values.columns:
        ranks = values[column].rank(ascending=False, method="min")
        keep &= (ranks <= allowed).to_numpy() & values[column].notna().to_numpy()
    return keep


def selection(values, selected, percents):
    """Spread left on the unforeseen metrics after model selection. ``values``: one row per
    model, one column per metric (accuracies in [0, 1]); ``selected``: the columns models
    are selected on; ``percents``: the top-k% levels (100 = no selection is always
    included). Returns one row per (top_percent, unforeseen metric): models_kept, models,
    min, max and spread (max - min), all in percent."""
    unforeseen = [c for c in values.columns if c not in selected]
    rows = []
    for percent in sorted({100, *percents}, reverse=True):
        kept = values[top_percent(values[list(selected)], percent)]
        for metric in unforeseen:
            column = kept[metric] * 100
            rows.append({"top_percent": percent, "intervention": metric,
                         "models_kept": len(kept), "models": len(values),
                         "min": column.min(), "max": column.max(),
                         "spread": delta_max(column)})
    return pd.DataFrame(rows, columns=["top_percent", "intervention", "models_kept", "models",
                                       "min", "max", "spread"])


def sheet_summary(wide):
    """The second and third levels of a sheet (:func:`sheet`'s wide frame), one row per
    regime: ``delta_max_all`` over that regime's values, ``max_delta_seeds`` (the largest
    Delta_max across the seeds of one strategy) and ``max_delta_strategies`` (the largest
    across the strategies of one seed); then the row regime 'all' (the sheet's
    Delta_max^all)."""
    columns = [c for c in wide.columns if c.startswith("variant_")]
    rows = []
    for regime, block in wide[wide["regime"] != "all"].groupby("regime", sort=False):
        values = block[block["row"] != "delta_max"]
        across = block[block["row"] == "delta_max"]
        rows.append({"regime": regime,
                     "delta_max_all": delta_max(values[columns].to_numpy()),
                     "max_delta_seeds": values["delta_max"].max(),
                     "max_delta_strategies": across[columns].max(axis=1).max()})
    rows.append({"regime": "all",
                 "delta_max_all": wide.loc[wide["regime"] == "all", "delta_max"].iloc[0]})
    return pd.DataFrame(rows, columns=["regime", "delta_max_all", "max_delta_seeds",
                                       "max_delta_strategies"])
