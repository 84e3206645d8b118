"""One trained strategy on disk: a compressed .npz, written atomically.

Layout (K variants, E evaluations, k_c variants with a checkpoint of kind c):
  meta                JSON text: unit parameters, target, device, seconds, provenance, notes
  seeds               int64 [K, 2]: each variant's (init seed, order seed)
  history_step        int64 [E]: training steps at the evaluations
  history_accuracy    float32 [E, K]: test accuracy of every variant at each
  rm_index            int64 [n]: the test inputs whose activations are stored
  labels.<set>        int16 [N_set]: true classes of each evaluation set ('test' first)
  <c>.variant         int64 [k_c]: which variants have a checkpoint of kind c
  <c>.step, <c>.accuracy   where each checkpoint was taken, and its test accuracy (the one
                      that chose it)
  <c>.previous        float64 [k_c]: its test accuracy one optimizer step earlier (NaN where
                      not evaluated); absent in units stored before it was recorded
  <c>.logp.<set>      float16 [k_c, N_set, C]: log class probabilities
  <c>.act.<layer>     float16 [k_c, n, p]: activations of 'cnn' and 'fc1' on rm_index
                      (float32 if some exceed float16's range)
  <c>.weight.<i>      float32 [k_c, *shape]: the i-th weight array (Keras order) of each
                      checkpointed model, for analyses that run the models (PGD attacks)

Log-probabilities rather than probabilities go to float16: their relative precision (about
1e-3 in p) holds for tiny probabilities too, where float16 probabilities would underflow.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments.training import CheckpointOutputs
from irrepro.errors import UserError
from irrepro.tables import write_atomic


def write_unit(path, meta, seeds, history_steps, history_accuracy, rm_index, labels, outputs):
    """Store one unit at ``path`` atomically. ``labels``: {set: int [N]}; ``outputs``:
    {checkpoint kind: training.CheckpointOutputs}."""
    arrays = {"meta": np.array(json.dumps(meta, sort_keys=True)),
              "seeds": np.asarray(seeds, np.int64),
              "history_step": np.asarray(history_steps, np.int64),
              "history_accuracy": np.asarray(history_accuracy, np.float32),
              "rm_index": np.asarray(rm_index, np.int64)}
    arrays.update({f"labels.{name}": np.asarray(y, np.int16) for name, y in labels.items()})
    for kind, out in outputs.items():
        for layer, acts in out.acts.items():
            # A unit with activations of another shape could only give NaN RM: refuse it.
            if np.ndim(acts) != 3 or np.shape(acts)[:2] != (len(out.variants), len(rm_index)):
                raise ValueError(f"{kind} activations of {layer} have shape {np.shape(acts)}, "
                                 f"not [{len(out.variants)}, {len(rm_index)}, neurons]")
        arrays[f"{kind}.variant"] = np.asarray(out.variants, np.int64)
        arrays[f"{kind}.step"] = np.asarray(out.steps, np.int64)
        arrays[f"{kind}.accuracy"] = np.asarray(out.accuracy, np.float64)
        arrays[f"{kind}.previous"] = out.previous_accuracy()
        arrays.update({f"{kind}.logp.{name}": lp.astype(np.float16)
                       for name, lp in out.logp.items()})
        arrays.update({f"{kind}.act.{layer}": _compact(a) for layer, a in out.acts.items()})
        arrays.update({f"{kind}.weight.{i}": np.asarray(w, np.float32)
                       for i, w in enumerate(out.weights)})

    def write(tmp):
        with open(tmp, "wb") as stream:
            np.savez_compressed(stream, **arrays)

    write_atomic(path, write)


def _compact(activations):
    """float16, unless some activation exceeds its range (65504): then float32."""
    small = activations.astype(np.float16)
    return small if np.isfinite(small).all() else activations.astype(np.float32)


@dataclass(frozen=True)
class StoredUnit:
    """A unit read back: ``meta`` dict, ``seeds`` int [K, 2], ``labels`` {set: int [N]}
    (in evaluation order, 'test' first), ``checkpoints`` {kind: training.CheckpointOutputs},
    ``history_step`` [E], ``history_accuracy`` [E, K]."""

    meta: dict
    seeds: np.ndarray
    labels: dict
    checkpoints: dict
    history_step: np.ndarray
    history_accuracy: np.ndarray


def read_unit(path):
    """The :class:`StoredUnit` at ``path``; a damaged file is a UserError saying to delete it
    (the sweep then trains that unit again)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError) as error:
        raise UserError(f"{path} is damaged ({type(error).__name__}); delete it and run the "
                        "sweep again to retrain that strategy") from None
    labels = {key.split(".", 1)[1]: arrays[key].astype(np.int64)
              for key in arrays if key.startswith("labels.")}
    kinds = [key.split(".")[0] for key in arrays if key.endswith(".variant")]
    checkpoints = {}
    for kind in kinds:
        def part(infix, kind=kind):
            prefix = f"{kind}.{infix}."
            return {key[len(prefix):]: arrays[key] for key in arrays if key.startswith(prefix)}

        checkpoints[kind] = CheckpointOutputs(
            arrays[f"{kind}.variant"], arrays[f"{kind}.step"], arrays[f"{kind}.accuracy"],
            part("logp"), {k: v.astype(np.float32) for k, v in part("act").items()},
            [w for _, w in sorted(part("weight").items(), key=lambda item: int(item[0]))],
            arrays.get(f"{kind}.previous"))
    return StoredUnit(json.loads(str(arrays["meta"])), arrays["seeds"], labels, checkpoints,
                      arrays["history_step"], arrays["history_accuracy"])


def unit_paths(results_dir):
    """The stored units of the sweep in ``results_dir`` (see the module docs); a UserError
    when the folder or its units are missing."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise UserError(f"{results_dir} is not a folder; give the --out folder of an "
                        "`imgctl sweep`")
    paths = sorted((results_dir / "units").glob("*.npz"))
    if not paths:
        raise UserError(f"no stored units in {results_dir / 'units'}; run `imgctl sweep` "
                        f"with --out {results_dir} first")
    hashes = {path: path.stem.rsplit("-", 1)[-1] for path in paths}
    configs = {read_unit_meta(path)["config_hash"] for path in paths}
    if len(configs) > 1:
        tables = results_dir / "strategies.csv"
        if not tables.exists():
            raise UserError(f"the units in {results_dir / 'units'} come from "
                            f"{len(configs)} sweep configurations and no strategies.csv "
                            "says which is current; move the stale units away")
        current = set(pd.read_csv(tables, usecols=["unit_hash"], dtype=str)["unit_hash"])
        paths = [path for path in paths if hashes[path] in current]
    return paths


def read_unit_meta(path):
    """The meta dict of the unit at ``path`` (reads only that member)."""
    with np.load(path, allow_pickle=False) as stored:
        return json.loads(str(stored["meta"]))


def stored_rm_index(path):
    """The test inputs whose activations the unit at ``path`` stores, int [n] (its
    'rm_index' member, see image_experiments.storage)."""
    with np.load(path, allow_pickle=False) as stored:
        return stored["rm_index"]


def stored_checkpoint(results_dir):
    """The checkpoint kind the sweep in ``results_dir`` trained for: 'final' (``imgctl sweep
    --checkpoint final``, Ganesh's protocol) or 'target' (risk equivalence)."""
    return read_unit_meta(unit_paths(results_dir)[0]).get("checkpoint_kind", "target")


def unit_key(meta, checkpoint):
    return {"dataset": meta["dataset"], "regime": meta["regime"], "strategy": meta["strategy"],
            "lr": meta["lr"], "batch": meta["batch"], "checkpoint": checkpoint,
            "unit_hash": meta["unit_hash"]}
