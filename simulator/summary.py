"""The results as numbers: final means and standard errors over pairs, per curve and window.

``final_means`` is what the figures draw and ``simctl table`` prints (and writes as CSV):
one row per curve (as the figures label it) and window, each metric's mean over pairs (and
seeds) at the setting's last checkpoint with its standard error.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from irrepro.errors import UserError
from irrepro.tables import write_csv
from simulator.curves import LABEL_COLUMNS, base_label, curve_columns, curve_label

METRICS = ("relative_pd", "excess_loss")
#: How the table heads each metric: the paper's symbols.
HEADINGS = {"relative_pd": "Delta_r", "absolute_pd": "Delta", "excess_loss": "L",
            "deviation_cosine": "cosine"}


def read_results(paths):
    """Concatenate result CSVs; a folder stands for its sweep's shards."""
    files = []
    for path in map(Path, paths):
        files += sorted((path / "shards").glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise UserError(f"no result CSVs found in {', '.join(map(str, paths))}")
    frames = []
    for f in files:
        try:
            frames.append(pd.read_csv(f))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise UserError(f"cannot read results {f}: {error}") from None
    return pd.concat(frames, ignore_index=True)


def final_means(frame, metrics=METRICS):
    """Mean and standard error over pairs (and seeds) of each metric at each setting's last
    checkpoint: one row per (curve, window) with columns METRIC, METRIC_sem and METRIC_n (the
    pairs, and seeds, averaged), the curve's label ``curve``, its twins' common label
    ``twin`` and its ``init``."""
    needed = {"metric", "value", "window", "examples_seen", "examples"}
    if not needed <= set(frame.columns):
        raise UserError(f"results lack the columns {', '.join(sorted(needed - set(frame.columns)))}"
                        "; give CSVs written by simctl run or simctl sweep")
    last = frame[frame["examples_seen"] == frame["examples"]]
    missing = sorted(set(metrics) - set(last["metric"]))
    if missing:
        known = ", ".join(sorted(last["metric"].unique())) or "none"
        raise UserError(f"results hold no finished run with the metric(s) "
                        f"{', '.join(missing)}; finished runs have: {known}")
    last = last[last["metric"].isin(metrics)]
    if "mitigation" in last.columns:
        last = last.assign(mitigation=last["mitigation"].fillna("none"))
    columns = curve_columns(last)
    # constant columns too: they do not split curves, but the labels name the activation
    keys = [*(c for c in LABEL_COLUMNS if c in last.columns), "window"]
    grouped = last.groupby([*keys, "metric"], dropna=False)["value"]
    means = grouped.mean().unstack("metric")
    sems = grouped.sem().unstack("metric").add_suffix("_sem")
    counts = grouped.count().unstack("metric", fill_value=0).add_suffix("_n")
    means = means.join(sems).join(counts).reset_index()
    rows = [row for _, row in means.iterrows()]
    means["curve"] = [curve_label(row, columns) for row in rows]
    means["twin"] = [base_label(row, columns) for row in rows]
    if "init" not in means.columns:
        means["init"] = "same"
    return means.sort_values(["curve", "window"]).reset_index(drop=True)


def _cell(mean, sem, n):
    """'mean ± se', both in the mean's power of ten when it is small or large."""
    if n == 0:
        return "not measured"
    if not (n > 1 and sem == sem):  # one pair has no spread to estimate: say so, not NaN
        return f"{mean:.3g} (1 pair: no se)"
    power = int(np.floor(np.log10(abs(mean)))) if mean else 0
    if -2 <= power < 3:
        return f"{mean:.3g} ± {sem:.2g}"
    scale = 10.0 ** power
    return f"({mean / scale:.2f} ± {sem / scale:.2f})e{power}"


def table_text(means, metrics=METRICS):
    """``final_means`` as an aligned text table: curve, log2 z, each metric as mean ± se
    over its pairs, and the pairs."""
    rows = [["curve", "log2 z", *(HEADINGS.get(m, m) for m in metrics), "pairs"]]
    for _, row in means.iterrows():
        rows.append([row["curve"], f"{np.log2(row['window']):g}",
                     *(_cell(row[m], row[f"{m}_sem"], row[f"{m}_n"]) for m in metrics),
                     f"{max(int(row[f'{m}_n']) for m in metrics)}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                      for r in rows)


def run_summary_text(frame):
    """One run's tidy frame as text: each metric it holds (the paper's symbol and the CSV's
    name), its mean ± se over pairs at the last checkpoint, one line per metric, in the frame's
    order."""
    metrics = list(dict.fromkeys(frame["metric"]))
    row = final_means(frame, metrics).iloc[0]
    names = [f"{HEADINGS[m]} ({m})" if m in HEADINGS else m for m in metrics]
    width = max(map(len, names))
    lines = [f"after {int(row['examples']):,} examples, mean over "
             f"{max(int(row[f'{m}_n']) for m in metrics)} pair(s):"]
    return "\n".join(lines + [f"  {name:<{width}}  {_cell(row[m], row[f'{m}_sem'], row[f'{m}_n'])}"
                               for name, m in zip(names, metrics)])


def write_table(results, out=None, metrics=None, echo=print):
    """``simctl table``: print the final means of ``metrics`` (default METRICS) of the result
    CSVs or sweep folders ``results`` and, given ``out``, write them as CSV (atomically).
    Returns the frame."""
    metrics = METRICS if metrics is None else tuple(metrics)
    means = final_means(read_results(results), metrics)
    columns = ["curve", "window", *(f"{m}{s}" for m in metrics for s in ("", "_sem", "_n"))]
    echo(table_text(means, metrics))
    if out is not None:
        write_csv(means[columns], out)
        echo(f"wrote {len(means)} rows to {out}")
    return means[columns]
