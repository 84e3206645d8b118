"""The paper's metrics against a direct NumPy computation on fixed inputs."""
import numpy as np

from simulator.metrics import absolute_pd, deviation_cosine, excess_loss, relative_pd

RNG = np.random.default_rng(11)
TRUE = RNG.normal(0, 2, size=50)            # true log-odds of 50 examples
LOGITS = TRUE + RNG.normal(0, 0.3, (6, 50))  # 3 pairs of models


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_excess_loss_is_the_mean_kl_divergence_from_the_true_model():
    expected = []
    for m in range(6):
        total = 0.0
        for n in range(50):
            for p, q in ((sigmoid(TRUE[n]), sigmoid(LOGITS[m, n])),
                         (1 - sigmoid(TRUE[n]), 1 - sigmoid(LOGITS[m, n]))):
                total += p * np.log(p / q)
        expected.append(total / 50)
    np.testing.assert_allclose(excess_loss(LOGITS, TRUE), expected, rtol=1e-10)


def test_excess_loss_is_zero_for_the_true_model_and_stays_finite_when_saturated():
    assert np.allclose(excess_loss(TRUE[None], TRUE), 0, atol=1e-15)
    saturated = excess_loss(np.array([[40.0, -40.0]]), np.array([-40.0, 40.0]))
    assert np.isfinite(saturated).all() and np.isclose(saturated[0], 40.0, rtol=1e-6)


def test_relative_pd_averages_pair_differences_relative_to_the_true_probability():
    expected = [np.mean([abs(sigmoid(LOGITS[2 * k, n]) - sigmoid(LOGITS[2 * k + 1, n]))
                         / sigmoid(TRUE[n]) for n in range(50)]) for k in range(3)]
    np.testing.assert_allclose(relative_pd(LOGITS, TRUE), expected, rtol=1e-12)
    # Eq. 3's ensemble value is the mean over pairs.
    assert np.isclose(relative_pd(LOGITS, TRUE).mean(), np.mean(expected))


def test_absolute_pd_and_identical_pairs():
    expected = np.abs(sigmoid(LOGITS[0::2]) - sigmoid(LOGITS[1::2])).mean(axis=1)
    np.testing.assert_allclose(absolute_pd(LOGITS), expected, rtol=1e-12)
    twins = np.repeat(LOGITS[:1], 2, axis=0)
    assert relative_pd(twins, TRUE)[0] == 0 and absolute_pd(twins)[0] == 0


def test_deviation_cosine_of_the_linear_model():
    theta = np.array([1.0, -2.0, 0.5])
    weights = np.array([theta + [1, 0, 0], theta + [2, 0, 0],     # same direction: 1
                        theta + [1, 0, 0], theta + [0, 3, 0],     # orthogonal: 0
                        theta + [1, 1, 0], theta + [-1, -1, 0]])  # opposite: -1
    np.testing.assert_allclose(deviation_cosine(weights, theta), [1, 0, -1], atol=1e-12)
