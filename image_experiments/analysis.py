"""The tidy tables of an image sweep, computed from its stored units only.

Four CSVs, one row per (dataset, regime, strategy, checkpoint, variant / pair / whole
strategy, ood_set, metric), each row with its unit's provenance:

  variants.csv    per variant: accuracy on every set (on 'test' the accuracy that chose the
                  checkpoint; a note where one optimizer step jumped over the whole band
                  [target, target + training.risk_band]); checkpoint_step, checkpoint_epoch
  strategies.csv  per strategy: pm, pm_true_class, label_disagreement, accuracy_mean,
                  accuracy_std per set; rm_<layer> per RM layer (the CNN's rm_cnn, rm_fc1;
                  on the stored test inputs); pm
                  and rm_* with a 95% bootstrap interval over the K variants in ci_low,
                  ci_high (image_experiments.bootstrap; NaN for other metrics);
                  variants_checkpointed (a note in words when short of K: its PM is over
                  fewer variants, so not comparable with full strategies), accuracy_spread
                  (max - min of the checkpoint accuracies), variants_over_band (target
                  checkpoints above the band)
  pairs.csv       per pair of variants: absolute_pd, relative_pd_mean, churn per set;
                  svcca_<layer>; with the pair's kind (which seeds differ)

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

from image_experiments import bootstrap
from image_experiments import multiplicity as mm
from image_experiments.architecture import rm_layers_of
from image_experiments.storage import read_unit
from image_experiments.training import risk_band
from irrepro.errors import UserError
from irrepro.tables import write_csv

KEY_COLUMNS = ["dataset", "regime", "strategy", "lr", "batch", "checkpoint",
               "checkpoint_accuracy"]
ROW_COLUMNS = ["ood_set", "metric", "value", "ci_low", "ci_high", "note"]
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
        for level_name, found in checkpoint_rows(unit, stored, kind).items():
            rows[level_name] += [{**base, **row} for row in found]
    return rows, meta.get("notes", [])


def checkpoint_rows(unit, stored, kind="target"):
    """The rows of the checkpoint kind ``kind`` (``stored``) of ``unit``, by level
    ('variants', 'strategies', 'pairs', 'timings'), without the unit's constant columns. The
    one place PM, RM and the pairwise measures of stored variants are computed."""
    meta, seeds = unit.meta, unit.seeds
    variants = [int(k) for k in stored.variants]
    probs = {name: stored.probs(name) for name in unit.labels}
    out = {level: [] for level in LEVEL_COLUMNS}

    def row(ood_set, metric, value, note="", interval=None, **ids):
        return {**ids, "ood_set": ood_set, "metric": metric, "value": float(value),
                "ci_low": np.nan if interval is None else interval.low,
                "ci_high": np.nan if interval is None else interval.high, "note": note}

    over = over_band(unit, stored, kind)
    for i, k in enumerate(variants):
        ids = {"variant": k, "init_seed": int(seeds[k, 0]), "order_seed": int(seeds[k, 1])}
        for name, labels in unit.labels.items():
            if name == "test":  # the accuracy that chose the checkpoint
                out["variants"].append(row(name, "accuracy", stored.accuracy[i],
                                           note=over.get(i, ""), **ids))
                continue
            out["variants"].append(row(name, "accuracy",
                                       mm.accuracy(probs[name][i:i + 1], labels)[0], **ids))
        out["variants"].append(row("test", "checkpoint_step", stored.steps[i], **ids))
        out["variants"].append(row("test", "checkpoint_epoch",
                                   stored.steps[i] / meta["steps_per_epoch"], **ids))

    strategy = out["strategies"]
    out["timings"].append(row("", "train_seconds", meta["train_seconds"]))
    strategy.append(row("", "variants_checkpointed", len(variants),
                        note=short_note(len(variants), len(seeds), kind, meta)
                        if kind == "target" else ""))
    if len(variants):
        strategy.append(row("test", "accuracy_spread", np.ptp(stored.accuracy)))
    if kind == "target":
        strategy.append(row("test", "variants_over_band", len(over),
                            note=(f"{len(over)} of {len(variants)} target checkpoints lie above "
                                  f"the band: one optimizer step jumped over all of it"
                                  if over else "")))
    if len(variants) < 2:
        return out
    for name, labels in unit.labels.items():
        p = probs[name]
        accuracies = mm.accuracy(p, labels)
        strategy += [row(name, "pm", mm.predictive_multiplicity(p),
                         interval=bootstrap.pm_interval(p, seed=meta["seed"])),
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
    for layer in rm_layers_of(meta):
        try:
            rm = mm.layer_rm(stored.acts[layer], layer)
        except UserError as error:  # e.g. a layer without variance: say so, do not stop
            strategy.append(row("test", f"rm_{layer}", np.nan, note=str(error)))
            continue
        strategy.append(row("test", f"rm_{layer}", rm.rm, note=rm.note,
                            interval=bootstrap.pair_interval(
                                -bootstrap.pair_matrix(rm.svcca, len(variants)),
                                seed=meta["seed"])))
        out["pairs"] += [row("test", f"svcca_{layer}", value, note=rm.note, **ids)
                         for ids, value in zip(pair_ids, rm.svcca)]
    return out


def over_band(unit, stored, kind):
    """{i: note} of the target checkpoints (positions in ``stored.variants``) whose accuracy
    lies above [target, target + risk_band(N_test)]: one optimizer step jumped over the whole
    band. Other kinds: {}."""
    if kind != "target" or not len(stored.variants):
        return {}
    target = unit.meta["target_accuracy"]
    top = target + risk_band(len(unit.labels["test"]))
    previous = stored.previous_accuracy()
    return {i: (f"not risk-equivalent: one optimizer step took this variant from "
                f"{previous[i]:.4f} to {acc:.4f}, over the whole band [{target:.4f}, "
                f"{top:.4f}]" if np.isfinite(previous[i]) else
                f"not risk-equivalent: accuracy {acc:.4f} above the band [{target:.4f}, "
                f"{top:.4f}] at its first step")
            for i, acc in enumerate(stored.accuracy) if acc > top + 1e-12}


def short_note(found, k, kind, meta):
    """The words flagging a strategy with fewer than K checkpointed variants ('' when all
    K have one)."""
    if found >= k:
        return ""
    where = (f"the target accuracy {meta['target_accuracy']:g} within epochs_cap "
             f"{meta.get('epochs_cap', meta.get('epochs_max', float('nan'))):g} epochs"
             if kind == "target" else "the pseudo-maximum accuracy")
    consequence = ("no multiplicity to measure" if found < 2 else
                   f"its PM and RM are over {found} variants, not {k}, and are not comparable "
                   f"with full strategies (the population std shrinks with K)")
    return f"short of K: only {found} of {k} variants reached {where}: {consequence}"


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
