"""The Keras optimizers' update steps, applied to stacked variables passed in.

The engine compiles one training loop for all its stacks of models (``simulator.engine``), so
the loop cannot use a Keras optimizer, whose slots belong to the variables it was built on.
``StackUpdate.of(optimizer)`` reads a Keras AdaGrad or SGD optimizer's hyper-parameters and
``apply`` runs the same operations as its ``update_step``, in the same order, on the weights,
slots and iteration counter it is given: the weights come out bit for bit as Keras' own
optimizer leaves them (tested for every model family with both optimizers).
"""
import dataclasses

import numpy as np

from irrepro.tf import keras, tf


@dataclasses.dataclass(frozen=True)
class StackUpdate:
    """AdaGrad (``kind`` "adagrad": accumulator a += g^2, w -= lr g / sqrt(a + epsilon)) or
    SGD with momentum (``kind`` "sgd": m = momentum m - lr g, w += m); ``learning_rate`` a
    float or a Keras schedule of the iteration count."""

    kind: str
    learning_rate: object
    epsilon: float = 0.0
    initial_accumulator: float = 0.0
    momentum: float = 0.0

    @classmethod
    def of(cls, optimizer):
        """The update of a Keras Adagrad, or SGD with momentum and without Nesterov."""
        config = optimizer.get_config()
        lr = config["learning_rate"]
        if isinstance(lr, dict):
            lr = keras.optimizers.schedules.deserialize(lr)
        if isinstance(optimizer, keras.optimizers.Adagrad):
            return cls("adagrad", lr, epsilon=config["epsilon"],
                       initial_accumulator=config["initial_accumulator_value"])
        if isinstance(optimizer, keras.optimizers.SGD) and config["momentum"] and not \
                config["nesterov"]:
            return cls("sgd", lr, momentum=config["momentum"])
        raise ValueError(f"the engine applies AdaGrad or SGD with momentum, not {optimizer!r}")

    def initial_slot(self, weight):
        """The optimizer's slot for one stacked weight (float32 array) before any step."""
        return np.full_like(weight, self.initial_accumulator if self.kind == "adagrad" else 0.0)

    def apply(self, grads, weights, slots, iterations):
        """One step: update ``weights`` and ``slots`` (variables) from ``grads`` in place, as
        the Keras optimizer's update_step does, and count it in ``iterations`` (int64)."""
        ops = keras.ops
        if callable(self.learning_rate):
            lr = ops.cast(self.learning_rate(iterations), tf.float32)
        else:
            lr = tf.constant(self.learning_rate, tf.float32)
        for grad, weight, slot in zip(grads, weights, slots):
            if self.kind == "adagrad":
                slot.assign_add(ops.square(grad))
                weight.assign_sub(ops.divide(ops.multiply(lr, grad),
                                             ops.sqrt(ops.add(slot, self.epsilon))))
            else:
                momentum = ops.cast(self.momentum, tf.float32)
                slot.assign(ops.subtract(ops.multiply(slot, momentum), ops.multiply(grad, lr)))
                weight.assign_add(slot)
        iterations.assign_add(1)
