"""The CSVs of an image report (names in ``image_experiments.report_files``), from the rows
``image_experiments.report`` gathered over the stored units."""
import numpy as np
import pandas as pd

from image_experiments import relations, sheets
from image_experiments import report_files as files
from image_experiments.confabulation import most_confabulated
from image_experiments.figures import regimes_in, strategy_order
from irrepro.tables import write_atomic, write_csv

CONFABULATORS = 16


def write_tables(out, options, fig2, hypothesis, models, pooled, notes):
    """Write every CSV of the module docs (``notes`` gets what could not be computed);
    returns their paths."""
    written = []

    def write(frame, name):
        written.append(out / name)
        write_csv(frame, out / name)

    write(models, files.INTERVENTIONS)
    if not fig2.empty:
        for dataset, frame in fig2.groupby("dataset"):
            write(frame, f"{files.fig2(dataset)}.csv")
        write(relations.table1(fig2), files.TABLE1)
    if not hypothesis.empty:
        for dataset, frame in hypothesis.groupby("dataset"):
            write(frame, f"{files.hypothesis(dataset)}.csv")
            asked = options.subset_size
            if frame["subset"].min() < asked:
                notes.append(f"Hypothesis 1: {dataset} has {frame['test_inputs'].min()} test "
                             f"inputs, so s is the {frame['subset'].min()} lowest-PM ones "
                             f"(half of them) instead of {asked}")
        write(hypothesis_summary(hypothesis), files.HYPOTHESIS_SUMMARY)
    for dataset, found in pooled.items():
        frame, images = confabulators(found)
        write(frame, f"{files.confabulation(dataset)}.csv")
        if images is not None:
            npz = out / f"{files.confabulation(dataset)}.npz"
            write_atomic(npz, lambda tmp, images=images: save_images(tmp, images))
            written.append(npz)
    summaries, selections = [], {}
    for dataset, frame in models.groupby("dataset"):
        for name, rows in frame.groupby("intervention", sort=False):
            wide = sheets.sheet(rows, {regime: strategy_order(
                regime, rows.loc[rows["regime"] == regime, "strategy"])
                for regime in regimes_in(rows)})
            if name in (options.resolve(m) for m in options.metrics):
                write(wide.round(9), f"{files.sheet(dataset, name)}.csv")
            summaries.append(sheets.sheet_summary(wide).assign(dataset=dataset,
                                                               intervention=name))
        selections[dataset] = selection_frame(frame, [options.resolve(m)
                                                      for m in options.select],
                                              options.top_percents, notes)
    for name in dict.fromkeys(options.resolve(m) for m in (*options.metrics, *options.select)):
        if name not in set(models["intervention"]):
            notes.append(f"no intervention '{name}' in these results (known: "
                         f"{', '.join(dict.fromkeys(models['intervention']))})")
    if summaries:
        write(pd.concat(summaries, ignore_index=True)[
            ["dataset", "intervention", "regime", "delta_max_all", "max_delta_seeds",
             "max_delta_strategies"]], files.SHEETS)
    for dataset, frame in selections.items():
        if frame is not None:
            write(frame, f"{files.selection(dataset)}.csv")
    return written


def hypothesis_summary(frame):
    """hypothesis1.csv: per (dataset, regime, layer) E_RM, E_PM, whether E_RM < E_PM, the
    Pearson r of RM(s) and of PM(s) with PM(S), and the subset sizes."""
    rows = []
    for dataset, part in frame.groupby("dataset"):
        for regime in regimes_in(part):
            group = part[part["regime"] == regime]
            for layer in [c.removeprefix("rm_subset_") for c in group
                          if c.startswith("rm_subset_")]:
                rm = group[f"rm_subset_{layer}"]
                e_rm, e_pm = relations.estimation_errors(rm, group["pm_subset"],
                                                         group["pm_full"])
                rows.append({"dataset": dataset, "regime": regime, "layer": layer,
                             "strategies": len(group), "e_rm": e_rm, "e_pm": e_pm,
                             "holds": bool(e_rm < e_pm) if np.isfinite(e_rm + e_pm) else None,
                             "r_rm_subset_pm_full": relations.pearson(rm, group["pm_full"]),
                             "r_pm_subset_pm_full": relations.pearson(group["pm_subset"],
                                                                      group["pm_full"]),
                             "subset": int(group["subset"].min()),
                             "subset_per": group["subset_per"].iloc[0],
                             "rm_inputs_min": int(group["rm_inputs"].min()),
                             "rm_inputs_max": int(group["rm_inputs"].max())})
    return pd.DataFrame(rows)


def save_images(path, images):
    with open(path, "wb") as stream:
        np.savez_compressed(stream, images=images)


def confabulators(found):
    """The confabulation table of one data set from [(probs [k, N, C], labels [N], test set
    or None)] of its units: the CONFABULATORS inputs of highest label entropy over all
    their models, and their images float32 [16, H, W, C] (None when unavailable)."""
    probs = np.concatenate([p for p, _, _ in found])
    index, counts, entropy, pm = most_confabulated(probs, CONFABULATORS)
    labels, test = found[0][1], found[0][2]
    frame = pd.DataFrame({
        "rank": np.arange(1, len(index) + 1), "input": index,
        "label": labels[index], "entropy": entropy, "pm": pm,
        "majority": np.argmax(counts, axis=1), "models": len(probs),
        "counts": [" ".join(f"{c}:{n}" for c, n in sorted(enumerate(row), key=lambda t: -t[1])
                            if n) for row in counts]})
    return frame, None if test is None else test.x[index]


def selection_frame(models, selected, percents, notes):
    """selection-<dataset>.csv of one data set's interventions.csv rows (see
    ``sheets.selection``), per regime; None (with a note) without a selection metric."""
    frames = []
    for regime in regimes_in(models):
        rows = models[models["regime"] == regime]
        values = rows.pivot_table(index=["strategy", "variant"], columns="intervention",
                                  values="value", aggfunc="first")
        values = values[[c for c in dict.fromkeys(rows["intervention"]) if c in values]]
        present = [m for m in selected if m in values.columns]
        if not present:
            notes.append(f"model selection skipped for {regime}: none of "
                         f"{', '.join(selected)} was computed")
            continue
        frames.append(sheets.selection(values, present, percents).assign(
            dataset=rows["dataset"].iloc[0], regime=regime, selected_on=" ".join(present)))
    return pd.concat(frames, ignore_index=True) if frames else None
