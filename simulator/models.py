"""Model families of the simulator, each in two forms that compute the same function:

- stacked: the weights of n models in arrays with a leading model axis ``[n, ...]`` and a
  ``forward`` that evaluates all n models at once (used by the engine);
- a per-model Keras twin (``keras_model``) whose ``get_weights()`` are, in order, the slices
  ``[m]`` of the stacked weights (used to check the engine and for users' own runs).

Model specs (``parse_model``): ``linear`` (eq. 4), ``single`` = ``1`` (eq. 5), ``double`` =
``2`` (eq. 6), ``tower`` = ``16-8-4-2``, ``mlp`` = ``1024-512``, any widths ``a-b-c`` or
``a,b,c``, and ``wide`` (2-d embeddings per feature summed per set of 16, 1000 units).
Initialisation follows Keras' defaults: Glorot-uniform kernels, zero biases, embeddings
uniform in [-0.05, 0.05].

A family's shapes, initialisation and spec parsing are NumPy, so a setting is validated
without TensorFlow; its ``forward`` and ``keras_model`` import TensorFlow when first called.
"""
import numpy as np

from irrepro.errors import UserError
from simulator.data import N_FEATURES

ALIASES = {"single": "1", "double": "2", "tower": "16-8-4-2", "mlp": "1024-512"}
WIDE_UNITS = 1000
EMBEDDING_DIM = 2
EMBEDDING_INIT = 0.05


def _glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


#: Layers with 2 <= o outputs and at most this many weights per model (i * o) are computed
#: as a broadcast product and a sum instead of a batched matrix product: XLA:CPU runs a batched
#: dot of tiny matrices one model at a time, and the fused product-and-sum made the 2-unit
#: model's step 2.3x faster and the tower's 1.7x (timing experiments, 32 models, batch 32;
#: limits of 32 and 128 were slower for the tower). Single-output layers stay a dot, which
#: XLA already emits as a fused reduction.
SMALL_LAYER_WEIGHTS = 64


def is_small_layer(fan_in, fan_out):
    """Whether a dense layer fan_in -> fan_out is computed as a product and sum."""
    return fan_out >= 2 and fan_in * fan_out <= SMALL_LAYER_WEIGHTS


def batch_sum(t):
    """The sum over axis 1 (the mini-batch) of t [n, B, o] -> [n, o], as halves added
    elementwise, an order of additions that does not depend on n."""
    from irrepro.tf import tf

    while t.shape[1] > 1:
        half = t.shape[1] // 2
        total = t[:, :half] + t[:, half:2 * half]
        t = tf.concat([total, t[:, 2 * half:]], axis=1) if t.shape[1] % 2 else total
    return t[:, 0]


def _add_bias(z, bias):
    """z [n, B, o] + bias [n, o] per model, whose bias gradient is ``batch_sum``: XLA's own
    reduction over the batch rounds differently with the number of stacked models (256-128,
    AdaGrad: 2 models gave bias gradients one last bit away from those of 4 or more), and a
    model's weights must not depend on the stack it trains in (train_shards)."""
    from irrepro.tf import tf

    @tf.custom_gradient
    def add(z, bias):
        return z + bias[:, None, :], lambda dz: (dz, batch_sum(dz))

    return add(z, bias)


#: Layers with at least this many weights per model take their input gradient dz @ kernel^T
#: from a copy of the kernel transposed in memory (``product``). XLA:CPU otherwise gives Eigen
#: the kernel itself, contracted along its rows, and that product of a [1024, 512] kernel ran
#: at two thirds of the forward product's rate (one core, 2 models, batch 32: 482-500 us
#: against 321-331; with the transpose, its cost included, 348-357). The [1024, 512] step of
#: 32 models went from 16.3-16.9 to 14.8-15.6 ms (alternating processes, 2-core AVX-512
#: EPYC); 512-256 and smaller layers were 1-10% slower with it (3.44-3.63 ms against
#: 3.48-3.71 for 512-256), hence 2^19 (a [1024, 512] kernel: 2 MiB, over a core's 1 MiB L2
#: there, where the smaller ones fit). The same sum in another order: it rounds differently.
TRANSPOSED_GRADIENT_WEIGHTS = 2 ** 19


def has_transposed_gradient(fan_in, fan_out):
    """Whether a dense layer fan_in -> fan_out takes its input gradient from a transposed
    copy of its kernel (``product``)."""
    return fan_in * fan_out >= TRANSPOSED_GRADIENT_WEIGHTS


def product(h, kernel):
    """h [n, B, i] @ kernel [n, i, o] -> [n, B, o] per model, whose gradient is TensorFlow's
    own for the kernel (h^T @ dz) and dz @ K for the input, K the kernel transposed into its
    own array [n, o, i]; an optimization barrier keeps XLA from folding the transpose back
    into the product."""
    from irrepro.tf import tf, xla

    @tf.custom_gradient
    def multiply(h, kernel):
        def gradient(dz):
            transposed = xla.optimization_barrier(tf.transpose(kernel, [0, 2, 1]))[0]
            return tf.matmul(dz, transposed), tf.matmul(h, dz, adjoint_a=True)

        return tf.matmul(h, kernel), gradient

    return multiply(h, kernel)


def _dense_stack(h, kernel, bias):
    """Per-model dense layer: h [n, B, i], kernel [n, i, o], bias [n, o] -> [n, B, o]."""
    from irrepro.tf import tf

    if is_small_layer(*kernel.shape[-2:]):
        return _add_bias(tf.reduce_sum(h[..., :, None] * kernel[:, None], axis=-2), bias)
    if has_transposed_gradient(*kernel.shape[-2:]):
        return _add_bias(product(h, kernel), bias)
    # A batched matmul rather than the equal einsum because it measured faster: the tower's
    # step 194-202 against 212-215 us, the [1024, 512] step 64-70 against 73-76 ms (32 models,
    # batch 32), with bit-identical weights for every family. Why XLA compiles the two
    # differently was not established.
    return _add_bias(tf.matmul(h, kernel), bias)


class MLP:
    """Input -> dense(widths[0]) -> A -> ... -> dense(widths[-1]) -> A -> dense(1) -> logit.

    ``widths = ()`` is the linear model (eq. 4). Weights: kernel, bias per layer.
    """

    def __init__(self, widths):
        self.widths = tuple(widths)
        self.name = "-".join(map(str, self.widths)) if self.widths else "linear"
        sizes = (N_FEATURES, *self.widths, 1)
        self.shapes = [s for a, b in zip(sizes, sizes[1:]) for s in ((a, b), (b,))]
        self.layer_of_weight = [i for i in range(len(sizes) - 1) for _ in (0, 1)]

    def init(self, rng):
        """One model's initial weights, a list of float32 arrays in Keras order."""
        return [_glorot(rng, *shape) if len(shape) == 2 else np.zeros(shape, np.float32)
                for shape in self.shapes]

    def forward(self, weights, x, activation):
        """Logits [n, B] of n stacked models on their inputs x [n, B, 32]."""
        h = x
        for layer in range(len(self.widths)):
            h = activation(_dense_stack(h, weights[2 * layer], weights[2 * layer + 1]))
        return _dense_stack(h, weights[-2], weights[-1])[..., 0]

    def keras_model(self, activation):
        from irrepro.tf import keras

        layers = [keras.layers.Dense(w, activation=activation) for w in self.widths]
        return keras.Sequential([keras.Input((N_FEATURES,)), *layers, keras.layers.Dense(1)])


class Wide:
    """2-d embedding per feature, summed per set of 16 features (= x_set @ E_set), the two
    sums concatenated into ``units`` hidden units with activation A, then a logit.

    Weights: E_a [16, 2], E_b [16, 2], kernel [4, units], bias [units], kernel [units, 1],
    bias [1].
    """

    name = "wide"

    def __init__(self, units=WIDE_UNITS):
        self.units = units
        half = N_FEATURES // 2
        self.shapes = [(half, EMBEDDING_DIM), (half, EMBEDDING_DIM),
                       (2 * EMBEDDING_DIM, units), (units,), (units, 1), (1,)]
        self.layer_of_weight = [0, 0, 1, 1, 2, 2]

    def init(self, rng):
        embeddings = [rng.uniform(-EMBEDDING_INIT, EMBEDDING_INIT, size=s).astype(np.float32)
                      for s in self.shapes[:2]]
        return [*embeddings, _glorot(rng, *self.shapes[2]), np.zeros(self.units, np.float32),
                _glorot(rng, *self.shapes[4]), np.zeros(1, np.float32)]

    def forward(self, weights, x, activation):
        from irrepro.tf import tf

        half = N_FEATURES // 2
        embedded = tf.concat([tf.einsum("nbi,nie->nbe", x[..., :half], weights[0]),
                              tf.einsum("nbi,nie->nbe", x[..., half:], weights[1])], axis=-1)
        h = activation(_dense_stack(embedded, weights[2], weights[3]))
        return _dense_stack(h, weights[4], weights[5])[..., 0]

    def keras_model(self, activation):
        from irrepro.tf import keras

        half = N_FEATURES // 2
        inputs = keras.Input((N_FEATURES,))
        embed = [keras.layers.Dense(EMBEDDING_DIM, use_bias=False, name=f"embedding_{s}")
                 for s in "ab"]
        embedded = keras.layers.Concatenate()([embed[0](inputs[:, :half]),
                                               embed[1](inputs[:, half:])])
        hidden = keras.layers.Dense(self.units, activation=activation)(embedded)
        return keras.Model(inputs, keras.layers.Dense(1)(hidden))


def parse_model(spec):
    """The model family named by ``spec`` (see the module docstring)."""
    text = ALIASES.get(str(spec).strip().lower(), str(spec).strip().lower())
    if text == "linear":
        return MLP(())
    if text == "wide":
        return Wide()
    parts = text.replace(",", "-").split("-")
    if all(p.isdigit() and int(p) > 0 for p in parts):
        return MLP(int(p) for p in parts)
    raise UserError(f"unknown model '{spec}'; use linear, single, double, tower, mlp, wide "
                    "or hidden widths such as 16-8-4-2")


def stacked_init(family, pairs, same_init, rng_for_model):
    """Initial weights of 2 * pairs models, a list of float32 arrays [2 * pairs, ...].

    ``rng_for_model(pair, member)`` gives the Generator of one model's initialisation; with
    ``same_init`` the second member of each pair copies the first.
    """
    models = []
    for k in range(pairs):
        first = family.init(rng_for_model(k, 0))
        models += [first, first if same_init else family.init(rng_for_model(k, 1))]
    return [np.stack(w) for w in zip(*models)]
