"""The units of an image sweep: a probe (one variant trained to convergence, for the target)
and a strategy's K variants trained to the target; their hashes and file names."""
import dataclasses
import json
from pathlib import Path

import numpy as np

from image_experiments.prepare import prepare, rm_index
from image_experiments.sweep_config import ImageSweep
from image_experiments.training import (
    Checkpoint,
    Seeds,
    evaluate_checkpoints,
    strategies,
    train_variants,
    variant_seeds,
)
from irrepro import __version__
from irrepro.tables import config_hash, git_commit, tensorflow_version, write_text


@dataclasses.dataclass(frozen=True)
class ProbeUnit:
    """First pass: one variant of ``strategy`` trained until it converges (or epochs_max);
    writes its best test accuracy as JSON to ``path``."""

    sweep: ImageSweep
    strategy: object
    path: Path
    data_dir: str | None = None

    def done(self):
        return self.path.exists()

    def run(self, progress=None):
        prepared = prepare(self.sweep.dataset, self.data_dir, self.sweep.train_subset,
                           self.sweep.test_subset, self.sweep.seed, self.sweep.jitter)
        data = prepared.train
        result = train_variants(data, self.strategy, [Seeds(0, 0)],
                                self.sweep.train_options(pseudo_max=False), None, progress)
        tracker = result.tracker
        # What the training units' estimate (image_experiments.cost) is measured from.
        record = {"best_accuracy": float(tracker.best[0]), "steps": tracker.steps,
                  "accuracy": [float(a[0]) for a in tracker.history],
                  "seconds": result.seconds, "eval_seconds": result.eval_seconds,
                  "test_images": len(data.x_test), "steps_per_epoch": result.steps_per_epoch,
                  "checkpoint_images": sum(len(s.x) for s in prepared.sets)
                  + len(rm_index(len(data.x_test), self.sweep.rm_points, self.sweep.seed)),
                  "regime": self.strategy.regime,
                  "strategy": self.strategy.value, "config_hash": self.sweep.config_hash()}
        write_text(self.path, json.dumps(record))


@dataclasses.dataclass(frozen=True)
class TrainUnit:
    """The K variants of ``strategy`` trained to ``target``; writes their checkpoints'
    predictions and activations to ``path`` (image_experiments.storage)."""

    sweep: ImageSweep
    strategy: object
    target: float
    path: Path
    data_dir: str | None = None

    def done(self):
        return self.path.exists()

    def run(self, progress=None):
        from image_experiments.storage import write_unit

        sweep = self.sweep
        prepared = prepare(sweep.dataset, self.data_dir, sweep.train_subset, sweep.test_subset,
                           sweep.seed, sweep.jitter)
        seeds = variant_seeds(sweep.variants, sweep.vary)
        result = train_variants(prepared.train, self.strategy, seeds, sweep.train_options(),
                                self.target, progress)
        tracker = result.tracker
        if sweep.checkpoint == "final":  # the last evaluation, after epochs_max epochs
            checkpoints = {"final": [Checkpoint(tracker.steps[-1], float(tracker.history[-1][k]),
                                                result.group.get_weights(k))
                                     for k in range(len(seeds))]}
        else:
            checkpoints = {"target": tracker.target}
        meta_extra = {"checkpoint_kind": sweep.checkpoint}
        if sweep.pseudo_max:
            level, checkpoints["pseudo_max"] = tracker.pseudo_max()
            meta_extra["pseudo_max_level"] = level
        index = rm_index(len(prepared.train.x_test), sweep.rm_points, sweep.seed)
        outputs = {kind: evaluate_checkpoints(result.group, chosen, prepared.sets,
                                              prepared.train.x_test[index])
                   for kind, chosen in checkpoints.items()}
        meta = {**unit_meta(self, result.device, result.seconds, result.steps_per_epoch),
                **meta_extra, "notes": list(prepared.notes), "steps_trained": result.steps,
                "search_steps": result.search_steps,
                "search_evaluations": result.search_evaluations}
        write_unit(self.path, meta, [(s.init, s.order) for s in seeds], tracker.steps,
                   np.array(tracker.history), index,
                   {s.name: s.y for s in prepared.sets}, outputs)


def unit_meta(unit, device, seconds, steps_per_epoch):
    """What a stored unit records about itself: its parameters and provenance."""
    sweep, strategy = unit.sweep, unit.strategy
    return {"dataset": sweep.dataset, "regime": strategy.regime, "strategy": strategy.value,
            "lr": strategy.lr, "batch": strategy.batch, "target_accuracy": unit.target,
            "variants": sweep.variants, "vary": sweep.vary, "seed": sweep.seed,
            "activation": sweep.activation, "beta": sweep.beta,
            "fc1_activation": sweep.fc1_activation, "model": sweep.model,
            "layers": list(sweep.architecture().rm_layers), "jitter": sweep.jitter,
            "epochs_max": sweep.epochs_max, "epochs_cap": sweep.train_options().cap(),
            "train_subset": sweep.train_subset, "test_subset": sweep.test_subset,
            "train_seconds": seconds, "steps_per_epoch": steps_per_epoch, "device": device,
            "config_hash": sweep.config_hash(),
            "unit_hash": unit_hash(sweep, strategy, "train", unit.target),
            "irrepro_version": __version__, "tensorflow_version": tensorflow_version(),
            "git_commit": git_commit()}


def unit_hash(sweep, strategy, kind, target=None):
    """A short hash of everything that decides a unit's result: the sweep's training
    parameters, the strategy, the unit kind ('probe' or 'train') and the target."""
    return config_hash({"training": sweep.training_hash(), "regime": strategy.regime,
                  "strategy": strategy.value, "kind": kind, "target": target})


def unit_path(out, kind, sweep, strategy, target=None):
    """OUT/probe/<regime>-<value>-<hash>.json or OUT/units/<regime>-<value>-<hash>.npz."""
    folder, suffix = ("probe", ".json") if kind == "probe" else ("units", ".npz")
    name = f"{strategy.regime}-{strategy.value:g}-{unit_hash(sweep, strategy, kind, target)}"
    return Path(out) / folder / (name + suffix)


def probe_units(sweep, out, data_dir=None):
    """The probe units of the regimes without a given target (none with --checkpoint
    final: fixed epochs, no target to find)."""
    if sweep.checkpoint == "final":
        return []
    return [ProbeUnit(sweep, s, unit_path(out, "probe", sweep, s), data_dir)
            for regime in sweep.regimes() if sweep.target_for(regime) is None
            for s in strategies(regime, sweep.strategies)]


def train_units(sweep, out, targets, data_dir=None):
    """One unit per strategy of every regime, trained towards the regime's target."""
    return [TrainUnit(sweep, s, targets[regime],
                      unit_path(out, "train", sweep, s, targets[regime]), data_dir)
            for regime in sweep.regimes() for s in strategies(regime, sweep.strategies)]
