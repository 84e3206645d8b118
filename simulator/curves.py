"""How the figures name and draw their curves, as the paper does.

A curve is one combination of the setting columns that vary across a results frame. Its
label reads like the paper's legends: the activation ("ReLU", "identity", "SmeLU", "Swish";
"linear" for the linear model), then what else varies (the model: "1", "2", "[16,8,4,2]",
"wide"; "beta=0.5"; "SGD", "lr=0.01"; a mitigation: "ensemble x4", "codistill x2 w=0.5
T=2", "ensemble x4 eq. FLOPs"), then "diff" for distinct initialisation and "TL" for a warm
start. Curves that differ only in their initialisation are twins: they share a colour, the
identical-init one solid, "diff" dashed, "TL" dotted.
"""
import numpy as np

from simulator.mitigations import FIELDS as MITIGATION_COLUMNS
from simulator.results import SETTING_COLUMNS

#: Columns that never distinguish curves: the x axis and what is averaged over.
NOT_CURVES = {"window", "seed", "pair"}
ACTIVATION_NAMES = {"relu": "ReLU", "identity": "identity", "smelu": "SmeLU", "swish": "Swish"}
INIT_SUFFIX = {"same": "", "diff": "diff", "warm": "TL"}
INIT_STYLE = {"same": "-", "diff": "--", "warm": ":"}


#: Setting and mitigation columns that may tell curves apart.
LABEL_COLUMNS = [c for c in [*SETTING_COLUMNS, *MITIGATION_COLUMNS] if c not in NOT_CURVES]


def curve_columns(frame):
    """Setting (and mitigation) columns whose values differ across ``frame``."""
    return [c for c in LABEL_COLUMNS
            if c in frame.columns and frame[c].astype(str).nunique() > 1]


def _present(value):
    return not (value is None or (isinstance(value, float) and np.isnan(value)))


def model_name(model):
    """The model as the paper writes it: '[16,8,4,2]' for a tower, else its name."""
    return f"[{model.replace('-', ',')}]" if "-" in str(model) else str(model)


def _mitigation_name(row):
    name = row.get("mitigation")
    if not _present(name) or name == "none":
        return ""
    parts = [f"{name} x{int(row['members'])}"]
    if _present(row.get("mitigation_weight")):
        parts.append(f"w={row['mitigation_weight']:g}")
    if _present(row.get("temperature")) and row["temperature"] != 1:
        parts.append(f"T={row['temperature']:g}")
    if _present(row.get("equal_flops")) and str(row["equal_flops"]) == "True":
        parts.append("eq. FLOPs")
    return " ".join(parts)


def base_label(row, columns):
    """The label of ``row``'s curve without its initialisation: the twins' common name."""
    model = row.get("model")
    parts = (["linear"] if model == "linear"
             else [ACTIVATION_NAMES.get(row.get("activation"), str(row.get("activation")))])
    if "model" in columns and model != "linear":
        parts.append(model_name(model))
    if "beta" in columns and _present(row.get("beta")):
        parts.append(f"beta={row['beta']:g}")
    if "optimizer" in columns:
        parts.append({"sgd": "SGD", "adagrad": "AdaGrad"}.get(row["optimizer"], row["optimizer"]))
    if "lr" in columns:
        parts.append(f"lr={row['lr']:g}")
    if "data" in columns:
        parts.append(f"{row['data']} data")
    mitigation = _mitigation_name(row) if set(columns) & set(MITIGATION_COLUMNS) else ""
    if mitigation:
        parts.append(mitigation)
    return " ".join(parts)


def curve_label(row, columns):
    """The paper-style label of ``row``'s curve, e.g. 'ReLU 2' or 'identity 1 diff'."""
    suffix = INIT_SUFFIX.get(row.get("init"), str(row.get("init")))
    return " ".join(p for p in (base_label(row, columns), suffix) if p)


def line_style(init):
    """'-' for identical initialisation, '--' for distinct, ':' for a warm start."""
    return INIT_STYLE.get(init, "-.")
