"""``imgctl sweep``: seed variants of every training strategy of a data set, as resumable units.

A sweep (configs/img_<name>.yaml, overridden by command-line flags) trains, for each regime
(learning rate, batch size) and each of its strategies, K seed variants together, and stores
their predictions and activations at the risk-equivalent checkpoints. Layout under OUT
(default results/img-<name>):

    OUT/probe/<regime>-<value>-<hash>.json   first pass, only without a given target: one
                                             variant per strategy trained to convergence,
                                             its best test accuracy
    OUT/units/<regime>-<value>-<hash>.npz    one per strategy: K variants (image_experiments
                                             .storage), written atomically
    OUT/variants.csv, strategies.csv, pairs.csv   the tidy analysis (image_experiments
                                             .analysis), rewritten after every run

Units are idempotent: a unit whose file exists is skipped, so an interrupted sweep resumes
where it stopped. The hash in a unit's name covers every parameter that changes its result,
so changing one trains new units instead of mixing results; the regimes and strategies chosen
are not among them, so a sweep extended by a regime or strategies trains only the new units.
Without a given target, a regime's target is the lowest best accuracy over its strategies'
probes minus ``target_margin``, rounded down to 0.001: an accuracy every strategy reaches
comfortably (adding a strategy that reaches less lowers it, and so retrains the regime).
"""
import dataclasses
import functools
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import yaml

from image_experiments.cnn import FC1_ACTIVATIONS
from image_experiments.datasets import load_dataset
from image_experiments.training import (REGIMES, VARY, Seeds, TrainData, TrainOptions,
                                        evaluate_checkpoints, strategies,
                                        train_variants, variant_seeds)
from image_experiments.transforms import JITTERS, OODSet, ood_sets, training_images
from simulator import __version__
from simulator.activations import ACTIVATIONS
from simulator.data import rng_for
from simulator.errors import UserError
from simulator.results import check_writable, git_commit, write_atomic
from simulator.sweep import run_units

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
PRESETS = ("mnist", "fashion_mnist", "cifar9", "svhn", "digits")
ROLE_TRAIN_SUBSET, ROLE_TEST_SUBSET, ROLE_RM = 103, 104, 105  # random stream roles
RUN_ONLY = ("name", "scheduler", "workers")  # parameters that do not change a result
# Parameters that choose which units run, or decide a regime's target, which a unit's hash
# holds itself: leaving them out of the unit hash lets a sweep grow (another regime, more
# strategies) without retraining the units it already has.
SELECTION = ("regime", "strategies", "target_accuracy", "target_margin")


@dataclasses.dataclass(frozen=True)
class ImageSweep:
    """The parameters of an image sweep (see configs/img_*.yaml for their meaning).

    ``strategies``: values kept from each regime (None: all seven); ``train_subset`` /
    ``test_subset``: random subsets of that many images (None: all); ``target_accuracy``: a
    float, a mapping regime -> float, or None (found by the probe pass); ``scheduler`` /
    ``workers``: where the units run (see simulator.executors), not part of the results.
    """

    name: str
    dataset: str
    regime: str = "both"
    variants: int = 10
    strategies: tuple | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    epochs_max: float = 20.0
    epochs_cap: float | None = None
    evals_per_epoch: int = 4
    target_accuracy: float | dict | None = None
    target_margin: float = 0.005
    pseudo_max: bool = False
    patience: int = 8
    rm_points: int = 2560
    activation: str = "relu"
    beta: float = 1.0
    fc1_activation: str = "none"
    jitter: str = "torchvision"
    vary: str = "both"
    seed: int = 0
    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self):
        if self.dataset not in PRESETS:
            raise UserError(f"cannot sweep data set '{self.dataset}'; choose one of "
                            f"{', '.join(PRESETS)}")
        if self.regime not in (*REGIMES, "both"):
            raise UserError(f"unknown --regime '{self.regime}'; choose lr, batch or both")
        if self.vary not in VARY:
            raise UserError(f"unknown vary '{self.vary}'; choose one of {', '.join(VARY)}")
        if self.activation not in ACTIVATIONS:
            raise UserError(f"unknown activation '{self.activation}'; choose one of "
                            f"{', '.join(ACTIVATIONS)}")
        if self.fc1_activation not in FC1_ACTIVATIONS:
            raise UserError(f"unknown fc1 activation '{self.fc1_activation}'; choose "
                            f"{' or '.join(FC1_ACTIVATIONS)}")
        if self.jitter not in JITTERS:
            raise UserError(f"unknown jitter '{self.jitter}'; choose {' or '.join(JITTERS)}")
        if self.variants < 2:
            raise UserError(f"--variants must be at least 2 (got {self.variants}): "
                            "multiplicity compares variants")
        for name in ("train_subset", "test_subset", "evals_per_epoch", "patience",
                     "rm_points"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer "
                                f"(got {value})")
        if not self.epochs_max > 0:
            raise UserError(f"--epochs-max must be > 0 (got {self.epochs_max})")
        if self.epochs_cap is not None and not self.epochs_cap >= self.epochs_max:
            raise UserError(f"--epochs-cap must be at least --epochs-max ({self.epochs_max}; "
                            f"got {self.epochs_cap})")
        for regime in self.regimes():
            target = self.target_for(regime)
            if target is not None and not 0 < target <= 1:
                raise UserError(f"the target accuracy must be in (0, 1] (got {target})")
            strategies(regime, self.strategies)  # a UserError if none is selected

    def regimes(self):
        return list(REGIMES) if self.regime == "both" else [self.regime]

    def target_for(self, regime):
        """The given target accuracy of ``regime``, or None (to be found)."""
        if isinstance(self.target_accuracy, dict):
            return self.target_accuracy.get(regime)
        return self.target_accuracy

    def options(self, target, pseudo_max=None):
        """The :class:`TrainOptions` for training towards ``target``."""
        return TrainOptions(self.activation, self.beta, self.seed, self.epochs_max,
                            self.evals_per_epoch, target,
                            self.pseudo_max if pseudo_max is None else pseudo_max,
                            self.patience, self.epochs_cap, self.fc1_activation)

    def as_dict(self):
        params = dataclasses.asdict(self)
        params["strategies"] = list(self.strategies) if self.strategies else None
        return params

    def config_hash(self):
        """A short stable hash of the parameters that change results (not RUN_ONLY)."""
        return _hash({k: v for k, v in self.as_dict().items() if k not in RUN_ONLY})

    def training_hash(self):
        """A short stable hash of the parameters that decide how a strategy's variants
        train and are measured (not RUN_ONLY, not SELECTION)."""
        return _hash({k: v for k, v in self.as_dict().items()
                      if k not in RUN_ONLY + SELECTION})


def _hash(params):
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def config_path(name):
    """The YAML of a preset NAME (configs/img_<name>.yaml) or NAME itself if it is a file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path
    if name not in PRESETS:
        raise UserError(f"unknown sweep '{name}'; choose one of {', '.join(PRESETS)} or give "
                        "a YAML file")
    return CONFIG_DIR / f"img_{name}.yaml"


def load_sweep(name, overrides=None, smoke=False):
    """The :class:`ImageSweep` of preset or file ``name``, with its 'smoke' block applied
    when ``smoke`` and then ``overrides`` (a dict; None values are ignored)."""
    path = config_path(name)
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise UserError(f"cannot read sweep config {path}: {error.strerror}") from None
    except yaml.YAMLError:
        raise UserError(f"sweep config {path} is not valid YAML") from None
    smoke_block = config.pop("smoke", None) or {}
    params = {**config, **(smoke_block if smoke else {}),
              **{k: v for k, v in (overrides or {}).items() if v is not None}}
    fields = {f.name for f in dataclasses.fields(ImageSweep)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise UserError(f"unknown parameter(s) {', '.join(unknown)} in {path}; known: "
                        f"{', '.join(sorted(fields))}")
    params.setdefault("name", f"img-{path.stem.removeprefix('img_')}")
    if params.get("strategies") is not None:
        params["strategies"] = tuple(float(v) for v in params["strategies"])
    try:
        return ImageSweep(**params)
    except TypeError as error:
        raise UserError(f"sweep config {path}: {error}") from None


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """A data set ready for a unit: training data, the evaluation sets ('test' first, then
    the OOD sets) and notes on OOD sets skipped."""

    train: TrainData
    sets: list
    notes: tuple


@functools.lru_cache(maxsize=2)
def prepare(dataset, data_dir, train_subset, test_subset, seed, jitter="torchvision"):
    """Load ``dataset`` at its training shape (``transforms.training_images``: SVHN grey
    28x28) and build its OOD sets (cached per process: every unit of a sweep uses the same).
    Subsets are random, keyed on ``seed``; the OOD sets transform the test subset (colour
    jitter read as ``jitter``), and a larger cross-data set is cut to the test subset's
    size."""
    data = load_dataset(dataset, data_dir)
    train = _subset(len(data.x_train), train_subset, seed, ROLE_TRAIN_SUBSET)
    test = _subset(len(data.x_test), test_subset, seed, ROLE_TEST_SUBSET)
    x_test, y_test = training_images(dataset, data.x_test[test]), data.y_test[test]
    others, notes = ood_sets(dataset, x_test, y_test, seed, data_dir, jitter)
    cut = []
    for ood in others:
        keep = _subset(len(ood.x), test_subset, seed, ROLE_TEST_SUBSET)
        cut.append(OODSet(ood.name, ood.x[keep], ood.y[keep]))
    train_data = TrainData(training_images(dataset, data.x_train[train]), data.y_train[train],
                           x_test, y_test, len(data.class_names))
    return Prepared(train_data, [OODSet("test", x_test, y_test), *cut], tuple(notes))


def _subset(n, size, seed, role):
    """Sorted indices of a random subset of ``size`` of range(n) (all of them when size is
    None or at least n)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng_for(seed, role).permutation(n)[:size])


def rm_index(n_test, points, seed):
    """The test inputs whose activations are stored for RM: a fixed random subset."""
    return _subset(n_test, points, seed, ROLE_RM)


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
        data = prepare(self.sweep.dataset, self.data_dir, self.sweep.train_subset,
                       self.sweep.test_subset, self.sweep.seed, self.sweep.jitter).train
        result = train_variants(data, self.strategy, [Seeds(0, 0)],
                                self.sweep.options(None, pseudo_max=False), progress)
        tracker = result.tracker
        record = {"best_accuracy": float(tracker.best[0]), "steps": tracker.steps,
                  "accuracy": [float(a[0]) for a in tracker.history],
                  "seconds": result.seconds, "regime": self.strategy.regime,
                  "strategy": self.strategy.value, "config_hash": self.sweep.config_hash()}
        write_atomic(self.path, lambda tmp: Path(tmp).write_text(json.dumps(record)))


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
        result = train_variants(prepared.train, self.strategy, seeds,
                                sweep.options(self.target), progress)
        tracker = result.tracker
        checkpoints = {"target": tracker.target}
        meta_extra = {}
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
    import tensorflow as tf

    sweep, strategy = unit.sweep, unit.strategy
    return {"dataset": sweep.dataset, "regime": strategy.regime, "strategy": strategy.value,
            "lr": strategy.lr, "batch": strategy.batch, "target_accuracy": unit.target,
            "variants": sweep.variants, "vary": sweep.vary, "seed": sweep.seed,
            "activation": sweep.activation, "beta": sweep.beta,
            "fc1_activation": sweep.fc1_activation, "jitter": sweep.jitter,
            "epochs_max": sweep.epochs_max,
            "epochs_cap": TrainOptions(epochs_max=sweep.epochs_max,
                                       epochs_cap=sweep.epochs_cap).cap(),
            "train_subset": sweep.train_subset, "test_subset": sweep.test_subset,
            "train_seconds": seconds, "steps_per_epoch": steps_per_epoch, "device": device,
            "config_hash": sweep.config_hash(),
            "unit_hash": unit_hash(sweep, strategy, "train", unit.target),
            "irrepro_version": __version__, "tensorflow_version": tf.__version__,
            "git_commit": git_commit()}


def unit_hash(sweep, strategy, kind, target=None):
    """A short hash of everything that decides a unit's result: the sweep's training
    parameters, the strategy, the unit kind ('probe' or 'train') and the target."""
    return _hash({"training": sweep.training_hash(), "regime": strategy.regime,
                  "strategy": strategy.value, "kind": kind, "target": target})


def unit_path(out, kind, sweep, strategy, target=None):
    """OUT/probe/<regime>-<value>-<hash>.json or OUT/units/<regime>-<value>-<hash>.npz."""
    folder, suffix = ("probe", ".json") if kind == "probe" else ("units", ".npz")
    name = f"{strategy.regime}-{strategy.value:g}-{unit_hash(sweep, strategy, kind, target)}"
    return Path(out) / folder / (name + suffix)


def probe_units(sweep, out, data_dir=None):
    """The probe units of the regimes without a given target."""
    return [ProbeUnit(sweep, s, unit_path(out, "probe", sweep, s), data_dir)
            for regime in sweep.regimes() if sweep.target_for(regime) is None
            for s in strategies(regime, sweep.strategies)]


def targets_from(sweep, probes):
    """Each regime's target: given, or from its finished probes (see the module docs)."""
    targets = {}
    for regime in sweep.regimes():
        given = sweep.target_for(regime)
        if given is not None:
            targets[regime] = given
            continue
        best = [json.loads(p.path.read_text())["best_accuracy"]
                for p in probes if p.strategy.regime == regime]
        targets[regime] = math.floor((min(best) - sweep.target_margin) * 1000) / 1000
    return targets


def train_units(sweep, out, targets, data_dir=None):
    """One unit per strategy of every regime, trained towards the regime's target."""
    return [TrainUnit(sweep, s, targets[regime],
                      unit_path(out, "train", sweep, s, targets[regime]), data_dir)
            for regime in sweep.regimes() for s in strategies(regime, sweep.strategies)]


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """What :func:`run_sweep` did: units run and already done (probe and training), the
    regimes' targets, the tables written ({level: path}) and the notes units recorded."""

    probes_run: int
    probes: int
    units_run: int
    units: int
    targets: dict
    written: dict
    notes: list


def run_sweep(sweep, out, data_dir=None, executor=None, progress=None):
    """Run the probe pass where a regime has no target, then every training unit not yet
    done, then write the tables from all the sweep's units. Returns a :class:`SweepReport`."""
    from image_experiments.analysis import write_tables

    out = Path(out)
    check_writable(out / "units" / "probe.npz")
    probes = probe_units(sweep, out, data_dir)
    probes_run = run_units(probes, executor, progress, noun="units", desc="probes")
    targets = targets_from(sweep, probes)
    units = train_units(sweep, out, targets, data_dir)
    units_run = run_units(units, executor, progress, noun="units", desc="strategies")
    written, notes = write_tables([u.path for u in units], out)
    return SweepReport(probes_run, len(probes), units_run, len(units), targets, written, notes)
