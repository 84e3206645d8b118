"""One line of reading per figure of the image report, computed from the figure's frame:
pure functions from DataFrames to markdown text (used by image_experiments.render)."""
import numpy as np

from image_experiments.figures import regimes_in, strategy_order


def number(value, digits=3):
    """A value for prose: 3 significant digits, '-' for NaN."""
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}g}"


def markdown_table(frame, digits=3):
    """``frame`` as a GitHub markdown table (floats to ``digits`` decimals, NaN as '-')."""
    def cell(value):
        if isinstance(value, (float, np.floating)):
            return "-" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _ends(frame, regime, metric, ood_set):
    """(first strategy, its value, last strategy, its value) of a metric in regime order."""
    rows = frame[(frame["regime"] == regime) & (frame["metric"] == metric)
                 & (frame["ood_set"] == ood_set)].set_index("strategy")["value"]
    order = [s for s in strategy_order(regime, rows.index) if np.isfinite(rows[s])]
    if not order:
        return None
    return order[0], rows[order[0]], order[-1], rows[order[-1]]


def multiplicity_reading(frame):
    """Fig. 2: per regime, how PM on test and SVCCA of fc1 change from the first strategy
    to the last (in the regime's order)."""
    lines = []
    for regime in regimes_in(frame):
        pm, svcca = (_ends(frame, regime, "pm", "test"),
                     _ends(frame, regime, "svcca_fc1", "test"))
        if pm is None:
            continue
        text = (f"{regime}: PM on test goes from {number(pm[1])} at {regime}={pm[0]:g} to "
                f"{number(pm[3])} at {regime}={pm[2]:g}")
        if svcca is not None:
            text += (f"; SVCCA (fc1) from {number(svcca[1])} to {number(svcca[3])}")
        ood = frame[(frame["regime"] == regime) & (frame["metric"] == "pm")
                    & (frame["ood_set"] != "test")]
        if not ood.empty:
            worst = ood.groupby("ood_set")["value"].mean().idxmax()
            text += f"; the OOD set with the highest mean PM is {worst}"
        lines.append(text + ".")
    return lines


def caution(frame):
    """At most one line quoting the first of the cautions in ``frame``'s 'note' column
    (e.g. SVCCA's warning of too few data points per neuron) and how many rows carry one."""
    notes = [note for note in frame.get("note", []) if isinstance(note, str) and note]
    if not notes:
        return []
    return [f"Caution ({len(notes)} of {len(frame)} rows): {notes[0]}"]


def table1_reading(frame):
    """Table 1: per regime, on how many sets r(SVCCA fc1, PM) is negative, and its
    median."""
    lines = []
    for regime in regimes_in(frame):
        rows = frame[(frame["regime"] == regime) & (frame["layer"] == "fc1")]
        r = rows.loc[rows["ood_set"] != "test", "pearson"].dropna()
        if rows.empty:
            continue
        strategies = int(rows["strategies"].max())
        text = (f"{regime} ({strategies} strategies): r(SVCCA fc1, PM) < 0 on {(r < 0).sum()} "
                f"of {len(r)} OOD sets, median {number(r.median() if len(r) else np.nan)}, "
                f"Δ SVCCA {number(rows['delta_svcca'].iloc[0])}")
        if strategies < 3:
            text += " (with 2 strategies r is ±1 by construction)"
        lines.append(text + ".")
    return lines


def hypothesis_reading(summary):
    """Hypothesis 1: per regime and layer, E_RM against E_PM and the verdict."""
    lines = []
    for row in summary.itertuples(index=False):
        if not np.isfinite(row.e_rm) or not np.isfinite(row.e_pm):
            verdict = "cannot be tested (fewer than 2 strategies or a constant measure)"
        else:
            verdict = "holds" if row.e_rm < row.e_pm else "does not hold"
            if row.strategies < 3:
                verdict += " (only 2 strategies: every scaled value is 0 or 1)"
        used = (f"{row.intersection_min}" if row.intersection_min == row.intersection_max
                else f"{row.intersection_min}-{row.intersection_max}")
        lines.append(f"{row.regime}, {row.layer}: E_RM = {number(row.e_rm)}, E_PM = "
                     f"{number(row.e_pm)}: Hypothesis 1 {verdict}; s = {row.subset} "
                     f"lowest-PM test inputs, RM(s) on the {used} of them with stored "
                     f"activations; r(RM(s), PM(S)) = "
                     f"{number(row.r_rm_subset_pm_full)}, r(PM(s), PM(S)) = "
                     f"{number(row.r_pm_subset_pm_full)}.")
    return lines


def confabulation_reading(frame):
    """Fig. 4: the entropy range of the most confabulated inputs and how many the majority
    of models gets wrong."""
    wrong = int((frame["majority"] != frame["label"]).sum())
    return [f"The {len(frame)} most confabulated test inputs have predicted-label entropy "
            f"{number(frame['entropy'].min())} to {number(frame['entropy'].max())} bits over "
            f"{frame['models'].iloc[0]} models; the majority label is wrong for {wrong} of "
            "them."]


def sheet_reading(wide, name):
    """A multiplicity sheet: Delta_max^all and where the largest row and column Delta_max
    are (in percentage points)."""
    total = wide.loc[wide["regime"] == "all", "delta_max"].iloc[0]
    values = wide[~wide["row"].isin(["delta_max", "delta_max_all"])]
    across = wide[wide["row"] == "delta_max"]
    columns = [c for c in wide.columns if c.startswith("variant_")]
    text = f"{name}: Δmax^all = {number(total)} pp"
    if values["delta_max"].notna().any():
        seeds = values.loc[values["delta_max"].idxmax()]
        text += (f"; largest across seeds {number(seeds['delta_max'])} pp "
                 f"({seeds['regime']} {seeds['row']})")
    stacked = across.set_index("regime")[columns].stack()
    if not stacked.empty and stacked.notna().any():
        (regime, column), value = stacked.idxmax(), stacked.max()
        text += (f"; largest across strategies {number(value)} pp ({regime}, "
                 f"{column.replace('variant_', 'seed ')})")
    return [text + "."]


def deltas_reading(frame):
    """Delta_max^all of every intervention: the largest and the smallest, per regime."""
    lines = []
    for regime in regimes_in(frame):
        rows = frame[frame["regime"] == regime].dropna(subset=["delta_max_all"])
        if rows.empty:
            continue
        top, low = rows.loc[rows["delta_max_all"].idxmax()], rows.loc[
            rows["delta_max_all"].idxmin()]
        accuracy = rows.loc[rows["intervention"] == "accuracy", "delta_max_all"]
        lines.append(f"{regime}: the largest Δmax^all is {top['intervention']} "
                     f"({number(top['delta_max_all'])} pp), the smallest {low['intervention']} "
                     f"({number(low['delta_max_all'])} pp); plain accuracy "
                     f"{number(accuracy.iloc[0] if len(accuracy) else np.nan)} pp.")
    return lines


def selection_reading(frame):
    """Model selection: per regime and level, models kept and the median and largest
    spread left on the unforeseen metrics."""
    lines = []
    for regime in regimes_in(frame):
        rows = frame[frame["regime"] == regime]
        parts = []
        for level, group in rows.groupby("top_percent", sort=False):
            worst = group.loc[group["spread"].idxmax()] if group["spread"].notna().any() else None
            part = (f"{'all' if level == 100 else f'top {level:g}%'}: "
                    f"{group['models_kept'].iloc[0]} of {group['models'].iloc[0]} models, "
                    f"median spread {number(group['spread'].median())} pp")
            if worst is not None:
                part += f" (largest {worst['intervention']}, {number(worst['spread'])} pp)"
            parts.append(part)
        lines.append(f"{regime}, selected on {rows['selected_on'].iloc[0]}: "
                     + "; ".join(parts) + ".")
    return lines
