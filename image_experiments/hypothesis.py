"""Hypothesis 1 (Heljakka et al., 2023, section 3 and Fig. 3) on every input of s, and the
SVCCA check at keep = 1.0, from activations recomputed from a unit's stored weights.

A unit stores activations on ``rm_points`` test inputs only, so the lowest-PM subset s of
|s| = 1000 inputs meets them in about a quarter of its inputs at default settings. Here
every checkpointed model is rebuilt (the unit's :class:`~image_experiments.architecture.
Architecture`, then its stored weights, as the PGD attacks do) and the activations of its
RM layers ('cnn' and 'fc1' for the appendix-B CNN) are computed on exactly the |s| inputs
of s, in float32.

Which s: the Fig. 3 caption selects "a subset of 1000 samples for each data set such that
those samples have the lowest overall PM" and evaluates every strategy on it, while the
hypothesis itself allows one s_i per strategy. ``per='dataset'`` (the default, the figure's)
takes the inputs of lowest *overall* PM, read as the mean over all the data set's strategies
(both regimes) of each input's PM across that strategy's K variants; ``per='strategy'`` takes
each strategy's own lowest-PM inputs. Without the images (no data files) RM(s) falls back to
the inputs of s whose activations the unit stores, and the row says so.
"""
from dataclasses import dataclass

import numpy as np

from image_experiments import multiplicity as mm
from image_experiments import relations
from image_experiments.architecture import Architecture, rm_layers_of
from image_experiments.cnn import activation_model, probe_outputs
from image_experiments.report_options import SUBSET_PER
from image_experiments.storage import read_unit
from irrepro.errors import UserError

CHUNK = 1000  # inputs per forward pass


@dataclass(frozen=True, eq=False)
class Entry:
    """One strategy's unit for Hypothesis 1: its table ``key``, unit ``path``, and the PM of
    every test input across its variants, float [N]."""

    key: dict
    path: object
    per_input: np.ndarray


def recomputed_activations(meta, stored, x):
    """{layer: float32 [k, n, p]}: the activations of the RM layers (flattened) of every
    checkpointed model of ``stored`` (a CheckpointOutputs with weights) on inputs
    x [n, H, W, C], each model rebuilt from the unit's ``meta`` and its stored weights."""
    classes = stored.logp["test"].shape[-1]
    architecture = Architecture.from_meta(meta)
    layers = architecture.rm_layers
    model = architecture.build(x.shape[1:], classes)
    probe = activation_model(model, layers)
    out = {layer: [] for layer in layers}
    for i in range(len(stored.variants)):
        model.set_weights(stored.variant_weights(i))
        parts = [probe_outputs(probe, np.asarray(x[s:s + CHUNK], np.float32))
                 for s in range(0, len(x), CHUNK)]
        for j, layer in enumerate(layers):
            out[layer].append(np.concatenate([np.asarray(p[j]) for p in parts]))
    return {layer: np.stack(values).astype(np.float32) for layer, values in out.items()}


def subsets(entries, size, per="dataset"):
    """The subset s of each entry (int [size] indices into its test set): per 'dataset',
    one per data set, the ``size`` inputs of lowest mean per-input PM over its strategies;
    per 'strategy', each entry's own lowest-PM inputs."""
    if per not in SUBSET_PER:
        raise UserError(f"unknown --subset-per '{per}'; choose {' or '.join(SUBSET_PER)}")
    if per == "strategy":
        return [relations.lowest_pm_subset(e.per_input, size) for e in entries]
    chosen = {}
    for dataset in dict.fromkeys(e.key["dataset"] for e in entries):
        mine = [e.per_input for e in entries if e.key["dataset"] == dataset]
        if len({len(p) for p in mine}) > 1:
            raise UserError(f"the {dataset} units were evaluated on test sets of different "
                            "sizes, so they share no subset; give --subset-per strategy")
        chosen[dataset] = relations.lowest_pm_subset(np.mean(mine, axis=0), size)
    return [chosen[e.key["dataset"]] for e in entries]


def hypothesis_rows(entries, size, per, images, checkpoint):
    """Hypothesis 1's row of every entry (a list of :class:`Entry`): PM(S) on the whole test
    set, PM(s) and RM(s) per layer on the subset s (:func:`subsets`), RM(s) on exactly the |s|
    inputs of s from recomputed activations, or on those of them with stored activations when
    ``images`` (report.Images) has no images for the unit."""
    rows = []
    for entry, subset in zip(entries, subsets(entries, size, per)):
        unit = read_unit(entry.path)
        stored = unit.checkpoints[checkpoint]
        test = images.test_set(unit)
        if test is not None:
            acts, source = recomputed_activations(unit.meta, stored, test.x[subset]), "recomputed"
        else:
            with np.load(entry.path, allow_pickle=False) as arrays:
                index = arrays["rm_index"]
            positions = np.flatnonzero(np.isin(index, subset))
            acts = {layer: a[:, positions] for layer, a in stored.acts.items()}
            source = "stored"
        layers = rm_layers_of(unit.meta)
        used = acts[layers[0]].shape[1]
        row = {**entry.key, "test_inputs": len(entry.per_input), "subset": len(subset),
               "subset_per": per, "rm_inputs": used, "rm_source": source,
               "pm_full": float(entry.per_input.mean()),
               "pm_subset": float(entry.per_input[subset].mean())}
        notes = ([] if source == "recomputed" else
                 [f"images unavailable: RM(s) on the {used} of the {len(subset)} inputs of s "
                  "whose activations the unit stores"])
        for layer in layers:
            try:
                rm = mm.layer_rm(acts[layer], layer)
                row[f"rm_subset_{layer}"] = rm.rm
                notes += [rm.note] if rm.note else []
            except UserError as error:
                row[f"rm_subset_{layer}"] = np.nan
                notes.append(str(error))
        row["note"] = "; ".join(notes)
        rows.append(row)
    return rows


def keep_all_rows(key, meta, stored, x):
    """Fig. 2's check rows 'svcca_<layer>_keep1': SVCCA keeping every direction (variance
    1.0 instead of 0.99) per layer, on float32 activations recomputed on the unit's stored
    RM inputs x (the stored activations are float16, whose rounding would add directions of
    its own). With no activation after FC(512), 'fc1' is an affine image of 'cnn' and both
    span the same subspace, so at keep = 1.0 their SVCCA agrees up to rounding: the two
    layers are then not independent evidence."""
    acts = recomputed_activations(meta, stored, x)
    rows = []
    for layer in acts:
        value, note = np.nan, ""
        try:
            rm = mm.layer_rm(acts[layer], layer, variance=1.0)
            value, note = -rm.rm, rm.note
        except UserError as error:
            note = str(error)
        rows.append({**key, "ood_set": "test", "metric": f"svcca_{layer}_keep1",
                     "value": value, "note": note})
    return rows
