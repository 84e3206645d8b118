"""K variants of one training strategy, trained together in one compiled step.

Every variant is its own Keras model with its own weights and its own mini-batches; one
``tf.function`` runs many steps per call (a ``tf.while_loop``), and in each step every
variant's forward and backward pass. Each variant's gradient is that of its own mean
cross-entropy, exactly the one it gets alone, and Adam updates every variable element-wise,
exactly as it would update that variant alone: nothing couples the variants
(tests/test_training.py checks a grouped variant against the same variant trained alone).
Grouping saves the per-step Python and dispatch overhead of K separate loops and lets
TensorFlow run the K independent graphs in parallel (on a CPU, for small batches only).

The training images live on the device as one tensor; each call receives only the batch
indices, int32 [steps, K, batch]. No XLA: on XLA:CPU the convolutions ran about 20x slower
than TensorFlow's own kernels (measured, 2 cores), and with deterministic ops (which
``training.setup_device`` asks for) XLA has no MaxPool gradient at all.
"""
import logging

import numpy as np

from image_experiments.cnn import activation_model, probe_outputs
from irrepro.tf import keras, tf


class _GroupTracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning about this module's
    functions: every group owns new variables, so it must trace its own functions once, and
    a sweep of many groups looks to TensorFlow like a function retraced in a loop."""

    def filter(self, record):
        message = record.getMessage()
        return not ("retracing" in message and "VariantGroup" in message)


tf.get_logger().addFilter(_GroupTracing())

ADAM = dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)  # the paper's Adam (appendix B)
EVAL_CHUNK = 1000  # inputs per compiled evaluation call
#: On a CPU, groups stepping at least this many images (K x batch) run their variants one
#: after another within each step (see VariantGroup._train_steps).
SERIAL_IMAGES = 1024


class VariantGroup:
    """K Keras models ``models`` (logits out) trained with one Adam optimizer on ``x_train``
    float32 [n, H, W, C], ``y_train`` int [n]; RM compares their layers ``layers``.

    ``train(indices)`` takes int32 [steps, K, batch] (variant k trains on rows [:, k]);
    ``logits(x)`` gives float32 [K, n, classes] for shared inputs [n, H, W, C];
    ``activations(x)`` gives {layer: float32 [K, n, p]} for the RM layers, each layer's
    output flattened to p features.
    """

    def __init__(self, models, lr, x_train, y_train, layers):
        self.models = list(models)
        self.layers = tuple(layers)
        self.variables = [v for model in self.models for v in model.trainable_variables]
        self.optimizer = keras.optimizers.Adam(learning_rate=lr, **ADAM)
        self.optimizer.build(self.variables)
        self.x_train = tf.constant(x_train, tf.float32)
        self.y_train = tf.constant(y_train, tf.int32)
        self.probes = [activation_model(m, self.layers) for m in self.models]
        self._train = tf.function(self._train_steps)
        self._logits = tf.function(self._forward)
        self._acts = tf.function(self._probe)
        self._chunk = None  # the compiled number of steps per call
        self._single = {}  # variant -> its compiled forward pass alone (accuracy_of)

    @classmethod
    def build(cls, architecture, input_shape, classes, rngs, lr, x_train, y_train):
        """A group of len(rngs) fresh models of ``architecture`` (an
        :class:`~image_experiments.architecture.Architecture`), variant k initialised from
        the Generator rngs[k]."""
        models = [architecture.build(input_shape, classes, rng) for rng in rngs]
        return cls(models, lr, x_train, y_train, architecture.rm_layers)

    def _train_steps(self, indices, n_steps):
        # On a CPU, K concurrent variants of a large batch share the cores and the cache:
        # at batch 512 (K = 4, 28x28) the grouped step ran 2x slower than the K variants one
        # after another (measured, 2 cores). There, each variant's step waits for the one
        # before; small batches (and GPUs) keep the variants concurrent.
        serial = (not tf.config.list_physical_devices("GPU")
                  and len(self.models) * indices.shape[2] >= SERIAL_IMAGES)

        def body(i):
            grads, previous = [], []
            for k, model in enumerate(self.models):
                with tf.control_dependencies(previous if serial else []):
                    batch = indices[i, k]
                    with tf.GradientTape() as tape:
                        logits = model(tf.gather(self.x_train, batch), training=True)
                        # Each variant's own mean loss: its gradient is the one it gets alone.
                        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                            labels=tf.gather(self.y_train, batch), logits=logits))
                    previous = tape.gradient(loss, model.trainable_variables)
                grads += previous
            self.optimizer.apply(grads, self.variables)
            return (i + 1,)

        tf.while_loop(lambda i: i < n_steps, body, (tf.constant(0),))

    def train(self, indices):
        """Run len(indices) steps; indices int [steps, K, batch]."""
        indices = np.asarray(indices, np.int32)
        steps = len(indices)
        if self._chunk is None or steps > self._chunk:
            self._chunk = steps
        # One compiled shape: shorter calls are padded and loop only over their own steps.
        padded = np.pad(indices, ((0, self._chunk - steps), (0, 0), (0, 0)))
        self._train(tf.constant(padded), tf.constant(steps, tf.int32))

    def _forward(self, x):
        return tf.stack([model(x, training=False) for model in self.models])

    def _probe(self, x):
        outputs = [probe_outputs(probe, x) for probe in self.probes]
        return [tf.stack([out[i] for out in outputs]) for i in range(len(self.layers))]

    def logits(self, x):
        """Logits of every variant, float32 [K, n, classes], for inputs x [n, H, W, C]."""
        return _map_chunks(lambda chunk: [self._logits(chunk)], x)[0]

    def activations(self, x):
        """{layer: float32 [K, n, p]} for inputs x (the CNN's: 'cnn' [K, n, p_cnn] and 'fc1'
        [K, n, 512])."""
        return dict(zip(self.layers, _map_chunks(self._acts, x)))

    def accuracy(self, x, y):
        """Accuracy of every variant on (x, y): float [K]."""
        return (self.logits(x).argmax(axis=-1) == np.asarray(y)[None]).mean(axis=1)

    def accuracy_of(self, variants, x, y):
        """Accuracy on (x, y) of the ``variants`` only (indices), NaN for the others: float
        [K]. Each variant's model runs alone, in a compiled function of its own."""
        out = np.full(len(self.models), np.nan)
        for k in variants:
            if k not in self._single:
                self._single[k] = tf.function(
                    lambda chunk, model=self.models[k]: [model(chunk, training=False)[None]])
            logits = _map_chunks(self._single[k], x)[0][0]
            out[k] = (logits.argmax(axis=-1) == np.asarray(y)).mean()
        return out

    def get_weights(self, k):
        """Copies of variant k's weights (a list of arrays, Keras order)."""
        return [np.array(w) for w in self.models[k].get_weights()]

    def set_weights(self, k, weights):
        self.models[k].set_weights(weights)

    def state(self):
        """Copies of everything training changes: every variant's weights and the
        optimizer's variables (step count, Adam's moments), a list of arrays."""
        return [np.array(v) for v in (*self.variables, *self.optimizer.variables)]

    def restore(self, state):
        """Put the group back into a :meth:`state`: training from there repeats itself."""
        for variable, value in zip((*self.variables, *self.optimizer.variables), state):
            variable.assign(value)


def _map_chunks(fn, x):
    """``fn`` (inputs [size, ...] -> list of [K, size, ...] tensors) over x in chunks of
    size = min(EVAL_CHUNK, len(x)), outputs concatenated along the input axis. The last
    chunk is zero-padded to the same size, and its padding's outputs dropped, so that one
    compiled shape serves a whole set (and all sets of the same size)."""
    size = min(EVAL_CHUNK, len(x))
    parts = []
    for start in range(0, len(x), size):
        chunk = np.asarray(x[start:start + size], np.float32)
        n = len(chunk)
        padded = np.zeros((size, *chunk.shape[1:]), np.float32)
        padded[:n] = chunk
        parts.append([out.numpy()[:, :n] for out in fn(tf.constant(padded))])
    return [np.concatenate(outputs, axis=1) for outputs in zip(*parts)]
