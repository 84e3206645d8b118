"""simulator.updates: the Keras optimizers' update steps on variables passed in, bit for bit."""
import numpy as np
import pytest

from irrepro.tf import keras, tf
from simulator.engine import make_optimizer
from simulator.updates import StackUpdate


@pytest.mark.parametrize("name, lr", [("adagrad", 0.1), ("sgd", 0.05)])
def test_the_update_leaves_weights_and_slots_as_the_keras_optimizer_does(name, lr):
    rng = np.random.default_rng(3)
    start = [rng.normal(size=(4, 6, 5)).astype(np.float32), rng.normal(size=(4, 5)).astype(
        np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in start] for _ in range(7)]
    keras_weights = [tf.Variable(w) for w in start]
    optimizer = make_optimizer(name, lr)
    optimizer.build(keras_weights)
    update = StackUpdate.of(make_optimizer(name, lr))
    weights = [tf.Variable(w) for w in start]
    slots = [tf.Variable(update.initial_slot(w)) for w in start]
    iterations = tf.Variable(0, dtype=tf.int64)
    for step in grads:  # the SGD schedule decays with the iteration count
        optimizer.apply([tf.constant(g) for g in step], keras_weights)
        update.apply([tf.constant(g) for g in step], weights, slots, iterations)
    for mine, theirs in zip(weights, keras_weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert int(iterations.numpy()) == int(optimizer.iterations.numpy()) == 7
    assert not np.array_equal(weights[0].numpy(), start[0])


def test_the_adagrad_slot_starts_at_the_initial_accumulator():
    update = StackUpdate.of(make_optimizer("adagrad", 0.1))
    np.testing.assert_array_equal(update.initial_slot(np.zeros((2, 3), np.float32)),
                                  np.full((2, 3), 0.1, np.float32))


def test_an_optimizer_the_engine_cannot_apply_is_refused():
    with pytest.raises(ValueError, match="AdaGrad or SGD with momentum"):
        StackUpdate.of(keras.optimizers.Adam())
