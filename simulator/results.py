"""Tidy result tables: one row per (setting, pair, checkpoint, metric), written atomically.

Every row carries the setting's parameters and provenance (package and TensorFlow versions,
config hash, git commit when the code runs from a checkout), so CSVs from different runs can
be concatenated and still say where each number came from.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from irrepro.errors import UserError
from irrepro.tables import PROVENANCE_COLUMNS, provenance, write_atomic
from simulator.mitigations import FIELDS, layout

SETTING_COLUMNS = ["data", "model", "activation", "beta", "init", "window", "optimizer", "lr",
                   "pairs", "examples", "eval_examples", "seed", "warm_examples", "warm_lr"]
ROW_COLUMNS = ["pair", "examples_seen", "metric", "value"]
#: Written only by mitigation settings (so plain CSVs are as they were); empty where the
#: mitigation has no such parameter.
MITIGATION_COLUMNS = list(FIELDS)


def tidy_frame(setting, metric_rows, extra=None):
    """A DataFrame of ``metric_rows`` (dicts with pair, examples_seen, metric, value) with the
    setting's parameters, ``extra`` columns and provenance added to every row."""
    given = setting.as_dict()  # warm-start parameters only where they apply
    params = {name: given.get(name) for name in SETTING_COLUMNS}
    params["beta"] = setting.beta_used
    if setting.mitigation != "none":
        params.update({name: given.get(name) for name in MITIGATION_COLUMNS})
    constant = {**params, **(extra or {}), **provenance(setting.config_hash())}
    frame = pd.DataFrame(metric_rows, columns=ROW_COLUMNS)
    for name, value in constant.items():
        frame[name] = value
    mitigation = MITIGATION_COLUMNS if setting.mitigation != "none" else []
    leading = [*SETTING_COLUMNS, *mitigation, *(extra or {})]
    return frame[[*leading, *ROW_COLUMNS, *PROVENANCE_COLUMNS]]


def weights_path(csv_path):
    """Where the trained weights of the run written to ``csv_path`` go: NAME.weights.npz."""
    path = Path(csv_path)
    return path.with_name(path.stem + ".weights.npz")


def save_weights(path, setting, output, family):
    """Store the trained stacked weights [2M * G, ...] (float32, compressed; G components
    per member with a mitigation, else 1), the true parameters, each array's layer index
    and G, atomically."""
    arrays = {f"w{i}": w for i, w in enumerate(output.weights)}
    group = layout(setting).group

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, theta=output.theta, layer=np.array(family.layer_of_weight),
                                config_hash=setting.config_hash(), model=setting.model,
                                group=group, **arrays)

    write_atomic(path, write)


def load_weights_frame(path):
    """A tidy DataFrame of saved weights: pair, member, component, layer, tensor, index,
    value (one row per weight of every model; component 0 unless a mitigation stacked
    several per member), plus the true parameters in ``frame.attrs['theta']``."""
    try:
        stored = np.load(path)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read weights file {path} ({error}); re-run with "
                        "--save-weights to create it") from None
    layers = stored["layer"]
    group = int(stored["group"]) if "group" in stored.files else 1
    parts = []
    for tensor, layer in enumerate(layers):
        w = stored[f"w{tensor}"].reshape(stored[f"w{tensor}"].shape[0], -1)
        models, size = w.shape
        parts.append(pd.DataFrame({
            "pair": np.repeat(np.arange(models) // (2 * group), size),
            "member": np.repeat(np.arange(models) // group % 2, size),
            "component": np.repeat(np.arange(models) % group, size),
            "layer": int(layer), "tensor": tensor,
            "index": np.tile(np.arange(size), models), "value": w.ravel()}))
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["theta"] = stored["theta"]
    frame.attrs["model"] = str(stored["model"])
    return frame
