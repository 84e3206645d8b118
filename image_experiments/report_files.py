"""The names of an image report's files, defined once: ``image_experiments.report`` writes
them and ``image_experiments.render`` (``imgctl plot``) reads them back. A figure shares the
stem of the CSV it is drawn from.

    fig2-<dataset>.csv            SVCCA per layer and PM per set, per strategy (Fig. 2)
    table1.csv                    Pearson r(SVCCA, PM) per regime, layer and set, Delta SVCCA
    hypothesis1-<dataset>.csv     per strategy: PM(S), PM(s), RM(s) on the lowest-PM subset s
    hypothesis1.csv               E_RM, E_PM and whether Hypothesis 1 holds, per regime/layer
    confabulation-<dataset>.csv   (+ .npz with the images) the most confabulated test inputs
    interventions.csv             accuracy under every intervention, one row per model
    sheet-<dataset>-<metric>.csv  the multiplicity sheet of each chosen metric
    sheets.csv                    Delta_max^all (and the largest row/column Delta_max) of
                                  every intervention, per regime and over the whole sheet
    selection-<dataset>.csv       spread left on unforeseen metrics after top-k% selection
    pgd.csv                       cache of PGD accuracies (a re-run attacks only what is new)
    report.json                   options, notes and the names the renderer needs
    report.md                     the figures with one computed line of reading each

<dataset> is the data set's name, or for a user's data set (a path) its file or folder
name without suffix (``./mine.npz`` -> ``mine``), so that no name holds a folder separator.
"""
import re
from pathlib import Path

MANIFEST = "report.json"
MARKDOWN = "report.md"
INTERVENTIONS = "interventions.csv"
TABLE1 = "table1.csv"
HYPOTHESIS_SUMMARY = "hypothesis1.csv"
SHEETS = "sheets.csv"
PGD_CACHE = "pgd.csv"


def fig2(dataset):
    return f"fig2-{_stem(dataset)}"


def table1(dataset):
    return f"table1-{_stem(dataset)}"


def hypothesis(dataset):
    return f"hypothesis1-{_stem(dataset)}"


def confabulation(dataset):
    return f"confabulation-{_stem(dataset)}"


def sheet(dataset, metric):
    return f"sheet-{_stem(dataset)}-{metric}"


def sheets(dataset):
    return f"sheets-{_stem(dataset)}"


def selection(dataset):
    return f"selection-{_stem(dataset)}"


def _stem(dataset):
    """``dataset`` as a file-name part: a path's last name without suffix, other characters
    than letters, digits, '.', '_' and '-' replaced by '_'."""
    return re.sub(r"[^\w.-]+", "_", Path(str(dataset)).stem) or "dataset"
