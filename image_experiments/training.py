"""Seed variants of one training strategy, stopped at equal risk (Heljakka et al., 2023).

A *regime* varies one hyper-parameter over seven *strategies* (appendix B): the learning
rate at batch 64, or the batch size at learning rate 1e-4; Adam, cross-entropy. Each
strategy trains K *variants* that differ only in their seeds: an initialisation seed (the
initial weights) and a data-order seed (the order of the mini-batches). With ``vary``
'both' (the paper's) variant k has init seed k and order seed k; with 'init' or 'order' only
that seed is k and the other is 0 for every variant. Pairs of variants thus differ in their
init seed, their order seed or both, as the simulator's model pairs do.

Risk equivalence: the test accuracy of every variant is measured ``evals_per_epoch`` times
per epoch (the *coarse* evaluations). When a coarse evaluation finds a variant at or above the
regime's target for the first time, training goes back to the state saved at the previous
coarse evaluation (weights and Adam's moments) and steps forward again with finer
evaluations, :data:`REFINE` per interval, narrowing the interval level by level down to one
optimizer step (:func:`locate_crossings`). The variant's *target* checkpoint is then the state
after the first step that takes its accuracy from below the target to at or above it, and the
accuracy recorded is the one that chose it; with the same seeds the same steps are replayed,
so the result is deterministic. Checkpoint accuracies then lie within the band
[target, target + :func:`risk_band`] unless one optimizer step jumps over all of it, which the
checkpoint records (``previous``, the accuracy one step before) so that the tables can flag it.
The coarse-to-fine search sees every step of the last level, but not every step of the
coarser ones: a brief excursion above the target between two evaluations below it is missed.

Training goes on (checkpointing, not stopping) until every variant has its target checkpoint,
and, when the pseudo-maximum is asked for (appendix C), until no variant improved for
``patience`` evaluations, both within ``epochs_max``; a variant that has not reached the target
by then trains on, up to ``epochs_cap`` (default twice ``epochs_max``), rather than silently
dropping out. The *pseudo_max* level is the highest accuracy that at least half the variants
(and at least two) reached, and each of those variants is checkpointed at its first coarse
evaluation reaching it.
"""
import contextlib
import dataclasses
import time

import numpy as np

from irrepro.cores import usable_cores
from irrepro.errors import UserError
from irrepro.progress import progress_bar
from irrepro.streams import Role, rng_for

REGIMES = {"lr": (3e-3, 2e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5),
           "batch": (8, 16, 32, 64, 128, 256, 512)}
FIXED = {"lr": 1e-4, "batch": 64}  # each regime's other hyper-parameter
VARY = ("both", "init", "order")
#: Finer evaluations per interval when a coarse evaluation crosses the target.
REFINE = 8
#: Width of the risk-equivalence band: 0.3 pp, or two test inputs on small test sets.
BAND_FRACTION, BAND_INPUTS = 0.003, 2


def risk_band(n_test):
    """How far above the target a checkpoint's test accuracy may lie on ``n_test`` inputs:
    max(0.003, 2 / n_test)."""
    return max(BAND_FRACTION, BAND_INPUTS / n_test)


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One value of a regime's hyper-parameter: regime 'lr' or 'batch', and its value."""

    regime: str
    value: float

    @property
    def lr(self):
        return float(self.value) if self.regime == "lr" else FIXED["lr"]

    @property
    def batch(self):
        return int(self.value) if self.regime == "batch" else FIXED["batch"]

    @property
    def name(self):
        return f"{self.regime}={self.value:g}"


def strategies(regime, values=None):
    """The strategies of ``regime`` in the paper's order, restricted to ``values`` if given
    (values not in the regime are ignored; none left is a UserError)."""
    if regime not in REGIMES:
        raise UserError(f"unknown regime '{regime}'; choose lr, batch or both")
    chosen = [v for v in REGIMES[regime]
              if values is None or any(np.isclose(v, float(w)) for w in values)]
    if not chosen:
        listed = ", ".join(f"{v:g}" for v in REGIMES[regime])
        raise UserError(f"--strategies selects none of the {regime} regime's values "
                        f"({listed}); give some of them, comma-separated")
    return [Strategy(regime, v) for v in chosen]


@dataclasses.dataclass(frozen=True)
class Seeds:
    """A variant's seeds: initial weights and mini-batch order."""

    init: int
    order: int


def variant_seeds(k, vary="both"):
    """The seeds of variants 0..k-1: variant i gets seed i for the seeds ``vary`` names
    ('both', 'init' or 'order') and 0 for the other."""
    if vary not in VARY:
        raise UserError(f"unknown --vary '{vary}'; choose one of {', '.join(VARY)}")
    return [Seeds(i if vary in ("both", "init") else 0, i if vary in ("both", "order") else 0)
            for i in range(k)]


def init_rng(seed, seeds):
    """The Generator drawing a variant's initial weights (experiment ``seed``)."""
    return rng_for(seed, Role.IMAGE_INIT, seeds.init)


class BatchOrder:
    """The mini-batches of one variant: the n training examples epoch after epoch, each
    epoch in its own permutation keyed on (seed, order seed, epoch). Batches run across
    epoch boundaries, so every batch is full and every example is seen once per n examples.
    """

    def __init__(self, n, batch, seed, order_seed):
        self.n, self.batch, self.seed, self.order_seed = n, batch, seed, order_seed
        self._perms = {}

    def _perm(self, epoch):
        if epoch not in self._perms:
            self._perms = {epoch: rng_for(self.seed, Role.IMAGE_ORDER, self.order_seed, epoch)
                           .permutation(self.n)}  # batches go forward: one epoch cached
        return self._perms[epoch]

    def batches(self, start, steps):
        """Example indices of steps start .. start+steps-1: int64 [steps, batch]."""
        positions = np.arange(start * self.batch, (start + steps) * self.batch)
        epochs = positions // self.n
        out = np.empty_like(positions)
        for epoch in np.unique(epochs):
            where = epochs == epoch
            out[where] = self._perm(int(epoch))[positions[where] % self.n]
        return out.reshape(steps, self.batch)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A variant's weights at one evaluation: training step, test accuracy, weights, and
    (target checkpoints) ``previous``, its accuracy one optimizer step earlier (NaN where
    that state was never evaluated: step 0, or a coarse pseudo-maximum checkpoint)."""

    step: int
    accuracy: float
    weights: list
    previous: float = float("nan")


class Tracker:
    """Watches the test accuracy of K variants at every evaluation and keeps checkpoints.

    ``target[k]``: variant k's first evaluation with accuracy >= ``target`` (None until
    then; ``target=None`` keeps none). With ``keep_best``, the weights at each new best
    accuracy of each variant are kept too, as candidates for the pseudo-maximum checkpoint,
    minus those that can no longer be it (see :meth:`update`).
    """

    def __init__(self, k, target=None, keep_best=False, patience=None):
        self.k, self.goal, self.keep_best, self.patience = k, target, keep_best, patience
        self.target = [None] * k
        self.best = np.full(k, -np.inf)
        self.records = [[] for _ in range(k)]  # keep_best: Checkpoints at new bests
        self.steps, self.history = [], []  # every evaluation: step, accuracies [K]
        self._since_improved = 0

    def update(self, step, accuracies, weights_of, located=None):
        """Record one evaluation: ``accuracies`` float [K]; ``weights_of(k)`` copies variant
        k's current weights (called only when they are kept); ``located`` {k: Checkpoint}:
        the finer-located target checkpoints of variants that reach the target here."""
        self.steps.append(step)
        self.history.append(np.asarray(accuracies, float))
        improved = False
        for k, acc in enumerate(accuracies):
            reached = self.goal is not None and acc >= self.goal and self.target[k] is None
            better = acc > self.best[k]
            improved |= better
            if not (reached or (better and self.keep_best)):
                continue
            checkpoint = Checkpoint(step, float(acc), weights_of(k))
            if reached:
                self.target[k] = (located or {}).get(k, checkpoint)
            if better and self.keep_best:
                self.records[k].append(checkpoint)
        self.best = np.maximum(self.best, accuracies)
        self._since_improved = 0 if improved else self._since_improved + 1
        if self.keep_best:
            # The pseudo-maximum level can only rise above the current one, and a variant's
            # checkpoint for it is its first record at or above it: lower records are dead.
            floor = self.pseudo_max_level()
            self.records = [[r for r in rec if r.accuracy >= floor] for rec in self.records]

    def all_reached(self):
        return all(c is not None for c in self.target)

    def converged(self):
        """No variant improved in the last ``patience`` evaluations."""
        return self.patience is not None and self._since_improved >= self.patience

    def done(self):
        """Whether training can stop: every target checkpoint taken (when no pseudo-maximum
        is wanted), or converged."""
        if self.keep_best or self.goal is None:
            return self.converged()
        return self.all_reached()

    def pseudo_max_level(self):
        """The highest accuracy reached by at least half of the variants (ceil(K/2)), and by
        at least two of them: multiplicity needs two (a single variant: its best)."""
        reached_by = min(self.k, max(2, (self.k + 1) // 2))
        return float(np.sort(self.best)[::-1][reached_by - 1])

    def pseudo_max(self):
        """(level, [Checkpoint or None] per variant): each variant's first evaluation at or
        above the pseudo-maximum level."""
        level = self.pseudo_max_level()
        return level, [next((r for r in rec if r.accuracy >= level), None)
                       for rec in self.records]


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """How the variants of a strategy train: the ``model`` ('cnn', the appendix-B CNN, or a
    user's 'package.module:function', see :mod:`image_experiments.architecture`) and the
    ``layers`` RM compares (empty: the CNN's), the CNN's activation (and its beta, and the
    activation after fc1), the experiment seed, ``epochs_max`` (hard limit), test evaluations
    per epoch, ``pseudo_max`` (also find the pseudo-maximum checkpoint: trains until
    converged), the patience of that convergence test in evaluations, and ``epochs_cap``:
    how long a variant that has not reached the target by ``epochs_max`` trains on (None:
    twice ``epochs_max``). An image sweep inherits these fields."""

    activation: str = "relu"
    beta: float = 1.0
    seed: int = 0
    epochs_max: float = 20.0
    evals_per_epoch: int = 4
    pseudo_max: bool = False
    patience: int = 8
    epochs_cap: float | None = None
    fc1_activation: str = "none"
    model: str = "cnn"
    layers: tuple = ()

    def architecture(self):
        """The :class:`~image_experiments.architecture.Architecture` its variants train."""
        from image_experiments.architecture import Architecture

        return Architecture(self.model, tuple(self.layers), self.activation, self.beta,
                            self.fc1_activation)

    def cap(self):
        """The longest training in epochs: ``epochs_cap``, or twice ``epochs_max``, and never
        less than ``epochs_max``."""
        return max(self.epochs_max, 2 * self.epochs_max if self.epochs_cap is None
                   else self.epochs_cap)


@dataclasses.dataclass(frozen=True, eq=False)
class TrainData:
    """A training set x_train float32 [n, H, W, C] in [0, 1], y_train int [n], and the test
    set (x_test, y_test) whose accuracy decides the checkpoints; ``classes`` outputs."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int


@dataclasses.dataclass
class TrainResult:
    """What training a strategy's variants gave. ``tracker`` holds the history and the
    checkpoints; ``group`` the trained models (for evaluating checkpoints); ``seconds`` the
    training time; ``steps_per_epoch`` to convert steps to epochs; ``device`` where it ran;
    ``steps`` trained in all; ``search_steps`` and ``search_evaluations``: what locating the
    target checkpoints cost on top (replayed steps of the group; finer evaluations of one
    variant each, a coarse evaluation being K of them); ``eval_seconds`` the part of
    ``seconds`` spent in the coarse test-set evaluations."""

    tracker: Tracker
    group: object
    seconds: float
    steps_per_epoch: float
    device: str
    steps: int = 0
    search_steps: int = 0
    search_evaluations: int = 0
    eval_seconds: float = 0.0


def eval_interval(n_train, batch, evals_per_epoch):
    """Training steps between evaluations: 1/evals_per_epoch of an epoch, at least 1."""
    return max(1, int(round(n_train / batch / evals_per_epoch)))


def train_variants(data, strategy, seeds, options, target=None, progress=None):
    """Train the variants ``seeds`` (list of :class:`Seeds`) of ``strategy`` on ``data``
    (a :class:`TrainData`) together, on the GPU when there is one, evaluating test accuracy
    every 1/evals_per_epoch epoch and locating each target checkpoint to one step (see the
    module docs); returns a :class:`TrainResult`."""
    from image_experiments.group import VariantGroup

    device = setup_device()
    group = VariantGroup.build(options.architecture(), data.x_train.shape[1:], data.classes,
                               [init_rng(options.seed, s) for s in seeds], strategy.lr,
                               data.x_train, data.y_train)
    n = len(data.x_train)
    orders = [BatchOrder(n, strategy.batch, options.seed, s.order) for s in seeds]
    interval = eval_interval(n, strategy.batch, options.evals_per_epoch)
    max_steps = max(1, int(np.ceil(options.epochs_max * n / strategy.batch)))
    cap_steps = max(max_steps, int(np.ceil(options.cap() * n / strategy.batch)))
    tracker = Tracker(len(seeds), target, keep_best=options.pseudo_max,
                      patience=options.patience)
    search = Search(group, orders, data, target)

    def more(step):
        if step >= cap_steps:
            return False
        if target is not None and not tracker.all_reached():
            return True  # on past epochs_max, up to the cap, until every variant has one
        return step < max_steps and not tracker.done()

    started, step, eval_seconds = time.perf_counter(), 0, 0.0
    previous, saved = np.full(len(seeds), np.nan), None
    with progress_bar(max_steps, "steps", progress, strategy.name) as bar:
        while more(step):
            searching = target is not None and not tracker.all_reached()
            if searching:
                saved = group.state()  # where a finer search would start from
            # Only a variant still short of the target trains past epochs_max.
            steps = min(interval, (cap_steps if searching else max_steps) - step)
            group.train(search.batches(step, steps))
            evaluated = time.perf_counter()
            accuracies = group.accuracy(data.x_test, data.y_test)
            eval_seconds += time.perf_counter() - evaluated
            crossing = [k for k, c in enumerate(tracker.target) if c is None
                        and target is not None and accuracies[k] >= target]
            located = {}
            if crossing:
                here = group.state()
                located = search.locate(crossing, step, saved, previous, step + steps,
                                        accuracies, {k: group.get_weights(k) for k in crossing})
                group.restore(here)
            step += steps
            tracker.update(step, accuracies, group.get_weights, located)
            previous = accuracies
            bar.update(steps)
            bar.set_postfix(accuracy=f"{accuracies.min():.3f}..{accuracies.max():.3f}")
    return TrainResult(tracker, group, time.perf_counter() - started, n / strategy.batch,
                       device, step, search.extra_steps, search.evaluations, eval_seconds)


class Search:
    """Finds where variants first cross ``target`` inside an interval of training steps by
    replaying it from a saved state with finer evaluations (see the module docs). Counts the
    extra training steps and evaluations it costs."""

    def __init__(self, group, orders, data, target, refine=REFINE):
        self.group, self.orders, self.data, self.target = group, orders, data, target
        self.refine = refine
        self.extra_steps, self.evaluations = 0, 0

    def batches(self, start, steps):
        """Every variant's batch indices of steps start .. start+steps-1: [steps, K, batch]."""
        return np.stack([order.batches(start, steps) for order in self.orders], axis=1)

    def locate(self, variants, lo, lo_state, lo_accuracy, hi, hi_accuracy, hi_weights):
        """{k: Checkpoint} of ``variants``, each below the target at step ``lo`` (state
        ``lo_state``, accuracies ``lo_accuracy`` [K], NaN where not evaluated) and at or above
        it at step ``hi`` (accuracies ``hi_accuracy`` [K], weights ``hi_weights`` {k: list}):
        the first step of a coarse-to-fine search at which each is at or above it."""
        if hi - lo <= 1:
            return {k: Checkpoint(hi, float(hi_accuracy[k]), hi_weights[k],
                                  float(lo_accuracy[k])) for k in variants}
        width = -(-(hi - lo) // self.refine)  # ceil: at most `refine` sub-intervals
        self.group.restore(lo_state)
        found, pending = {}, list(variants)
        start, start_state, start_accuracy = lo, lo_state, lo_accuracy
        for point in range(lo + width, hi, width):
            self.group.train(self.batches(start, point - start))
            self.extra_steps += point - start
            # only the variants still searched for run: a finer evaluation costs 1/K of a
            # coarse one per variant searched
            accuracy = self.group.accuracy_of(pending, self.data.x_test, self.data.y_test)
            self.evaluations += len(pending)
            newly = [k for k in pending if accuracy[k] >= self.target]
            if newly:
                weights = {k: self.group.get_weights(k) for k in newly}
                here = self.group.state()
                found.update(self.locate(newly, start, start_state, start_accuracy, point,
                                         accuracy, weights))
                self.group.restore(here)
                pending = [k for k in pending if k not in newly]
            if not pending:
                return found
            start, start_state, start_accuracy = point, self.group.state(), accuracy
        found.update(self.locate(pending, start, start_state, start_accuracy, hi, hi_accuracy,
                                 hi_weights))
        return found


@dataclasses.dataclass(frozen=True)
class CheckpointOutputs:
    """What the variants of one checkpoint kind predict. ``variants`` int [k]: the variants
    that have a checkpoint (the others never reached its accuracy); ``steps`` int [k] and
    ``accuracy`` float [k]: where each was taken and its test accuracy then; ``logp``:
    {set name: float32 [k, N, C] log-probabilities}; ``acts``: {layer: float32 [k, n, p]}
    on the RM inputs; ``weights``: the checkpoints' weights, a list (Keras order) of float32
    arrays [k, *shape], so that analyses that need the models (attacks) can rebuild them;
    ``previous`` float [k]: each one's accuracy one optimizer step before (NaN: not
    evaluated, or a unit stored before it was recorded)."""

    variants: np.ndarray
    steps: np.ndarray
    accuracy: np.ndarray
    logp: dict
    acts: dict
    weights: list
    previous: np.ndarray | None = None

    def previous_accuracy(self):
        """``previous``, NaN-filled when the unit did not record it: float [k]."""
        if self.previous is None:
            return np.full(len(self.variants), np.nan)
        return np.asarray(self.previous, float)

    def variant_weights(self, i):
        """The Keras weight list of the i-th checkpointed model (of ``variants[i]``)."""
        return [w[i] for w in self.weights]

    def probs(self, name):
        """Class probabilities of every checkpointed model on set ``name``: float32 [k, N, C]."""
        return np.exp(self.logp[name].astype(np.float32))


def evaluate_checkpoints(group, checkpoints, sets, rm_x):
    """Load each variant's checkpoint (a list with one Checkpoint or None per variant) into
    ``group`` and predict every set (objects with ``name`` and ``x``) and the RM inputs
    rm_x [n, H, W, C]. Returns :class:`CheckpointOutputs`."""
    from scipy.special import log_softmax

    variants = np.array([k for k, c in enumerate(checkpoints) if c is not None], int)
    for k in variants:
        group.set_weights(k, checkpoints[k].weights)
    logp = {s.name: log_softmax(group.logits(s.x), axis=-1)[variants] for s in sets}
    acts = {layer: a[variants] for layer, a in group.activations(rm_x).items()}
    weights = [np.stack(ws) for ws in zip(*(checkpoints[k].weights for k in variants))]
    return CheckpointOutputs(variants, np.array([checkpoints[k].step for k in variants], int),
                             np.array([checkpoints[k].accuracy for k in variants]), logp, acts,
                             weights,
                             np.array([checkpoints[k].previous for k in variants], float))


def gpu_name():
    """The name of the first GPU TensorFlow sees, or None."""
    from irrepro.tf import tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return details.get("device_name", gpus[0].name)


def setup_device():
    """Prepare TensorFlow for training and name the device it will use: GPUs allocate
    memory as needed (so that several workers can share one) and every op runs its
    deterministic kernel, so that one seed gives one result."""
    from irrepro.tf import tf

    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: already initialised by an earlier call, which keeps its setting.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    tf.config.experimental.enable_op_determinism()
    name = gpu_name()
    return f"GPU ({name})" if name else f"CPU ({usable_cores()} cores)"
