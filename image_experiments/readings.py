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


def trend(frame, regime, metric, ood_set="test"):
    """What the bootstrap intervals (ci_low, ci_high) say about a metric along the regime's
    order: 'falls monotonically' / 'rises monotonically' only where every interval lies
    wholly below (above) the one before; 'falls (rises) from first to last' where only the
    ends' intervals are apart; else that the intervals do not resolve a trend. '' without
    intervals."""
    if "ci_low" not in frame:
        return ""
    rows = frame[(frame["regime"] == regime) & (frame["metric"] == metric)
                 & (frame["ood_set"] == ood_set)].set_index("strategy")
    order = [s for s in strategy_order(regime, rows.index)
             if np.isfinite(rows.loc[s, "ci_low"]) and np.isfinite(rows.loc[s, "ci_high"])]
    if len(order) < 2:
        return ""
    low, high = rows.loc[order, "ci_low"].to_numpy(), rows.loc[order, "ci_high"].to_numpy()
    if (high[1:] < low[:-1]).all():
        return "falls monotonically (each 95% interval below the one before)"
    if (low[1:] > high[:-1]).all():
        return "rises monotonically (each 95% interval above the one before)"
    if high[-1] < low[0]:
        return ("falls from first to last (their 95% intervals apart), not monotonically "
                "within the intervals")
    if low[-1] > high[0]:
        return ("rises from first to last (their 95% intervals apart), not monotonically "
                "within the intervals")
    return "has no trend the 95% intervals resolve (first and last overlap)"


def reading_layer(layers):
    """The layer a reading quotes among ``layers``: 'fc1', the paper's, when there; else
    the last (a user's model lists its layers input first); None when there is none."""
    layers = list(layers)
    return "fc1" if "fc1" in layers else (layers[-1] if layers else None)


def multiplicity_reading(frame):
    """Fig. 2: per regime, how PM on test and SVCCA of one layer (:func:`reading_layer`)
    change from the first strategy to the last (in the regime's order), and what the
    bootstrap intervals say of it."""
    lines = []
    layer = reading_layer(m.removeprefix("svcca_") for m in dict.fromkeys(frame["metric"])
                          if m.startswith("svcca_") and not m.endswith("_keep1"))
    for regime in regimes_in(frame):
        pm, svcca = (_ends(frame, regime, "pm", "test"),
                     _ends(frame, regime, f"svcca_{layer}", "test"))
        if pm is None:
            continue
        text = (f"{regime}: PM on test goes from {number(pm[1])} at {regime}={pm[0]:g} to "
                f"{number(pm[3])} at {regime}={pm[2]:g}")
        said = trend(frame, regime, "pm")
        text += f" and {said}" if said else ""
        if svcca is not None:
            text += (f"; SVCCA ({layer}) from {number(svcca[1])} to {number(svcca[3])}")
            said = trend(frame, regime, f"svcca_{layer}")
            text += f" and {said}" if said else ""
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
    """Table 1: per regime, on how many sets r(SVCCA, PM) of one layer
    (:func:`reading_layer`) is negative, and its median."""
    lines = []
    layer = reading_layer(dict.fromkeys(frame["layer"]))
    for regime in regimes_in(frame):
        rows = frame[(frame["regime"] == regime) & (frame["layer"] == layer)]
        r = rows.loc[rows["ood_set"] != "test", "pearson"].dropna()
        if rows.empty:
            continue
        strategies = int(rows["strategies"].max())
        text = (f"{regime} ({strategies} strategies): r(SVCCA {layer}, PM) < 0 on {(r < 0).sum()} "
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
        used = (f"{row.rm_inputs_min}" if row.rm_inputs_min == row.rm_inputs_max
                else f"{row.rm_inputs_min}-{row.rm_inputs_max}")
        chosen = ("one s for the whole data set, the inputs of lowest PM averaged over its "
                  "strategies (Fig. 3)" if row.subset_per == "dataset"
                  else "each strategy its own s_i")
        where = ("all of them" if row.rm_inputs_min == row.rm_inputs_max == row.subset
                 else f"the {used} of them with stored activations")
        lines.append(f"{row.regime}, {row.layer}: E_RM = {number(row.e_rm)}, E_PM = "
                     f"{number(row.e_pm)}: Hypothesis 1 {verdict}; s = {row.subset} "
                     f"lowest-PM test inputs, {chosen}; RM(s) on {where}; r(RM(s), PM(S)) = "
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


def protocol_reading(frame):
    """Risk equivalence as measured: per regime the spread (max - min) of the checkpoint
    accuracies of each strategy, and the strategies short of K, whose PM is over fewer
    variants and so not comparable with the others'."""
    lines = []
    for regime in regimes_in(frame):
        rows = frame[frame["regime"] == regime]
        spread = rows.loc[rows["metric"] == "accuracy_spread", "value"]
        if len(spread):
            lines.append(f"{regime}: checkpoint test accuracies spread {100 * spread.min():.2g}"
                         f"-{100 * spread.max():.2g} pp (max - min over a strategy's variants)"
                         f" across its {len(spread)} strategies.")
        counted = rows[rows["metric"] == "variants_checkpointed"]
        short = counted[counted["note"].fillna("").astype(str) != ""]
        if len(short):
            listed = ", ".join(f"{regime}={s:g} ({int(v)} variants)"
                               for s, v in zip(short["strategy"], short["value"]))
            lines.append(f"{regime}: short of K: {listed}; their PM and RM are over fewer "
                         "variants than the others' and not comparable with them.")
    return lines


def keep_all_reading(frame):
    """The keep = 1.0 check: SVCCA per layer keeping every direction beside the 99% cut,
    and what agreement of 'cnn' and 'fc1' means."""
    lines = []
    for regime in regimes_in(frame):
        rows = frame[frame["regime"] == regime].set_index(["strategy", "metric"])["value"]
        metrics = set(frame.loc[frame["regime"] == regime, "metric"])
        if not {"svcca_cnn_keep1", "svcca_fc1_keep1"} <= metrics:
            continue
        strategies = strategy_order(regime, frame.loc[frame["regime"] == regime, "strategy"])
        gap = max(abs(rows.get((s, "svcca_cnn_keep1"), np.nan)
                      - rows.get((s, "svcca_fc1_keep1"), np.nan)) for s in strategies)
        lines.append(f"{regime}: SVCCA at keep = 1.0 (every direction), cnn against fc1: "
                     f"largest difference {number(gap)} over the strategies (0.99 cut: see "
                     "fig2 CSV). Without an activation after FC(512) fc1 is an affine image of "
                     "cnn and spans the same subspace, so their agreement is not independent "
                     "evidence.")
    return lines
