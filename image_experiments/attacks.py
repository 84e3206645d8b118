"""L-infinity projected gradient descent (PGD; Madry et al., 2018) against a Keras model.

Accuracy under PGD of budget delta (Ganesh, 2023, section 3.5) is the accuracy on inputs
each moved, within the L-infinity ball of radius delta around it and inside the pixel range
[0, 1], to raise the model's cross-entropy: starting at the clean input (no random start,
so the attack is deterministic), ``steps`` times

    x <- clip(clip(x + step_size * sign(grad_x CE(model(x), y)), x0 - delta, x0 + delta), 0, 1)

with step_size = 2.5 delta / steps by default (Madry et al.'s choice: the attack can cross
the ball and come back). Budget 0 leaves the inputs as they are.

The attacked inputs are a fixed random subset of the test set, the same for every model.
"""
import numpy as np

from irrepro.streams import Role, rng_for

STEP_FACTOR = 2.5


def step_size_for(budget, steps):
    """Madry et al.'s step size: 2.5 budget / steps."""
    return STEP_FACTOR * budget / steps


def attack_subset(n, points, seed):
    """Sorted indices of the ``points`` test inputs (of ``n``) that are attacked: a fixed
    random subset for experiment ``seed`` (all of them when points >= n)."""
    if points >= n:
        return np.arange(n)
    return np.sort(rng_for(seed, Role.ATTACK).permutation(n)[:points])


class PGD:
    """PGD against ``model`` (a Keras model from images float32 [n, H, W, C] in [0, 1] to
    logits [n, C]). One compiled step serves every set of weights later loaded into the
    model (``model.set_weights``), so one instance attacks many variants."""

    def __init__(self, model, batch=256):
        from irrepro.tf import tf

        self.model, self.batch = model, batch

        @tf.function(reduce_retracing=True)
        def step(x, x0, y, budget, step_size):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.keras.losses.sparse_categorical_crossentropy(
                    y, model(x, training=False), from_logits=True))
            moved = x + step_size * tf.sign(tape.gradient(loss, x))
            return tf.clip_by_value(tf.clip_by_value(moved, x0 - budget, x0 + budget), 0., 1.)

        self._step = step

    def attack(self, x, y, budget, steps, step_size=None):
        """The attacked inputs: float32 [n, H, W, C], each within ``budget`` of x (L-inf)
        and in [0, 1]. ``step_size`` defaults to :func:`step_size_for`."""
        from irrepro.tf import tf

        step_size = step_size_for(budget, steps) if step_size is None else step_size
        out = []
        for start in range(0, len(x), self.batch):
            x0 = tf.constant(x[start:start + self.batch], tf.float32)
            labels = tf.constant(y[start:start + self.batch], tf.int64)
            moved = x0
            for _ in range(steps if budget > 0 else 0):
                moved = self._step(moved, x0, labels, tf.constant(budget, tf.float32),
                                   tf.constant(step_size, tf.float32))
            out.append(moved.numpy())
        return np.concatenate(out) if out else np.asarray(x, np.float32)

    def predict(self, x):
        """Predicted classes, int [n], of images x [n, H, W, C]."""
        logits = [self.model(x[start:start + self.batch], training=False).numpy()
                  for start in range(0, len(x), self.batch)]
        return np.argmax(np.concatenate(logits), axis=-1)

    def accuracy(self, x, y, budget, steps, step_size=None):
        """Accuracy on x [n, H, W, C], y [n] after the attack of :meth:`attack`."""
        return float((self.predict(self.attack(x, y, budget, steps, step_size)) == y).mean())
