"""SmeLU and Swish as Keras-serializable callables, and every activation by name.

Each works on any backend tensor through ``keras.ops``, so it can be passed as
``activation=`` to any Keras layer (the simulator's models and the image CNNs alike) and
saved with the model.
"""
from irrepro.activations import check_activation, check_beta
from irrepro.tf import keras

ops = keras.ops

class _BetaActivation:
    """An activation with one parameter beta > 0, Keras-serializable by its config."""

    def __init__(self, beta=1.0):
        self.beta = float(beta)
        check_beta(self.beta)

    def get_config(self):
        return {"beta": self.beta}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(beta={self.beta:g})"


@keras.saving.register_keras_serializable(package="irrepro")
class SmeLU(_BetaActivation):
    """Smooth ReLU (Shamir et al., 2020).

    f(x) = 0 for x <= -beta, (x + beta)^2 / (4 beta) for |x| < beta, x for x >= beta.
    Continuous with a continuous derivative; beta > 0.
    """

    def __call__(self, x):
        beta = ops.convert_to_tensor(self.beta, dtype=x.dtype)
        # Clipping the quadratic branch's input keeps its gradient finite where it is not used.
        inside = ops.square(ops.clip(x, -beta, beta) + beta) / (4.0 * beta)
        return ops.where(x >= beta, x, ops.where(x <= -beta, ops.zeros_like(x), inside))


@keras.saving.register_keras_serializable(package="irrepro")
class Swish(_BetaActivation):
    """Swish (Ramachandran et al., 2017): f(x) = x * sigmoid(beta x); beta > 0."""

    def __call__(self, x):
        return x * ops.sigmoid(ops.convert_to_tensor(self.beta, dtype=x.dtype) * x)


def get_activation(name, beta=1.0):
    """The activation called ``name`` ('identity', 'relu', 'smelu', 'swish') as a Keras
    callable; ``beta`` is used by SmeLU and Swish only. Unknown names raise UserError."""
    name = check_activation(name)
    return {"identity": lambda: keras.activations.linear, "relu": lambda: keras.activations.relu,
            "smelu": lambda: SmeLU(beta), "swish": lambda: Swish(beta)}[name]()
