"""Tidy result tables: one row per (setting, pair, checkpoint, metric), written atomically.

Every row carries the setting's parameters and provenance (package and TensorFlow versions,
config hash, git commit when the code runs from a checkout), so CSVs from different runs can
be concatenated and still say where each number came from.
"""
import functools
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import __version__
from simulator.errors import UserError

SETTING_COLUMNS = ["data", "model", "activation", "beta", "init", "window", "optimizer", "lr",
                   "pairs", "examples", "eval_examples", "seed", "warm_examples", "warm_lr"]
ROW_COLUMNS = ["pair", "examples_seen", "metric", "value"]
PROVENANCE_COLUMNS = ["irrepro_version", "tensorflow_version", "config_hash", "git_commit"]


@functools.lru_cache(maxsize=1)
def git_commit():
    """The commit of the checkout this package runs from, or '' when there is none."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def provenance(setting):
    import tensorflow as tf

    return {"irrepro_version": __version__, "tensorflow_version": tf.__version__,
            "config_hash": setting.config_hash(), "git_commit": git_commit()}


def tidy_frame(setting, metric_rows, extra=None):
    """A DataFrame of ``metric_rows`` (dicts with pair, examples_seen, metric, value) with the
    setting's parameters, ``extra`` columns and provenance added to every row."""
    given = setting.as_dict()  # warm-start parameters only where they apply
    params = {name: given.get(name) for name in SETTING_COLUMNS}
    params["beta"] = setting.beta_used
    constant = {**params, **(extra or {}), **provenance(setting)}
    frame = pd.DataFrame(metric_rows, columns=ROW_COLUMNS)
    for name, value in constant.items():
        frame[name] = value
    leading = [*SETTING_COLUMNS, *(extra or {})]
    return frame[[*leading, *ROW_COLUMNS, *PROVENANCE_COLUMNS]]


def check_writable(path):
    """Raise UserError unless a file can be created at ``path`` (its folder is made)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".probe-"):
            pass
    except OSError as error:
        raise UserError(f"cannot write results to {path}: {error.strerror}; "
                        "choose another --out") from None
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; give a file name such as {path}/run.csv")


def write_atomic(path, write):
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``: readers and
    interrupted runs never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make results private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(frame, path):
    """Write ``frame`` to the CSV ``path`` atomically (floats in shortest round-trip form)."""
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def summarise(frame):
    """Mean and standard error over pairs of each metric at the last checkpoint, one row per
    (setting, metric)."""
    last = frame[frame["examples_seen"] == frame.groupby("config_hash")["examples_seen"]
                 .transform("max")]
    keys = [c for c in frame.columns
            if c not in ROW_COLUMNS and c not in PROVENANCE_COLUMNS and c != "pairs"]
    grouped = last.groupby([*keys, "metric"], dropna=False)["value"]
    return grouped.agg(mean="mean", sem="sem").reset_index()


def weights_path(csv_path):
    """Where the trained weights of the run written to ``csv_path`` go: NAME.weights.npz."""
    path = Path(csv_path)
    return path.with_name(path.stem + ".weights.npz")


def save_weights(path, setting, output, family):
    """Store the trained stacked weights [2M, ...] (float32, compressed), the true
    parameters and each array's layer index, atomically."""
    arrays = {f"w{i}": w for i, w in enumerate(output.weights)}

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, theta=output.theta, layer=np.array(family.layer_of_weight),
                                config_hash=setting.config_hash(), model=setting.model,
                                **arrays)

    write_atomic(path, write)


def load_weights_frame(path):
    """A tidy DataFrame of saved weights: pair, member, layer, tensor, index, value (one row
    per weight of every model), plus the true parameters in ``frame.attrs['theta']``."""
    try:
        stored = np.load(path)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read weights file {path} ({error}); re-run with "
                        "--save-weights to create it") from None
    layers = stored["layer"]
    parts = []
    for tensor, layer in enumerate(layers):
        w = stored[f"w{tensor}"].reshape(stored[f"w{tensor}"].shape[0], -1)
        models, size = w.shape
        parts.append(pd.DataFrame({
            "pair": np.repeat(np.arange(models) // 2, size),
            "member": np.repeat(np.arange(models) % 2, size),
            "layer": int(layer), "tensor": tensor,
            "index": np.tile(np.arange(size), models), "value": w.ravel()}))
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["theta"] = stored["theta"]
    frame.attrs["model"] = str(stored["model"])
    return frame
