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

import numpy as np

from image_experiments.training import CheckpointOutputs
from simulator.errors import UserError
from simulator.results import write_atomic


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
        part = lambda infix: {key[len(f"{kind}.{infix}."):]: arrays[key]  # noqa: E731
                              for key in arrays if key.startswith(f"{kind}.{infix}.")}
        checkpoints[kind] = CheckpointOutputs(
            arrays[f"{kind}.variant"], arrays[f"{kind}.step"], arrays[f"{kind}.accuracy"],
            part("logp"), {k: v.astype(np.float32) for k, v in part("act").items()},
            [w for _, w in sorted(part("weight").items(), key=lambda item: int(item[0]))],
            arrays.get(f"{kind}.previous"))
    return StoredUnit(json.loads(str(arrays["meta"])), arrays["seeds"], labels, checkpoints,
                      arrays["history_step"], arrays["history_accuracy"])
