"""The tidy tables of an image sweep, computed from its stored units only.

Four CSVs, one row per (dataset, regime, strategy, checkpoint, variant / pair / whole
strategy, ood_set, metric), each row with its unit's provenance:

  variants.csv    per variant: accuracy on every set; checkpoint_step, checkpoint_epoch
  strategies.csv  per strategy: pm, pm_true_class, label_disagreement, accuracy_mean,
                  accuracy_std per set; rm_cnn, rm_fc1 (on the stored test inputs);
                  variants_checkpointed
  pairs.csv       per pair of variants: absolute_pd, relative_pd_mean, churn per set; svcca_cnn,
                  svcca_fc1; with the pair's kind (which seeds differ)

``ood_set`` is 'test' for the i.i.d. test set, the OOD set's name otherwise (xflip, jitter,
pixelate, rot0-20 ... rot90-110, svhn, stl9), '' for metrics of no set. ``note`` carries
cautions, e.g. SVCCA's warning for fewer than 5 data points per neuron.

  timings.csv     per strategy: train_seconds. Kept apart because it is the one measured,
                  not computed, value: the other three files are the same, bit for bit,
                  whenever the seeds are.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments import multiplicity as mm
from image_experiments.cnn import RM_LAYERS
from image_experiments.storage import read_unit
from irrepro.errors import UserError
from irrepro.tables import write_csv

KEY_COLUMNS = ["dataset", "regime", "strategy", "lr", "batch", "checkpoint",
               "checkpoint_accuracy"]
ROW_COLUMNS = ["ood_set", "metric", "value", "note"]
PROVENANCE_COLUMNS = ["target_accuracy", "variants", "vary", "seed", "activation", "beta",
                      "train_subset", "test_subset", "device", "irrepro_version",
                      "tensorflow_version", "config_hash", "unit_hash", "git_commit"]
LEVEL_COLUMNS = {"variants": ["variant", "init_seed", "order_seed"],
                 "strategies": [],
                 "pairs": ["variant_a", "variant_b", "pair_kind", "init_seed_a", "order_seed_a",
                           "init_seed_b", "order_seed_b"],
                 "timings": []}


def unit_rows(path):
    """({'variants': rows, 'strategies': rows, 'pairs': rows}, notes) of the unit stored at
    ``path``: lists of row dicts, one block per checkpoint kind it holds, and the notes it
    recorded (e.g. OOD sets skipped)."""
    unit = read_unit(path)
    meta = unit.meta
    constant = {k: meta.get(k) for k in ("dataset", "regime", "strategy", "lr", "batch",
                                         *PROVENANCE_COLUMNS)}
    rows = {level: [] for level in LEVEL_COLUMNS}
    for kind, stored in unit.checkpoints.items():
        level = {"target": meta["target_accuracy"],  # 'final' (fixed epochs): no level
                 "pseudo_max": meta.get("pseudo_max_level")}.get(kind)
        base = {**constant, "checkpoint": kind, "checkpoint_accuracy": level}
        for level_name, found in checkpoint_rows(unit, stored).items():
            rows[level_name] += [{**base, **row} for row in found]
    return rows, meta.get("notes", [])


def checkpoint_rows(unit, stored):
    """The rows of one checkpoint kind ``stored`` of ``unit``, by level ('variants',
    'strategies', 'pairs', 'timings'), without the unit's constant columns. The one place
    PM, RM and the pairwise measures of stored variants are computed."""
    meta, seeds = unit.meta, unit.seeds
    variants = [int(k) for k in stored.variants]
    probs = {name: stored.probs(name) for name in unit.labels}
    out = {level: [] for level in LEVEL_COLUMNS}

    def row(ood_set, metric, value, note="", **ids):
        return {**ids, "ood_set": ood_set, "metric": metric, "value": float(value),
                "note": note}

    for i, k in enumerate(variants):
        ids = {"variant": k, "init_seed": int(seeds[k, 0]), "order_seed": int(seeds[k, 1])}
        for name, labels in unit.labels.items():
            out["variants"].append(row(name, "accuracy",
                                       mm.accuracy(probs[name][i:i + 1], labels)[0], **ids))
        out["variants"].append(row("test", "checkpoint_step", stored.steps[i], **ids))
        out["variants"].append(row("test", "checkpoint_epoch",
                                   stored.steps[i] / meta["steps_per_epoch"], **ids))

    strategy = out["strategies"]
    out["timings"].append(row("", "train_seconds", meta["train_seconds"]))
    if len(variants) < 2:
        strategy.append(row("", "variants_checkpointed", len(variants),
                            note=f"only {len(variants)} of {len(seeds)} variants reached the "
                                 f"checkpoint accuracy: no multiplicity to measure"))
        return out
    strategy.append(row("", "variants_checkpointed", len(variants)))
    for name, labels in unit.labels.items():
        p = probs[name]
        accuracies = mm.accuracy(p, labels)
        strategy += [row(name, "pm", mm.predictive_multiplicity(p)),
                     row(name, "pm_true_class", mm.true_class_std(p, labels)),
                     row(name, "label_disagreement", mm.label_disagreement(p)),
                     row(name, "accuracy_mean", accuracies.mean()),
                     row(name, "accuracy_std", accuracies.std())]

    pairs = mm.pairs_of(len(variants))
    pair_ids = [_pair_ids(variants[a], variants[b], seeds) for a, b in pairs]
    for ids, (a, b) in zip(pair_ids, pairs):
        for name in unit.labels:
            p = probs[name]
            out["pairs"] += [row(name, "absolute_pd", mm.absolute_pd(p[a], p[b]), **ids),
                             row(name, "relative_pd_mean", mm.relative_pd_mean(p[a], p[b]), **ids),
                             row(name, "churn", mm.churn(p[a], p[b]), **ids)]
    for layer in RM_LAYERS:
        try:
            rm = mm.layer_rm(stored.acts[layer], layer)
        except UserError as error:  # e.g. a layer without variance: say so, do not stop
            strategy.append(row("test", f"rm_{layer}", np.nan, note=str(error)))
            continue
        strategy.append(row("test", f"rm_{layer}", rm.rm, note=rm.note))
        out["pairs"] += [row("test", f"svcca_{layer}", value, note=rm.note, **ids)
                         for ids, value in zip(pair_ids, rm.svcca)]
    return out


def _pair_ids(a, b, seeds):
    return {"variant_a": a, "variant_b": b,
            "pair_kind": mm.pair_kind(tuple(seeds[a]), tuple(seeds[b])),
            "init_seed_a": int(seeds[a, 0]), "order_seed_a": int(seeds[a, 1]),
            "init_seed_b": int(seeds[b, 0]), "order_seed_b": int(seeds[b, 1])}


def tables(paths):
    """({'variants': DataFrame, 'strategies': ..., 'pairs': ..., 'timings': ...}, notes) of
    the units at
    ``paths``; notes: the distinct notes the units recorded, in order."""
    rows, notes = {level: [] for level in LEVEL_COLUMNS}, []
    for path in paths:
        found, unit_notes = unit_rows(path)
        for level, level_rows in found.items():
            rows[level] += level_rows
        notes += [note for note in unit_notes if note not in notes]
    frames = {level: pd.DataFrame(found, columns=[*KEY_COLUMNS, *LEVEL_COLUMNS[level],
                                                  *ROW_COLUMNS, *PROVENANCE_COLUMNS])
              for level, found in rows.items()}
    return frames, notes


def write_tables(paths, out):
    """Write OUT/variants.csv, strategies.csv, pairs.csv and timings.csv from the units at
    ``paths`` (atomically); returns ({level: path}, notes)."""
    frames, notes = tables(paths)
    written = {}
    for level, frame in frames.items():
        written[level] = Path(out) / f"{level}.csv"
        write_csv(frame, written[level])
    return written, notes
