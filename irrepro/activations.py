"""The activations of every model in irrepro, by name: identity, ReLU, SmeLU(beta), Swish(beta).

The names and the check of beta need no TensorFlow, so settings can be validated instantly;
``irrepro.keras_activations.get_activation`` returns the Keras callable (and starts
TensorFlow).
"""
from irrepro.errors import UserError

ACTIVATIONS = ("identity", "relu", "smelu", "swish")
#: Activations that take a beta parameter.
PARAMETRIC = ("smelu", "swish")


def check_beta(beta):
    """Raise UserError unless beta > 0 (NaN included)."""
    if not beta > 0:  # also rejects NaN
        raise UserError(f"beta must be > 0 (got {beta:g}); try --beta 1.0")


def check_activation(name):
    """``name`` lower-cased, or a UserError listing the activations."""
    name = str(name).lower()
    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation '{name}'; choose one of {', '.join(ACTIVATIONS)}")
    return name
