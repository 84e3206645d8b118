"""Activations shared by every model in irrepro: identity, ReLU, SmeLU(beta), Swish(beta).

Each is a Keras-serializable callable working on any backend tensor through ``keras.ops``, so
it can be passed as ``activation=`` to any Keras layer (the simulator's models and the image
CNNs alike) and saved with the model.
"""
import keras
from keras import ops

from simulator.errors import UserError

ACTIVATIONS = ("identity", "relu", "smelu", "swish")
#: Activations that take a beta parameter.
PARAMETRIC = ("smelu", "swish")


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


def check_beta(beta):
    """Raise UserError unless beta > 0 (NaN included)."""
    if not beta > 0:  # also rejects NaN
        raise UserError(f"beta must be > 0 (got {beta:g}); try --beta 1.0")


def get_activation(name, beta=1.0):
    """The activation called ``name`` ('identity', 'relu', 'smelu', 'swish') as a callable.

    ``beta`` is used by SmeLU and Swish only. Unknown names raise ``UserError``.
    """
    name = name.lower()
    if name == "identity":
        return keras.activations.linear
    if name == "relu":
        return keras.activations.relu
    if name == "smelu":
        return SmeLU(beta)
    if name == "swish":
        return Swish(beta)
    raise UserError(f"unknown activation '{name}'; choose one of {', '.join(ACTIVATIONS)}")
