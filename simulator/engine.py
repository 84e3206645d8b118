"""The many-model training engine: all 2M models of a setting train together.

The models' weights are stacked along a leading model axis and one XLA-compiled
``tf.while_loop`` runs many mini-batch steps per call, each step updating every model. The
loss is the *sum* of the per-model mean losses, so each model's gradient is exactly the one it
would get alone, and the Keras optimizers' update steps (AdaGrad, SGD; simulator.updates)
update the stacked variables element-wise, exactly as they would update each model alone.
Nothing couples the models, so on a CPU they are split into stacks, at least one per core and
more where a stack's weights would not stay in cache, trained on one thread per core
(``train_shards``) by one compiled program.
"""
import dataclasses
import glob
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from irrepro.cores import usable_cores
from irrepro.keras_activations import get_activation
from irrepro.progress import progress_bar
from irrepro.streams import Role, rng_for
from irrepro.tf import keras, tf
from simulator.bytes import byte_bits
from simulator.cost import EVAL_CHUNK, check_memory, n_parameters
from simulator.cost import steps_per_call as call_steps
from simulator.data import (
    DATA_MODELS,
    FEATURE_MASK,
    LABEL_BIT,
    N_FEATURES,
    PairedBatches,
    evaluation_set,
    unpack_features,
)
from simulator.metrics import absolute_pd, deviation_cosine, excess_loss, relative_pd
from simulator.models import parse_model, stacked_init
from simulator.updates import StackUpdate

ADAGRAD_INITIAL_ACCUMULATOR = 0.1
SGD_MOMENTUM = 0.9
SGD_INVERSE_TIME_DECAY = 1e-3

# Every setting compiles its own step function; TensorFlow's retracing warning is noise here.
tf.get_logger().setLevel("ERROR")


def make_optimizer(name, lr):
    """The paper's optimizers: AdaGrad (initial accumulator 0.1) or SGD (momentum 0.9,
    learning rate lr / (1 + 0.001 * step))."""
    if name == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=lr,
                                        initial_accumulator_value=ADAGRAD_INITIAL_ACCUMULATOR)
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        lr, decay_steps=1, decay_rate=SGD_INVERSE_TIME_DECAY)
    return keras.optimizers.SGD(learning_rate=schedule, momentum=SGD_MOMENTUM)


#: The 8 bits of every byte value, float32 [256, 8]. The features are unpacked by looking up
#: each of the 4 feature bytes rather than shifting out each of the 32 bits: the same
#: features, and in one process, alternating, best of 20 calls (32 models, batch 32, 2-core
#: AVX2 EPYC) the linear step took 22.6 against 26.3 us, the 1-unit step 17.9 against 20.8
#: and the tower's 222 against 237, with identical weights.
BYTE_BITS = byte_bits().astype(np.float32)
FEATURE_BYTE_SHIFTS = np.arange(0, N_FEATURES, 8, dtype=np.int64)


def unpack_batch(batch):
    """Packed examples int64 [..., B] -> features float32 [..., B, 32], labels float32 [..., B]."""
    byte = tf.bitwise.bitwise_and(tf.bitwise.right_shift(batch[..., None], FEATURE_BYTE_SHIFTS),
                                  255)
    x = tf.reshape(tf.gather(BYTE_BITS, tf.cast(byte, tf.int32)),
                   tf.concat([tf.shape(batch), [N_FEATURES]], 0))
    y = tf.bitwise.bitwise_and(tf.bitwise.right_shift(batch, LABEL_BIT), 1)
    return x, tf.cast(y, tf.float32)


def per_model_loss(logits, labels):
    """The plain loss: the sum over models of each model's mean cross-entropy, from logits
    and labels float32 [n, B]."""
    per_model = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=1)
    return tf.reduce_sum(per_model)


#: Float32 arrays a model's stacked training state holds per parameter: its weights, the
#: optimizer's one slot (AdaGrad's accumulator, SGD's momentum) and its gradient.
STATE_ARRAYS = 3
#: The last-level cache assumed where the OS does not say (that of a 2-core EPYC share).
DEFAULT_CACHE_BYTES = 32 * 2 ** 20


def last_level_cache_bytes(root="/sys/devices/system/cpu/cpu0/cache"):
    """Size of the CPU's largest cache, from Linux's sysfs (DEFAULT_CACHE_BYTES elsewhere)."""
    sizes = []
    for path in glob.glob(os.path.join(root, "index*", "size")):
        with open(path) as f:
            text = f.read().strip().upper()
        scale = {"K": 2 ** 10, "M": 2 ** 20}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KM")) * scale)
    return max(sizes, default=DEFAULT_CACHE_BYTES)


def train_shards(n_models, family):
    """How many stacks ``n_models`` models of ``family`` are split into on this machine.

    At least one per usable CPU core, as a compiled step of small stacked models runs on one
    core (the tower's step, 32 models, took 214 us in one stack and 154 in two on two threads),
    and more where a stack's training state would not stay in its share of the last-level
    cache, half of the cache per core: a stack's compiled loop then runs its steps on weights
    the cache holds instead of streaming every model's weights from memory at every step
    ([1024, 512], 32 models, batch 32, AdaGrad, 2-core EPYC with 32 MiB of L3: 27.4 ms a step
    in 2 stacks, 19.9 in 8, 17.3 in 16; 512-256: 5.3 ms in 2, 4.0 in 8 or 16; 256-128, 8 MiB
    a stack in 2: 1.18 ms in 2, 1.33 in 16). One on a GPU, which runs a whole stack at once.
    Every stack holds whole pairs of models, an even number: one model alone, or stacks of 3,
    gave weights a last bit away from those of one stack; with the bias gradient summed in a
    fixed order (simulator.models.batch_sum) stacks of any even size give identical weights.
    """
    if tf.config.list_physical_devices("GPU") or n_models % 2:
        return 1
    cores = usable_cores()
    share = last_level_cache_bytes() / (2 * cores)
    pairs_fitting = max(1, int(share // (2 * 4 * STATE_ARRAYS * n_parameters(family))))
    for_cache = -(-n_models // (2 * pairs_fitting))
    return max(1, min(n_models // 2, max(cores, for_cache)))


class _Stack:
    """Models stacked along their first axis: their weights, the optimizer's slots and its
    iteration count, as variables the trainer's compiled programs are given."""

    def __init__(self, weights, update):
        self.weights = [tf.Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
        self.slots = [tf.Variable(update.initial_slot(w), name=f"slot{i}")
                      for i, w in enumerate(weights)]
        self.iterations = tf.Variable(0, dtype=tf.int64, name="iterations")


class StackedTrainer:
    """Trains n stacked models of one family with one optimizer.

    ``train(batches)`` takes int64 [n, steps, B] packed examples, model i training on row i.
    ``logits(features)`` gives float32 [n, U] for shared inputs float32 [U, 32].
    ``loss(logits, labels)``, both float32 [n, B], gives the scalar minimised
    (default ``per_model_loss``); a mitigation's loss couples models (simulator.mitigations).
    With the per-model loss the models are split into ``shards`` stacks of consecutive pairs
    of rows (default ``train_shards``), each with its own optimizer state, trained on a pool of
    one thread per core; nothing couples them, and each model's weights are those of one
    stack. Every stack runs one compiled program, given the stack's variables (so it compiles
    once, not once per stack), whose steps update them as the Keras ``optimizer`` would
    (simulator.updates). A compiled call runs ``steps_per_call`` steps of a stack (default:
    about FLOPS_PER_CALL of its work at mini-batch ``batch``, cost.steps_per_call).
    """

    def __init__(self, family, activation, weights, optimizer, batch, loss=None, shards=None,
                 steps_per_call=None):
        n = len(weights[0])
        if shards is None:
            shards = 1 if loss else train_shards(n, family)
        if loss and shards != 1:
            raise ValueError("a coupling loss needs all its models in one stack (shards=1)")
        if shards > 1 and (n % 2 or n < 2 * shards):
            raise ValueError(f"{n} models do not split into {shards} stacks of whole pairs")
        edges = 2 * np.linspace(0, n // 2, shards + 1).round().astype(int) if shards > 1 else [0, n]
        self._rows = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        self.family, self.activation = family, activation
        self._loss, self._update = loss or per_model_loss, StackUpdate.of(optimizer)
        self._stacks = [_Stack([w[rows] for w in weights], self._update) for rows in self._rows]
        self._train_program = tf.function(self._train_steps, jit_compile=True)
        self._logits_program = tf.function(self._forward_shared, jit_compile=True)
        largest = max(r.stop - r.start for r in self._rows)
        self.steps_per_call = steps_per_call or call_steps(family, largest, batch)
        self._threads = min(shards, usable_cores())

    def _train_steps(self, weights, slots, iterations, batches, n_steps):
        """``n_steps`` steps of one stack (its variables) on its batches int64 [m, steps, B]."""
        def body(i):
            x, y = unpack_batch(batches[:, i])
            with tf.GradientTape() as tape:
                loss = self._loss(self.family.forward(weights, x, self.activation), y)
            grads = tape.gradient(loss, weights,
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
            self._update.apply(grads, weights, slots, iterations)
            return (i + 1,)

        tf.while_loop(lambda i: i < n_steps, body, (tf.constant(0),))

    def _forward_shared(self, weights, features):
        n = tf.shape(weights[0])[0]
        x = tf.broadcast_to(features[None], tf.concat([[n], tf.shape(features)], 0))
        return self.family.forward(weights, x, self.activation)

    def _train_each(self, batches, n_steps):
        """Each stack's compiled loop on its rows of ``batches``, on one thread per core."""
        def run(stack, x):
            self._train_program(stack.weights, stack.slots, stack.iterations, x, n_steps)

        inputs = [tf.constant(batches[rows]) for rows in self._rows]
        if self._threads == 1:
            list(map(run, self._stacks, inputs))
            return
        with ThreadPoolExecutor(self._threads, thread_name_prefix="train") as pool:
            list(pool.map(run, self._stacks, inputs))

    def train(self, batches):
        steps = batches.shape[1]
        for start in range(0, steps, self.steps_per_call):
            part = batches[:, start:start + self.steps_per_call]
            n = part.shape[1]
            if n < self.steps_per_call:  # one compiled shape: pad, and loop only n steps
                part = np.pad(part, ((0, 0), (0, self.steps_per_call - n), (0, 0)))
            self._train_each(part, tf.constant(n, tf.int32))

    def train_from(self, feed, steps, on_step=None, rows=None):
        """Train ``steps`` steps on batches taken from ``feed`` (a PairedBatches); ``rows``
        (a slice or index array, default the first n_models) picks the feed's rows that the
        models train on, in order; ``on_step(n)`` reports progress."""
        rows = slice(0, self._rows[-1].stop) if rows is None else rows
        # One compiled call's batches at a time: a larger fetch is a large copy that leaves
        # the cache (16 calls' worth of 32 linear models was 512 MiB).
        chunk = self.steps_per_call
        for start in range(0, steps, chunk):
            n = min(chunk, steps - start)
            self.train(feed.take(n)[rows])
            if on_step:
                on_step(n)

    def logits(self, features):
        out = []
        for start in range(0, features.shape[0], EVAL_CHUNK):
            chunk = features[start:start + EVAL_CHUNK]
            n = chunk.shape[0]
            padded = tf.constant(np.pad(chunk, ((0, EVAL_CHUNK - n), (0, 0))).astype(np.float32))
            out.append(np.concatenate([self._logits_program(stack.weights, padded).numpy()[:, :n]
                                       for stack in self._stacks]))
        return np.concatenate(out, axis=1)

    def get_weights(self):
        return [np.concatenate([stack.weights[i].numpy() for stack in self._stacks])
                for i in range(len(self._stacks[0].weights))]


@dataclasses.dataclass
class RunOutput:
    """What one setting produced.

    metrics: one dict per (checkpoint, pair, metric) with keys examples_seen, pair, metric,
    value. weights: the trained stacked weights [2M, ...] in Keras order. theta: the data
    model's parameters.
    """

    metrics: list
    weights: list
    theta: np.ndarray


def evaluate(trainer, data_model, eval_packed, examples_seen, family, deploy=None,
             deployed_rows=None):
    """The metric rows of one checkpoint. With a mitigation, ``deploy`` maps the stacked
    models' logits [n, U] to the 2M deployed members' [2M, U], and ``deployed_rows`` [2M]
    names the stacked models deployed (None when a member is an average)."""
    # Sparse features repeat: evaluate each distinct input once, then expand to all N.
    unique, inverse = np.unique(eval_packed & FEATURE_MASK, return_inverse=True)
    stacked = trainer.logits(unpack_features(unique).astype(np.float32))
    logits = (deploy(stacked) if deploy else stacked)[:, inverse]
    true = data_model.logodds(eval_packed)
    per_model_loss = excess_loss(logits, true)
    values = {"relative_pd": relative_pd(logits, true),
              "absolute_pd": absolute_pd(logits),
              "excess_loss": (per_model_loss[0::2] + per_model_loss[1::2]) / 2}
    if family.name == "linear" and data_model.kind == "linear" and (
            deploy is None or deployed_rows is not None):
        w = trainer.get_weights()[0][..., 0]
        values["deviation_cosine"] = deviation_cosine(
            w if deploy is None else w[deployed_rows], data_model.params)
    return [{"examples_seen": examples_seen, "pair": k, "metric": name, "value": float(v[k])}
            for name, v in values.items() for k in range(len(v))]


def warm_start_weights(setting, family, data_model, activation):
    """Weights [M, ...] of M warm-start models trained together (stacked), one per pair:
    warm model k starts from pair k's initialisation (that of its member 0) and trains on
    warm_examples examples of its own stream (role WARM, key k; window 1) at warm_lr."""
    pairs = setting.pairs
    init = stacked_init(family, pairs, True, lambda pair, member: rng_for(setting.seed, Role.INIT,
                                                                          pair, member))
    trainer = StackedTrainer(family, activation, [w[0::2] for w in init],
                             make_optimizer(setting.optimizer, setting.warm_lr), setting.batch)
    feed = PairedBatches(data_model, setting.seed, pairs, 1, setting.batch,
                         setting.warm_examples, role=Role.WARM)
    trainer.train_from(feed, setting.warm_examples // setting.batch, rows=slice(0, None, 2))
    return trainer.get_weights()


def initial_weights(setting, family, data_model, activation):
    """Stacked initial weights [2M, ...]: per pair draws (init same or diff) or, with init
    warm, both members of pair k start from warm model k."""
    if setting.init == "warm":
        base = warm_start_weights(setting, family, data_model, activation)
        return [np.repeat(w, 2, axis=0) for w in base]
    return stacked_init(family, setting.pairs, setting.init == "same",
                        lambda pair, member: rng_for(setting.seed, Role.INIT, pair, member))


def run_setting(setting, progress=False):
    """Train the 2M models of ``setting`` and evaluate them at its checkpoints."""
    if setting.mitigation != "none":
        from simulator.mitigation_run import run_mitigation

        return run_mitigation(setting, progress)
    family = parse_model(setting.model)
    check_memory(setting, family)
    data_model = DATA_MODELS[setting.data](setting.seed)
    activation = get_activation(setting.activation, setting.beta)
    trainer = StackedTrainer(family, activation,
                             initial_weights(setting, family, data_model, activation),
                             make_optimizer(setting.optimizer, setting.lr), setting.batch)
    batches = PairedBatches(data_model, setting.seed, setting.pairs, setting.window,
                            setting.batch, setting.examples)
    eval_packed = evaluation_set(data_model, setting.seed, setting.eval_examples)
    rows, done = [], 0
    with progress_bar(setting.steps, "steps", enabled=progress) as bar:
        for stop in setting.checkpoint_steps():
            trainer.train_from(batches, stop - done, bar.update)
            done = stop
            rows += evaluate(trainer, data_model, eval_packed, done * setting.batch, family)
    return RunOutput(rows, trainer.get_weights(), data_model.params)
