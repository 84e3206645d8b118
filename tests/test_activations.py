"""SmeLU and Swish match their closed forms and derivatives; SmeLU is C1 at +/- beta."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from irrepro.errors import UserError
from irrepro.keras_activations import SmeLU, Swish, get_activation


def value_and_grad(f, x):
    x = tf.constant(x, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def smelu_closed_form(x, beta):
    return np.where(x <= -beta, 0.0, np.where(x >= beta, x, (x + beta) ** 2 / (4 * beta)))


def smelu_derivative(x, beta):
    return np.where(x <= -beta, 0.0, np.where(x >= beta, 1.0, (x + beta) / (2 * beta)))


@pytest.mark.parametrize("beta", [0.1, 1.0, 3.0])
def test_smelu_matches_closed_form_and_derivative(beta):
    x = np.linspace(-2 * beta - 1, 2 * beta + 1, 1001)
    y, dy = value_and_grad(SmeLU(beta), x)
    np.testing.assert_allclose(y, smelu_closed_form(x, beta), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dy, smelu_derivative(x, beta), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("beta", [0.25, 2.0])
def test_smelu_is_continuous_with_continuous_derivative_at_the_knots(beta):
    eps = 1e-7
    for knot in (-beta, beta):
        (left, right), (dleft, dright) = value_and_grad(SmeLU(beta), [knot - eps, knot + eps])
        assert abs(left - right) < 1e-6
        assert abs(dleft - dright) < 1e-6


@pytest.mark.parametrize("beta", [0.5, 1.0, 4.0])
def test_swish_matches_closed_form_and_derivative(beta):
    x = np.linspace(-8, 8, 801)
    s = 1 / (1 + np.exp(-beta * x))
    y, dy = value_and_grad(Swish(beta), x)
    np.testing.assert_allclose(y, x * s, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dy, s + beta * x * s * (1 - s), rtol=1e-10, atol=1e-12)


def test_identity_and_relu_are_the_keras_ones():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(get_activation("identity")(tf.constant(x)).numpy(), x)
    np.testing.assert_array_equal(get_activation("relu")(tf.constant(x)).numpy(),
                                  np.maximum(x, 0))


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan")])
def test_non_positive_beta_is_a_user_error(beta):
    with pytest.raises(UserError, match="beta must be > 0"):
        get_activation("smelu", beta)
    with pytest.raises(UserError, match="beta must be > 0"):
        Swish(beta)


def test_unknown_activation_names_the_choices():
    with pytest.raises(UserError, match="identity, relu, smelu, swish"):
        get_activation("gelu")


@pytest.mark.parametrize("activation", [SmeLU(0.7), Swish(2.0)])
def test_a_keras_model_with_the_activation_saves_and_loads(tmp_path, activation):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation=activation),
                              keras.layers.Dense(1)])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    restored = loaded.layers[0].activation
    assert type(restored) is type(activation) and restored.beta == activation.beta
