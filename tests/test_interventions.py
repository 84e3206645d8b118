"""Ganesh's interventions (image_experiments.interventions) against direct NumPy
computations with the same draws."""
import numpy as np
import pytest

from image_experiments import interventions, sheets
from irrepro.errors import UserError
from irrepro.streams import Role, rng_for


def fixed_probs(k=3, n=4000, c=10, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (k, n, c))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.argmax(probs[0] + rng.normal(0, 0.05, (n, c)), axis=-1)
    return probs, labels


def test_larger_lambda_perturbs_more_against_numpy_with_the_same_draws():
    probs, labels = fixed_probs()
    draws = rng_for(7, Role.NOISE).standard_exponential(probs.shape[1:])
    previous_size, previous_flips = 0.0, -1.0
    clean = np.argmax(probs, -1)
    for rate in (0.01, 0.1, 1.0, 5.0):
        direct = probs + rate * draws[None]  # numpy.exponential(scale=lambda), same draws
        expected = (np.argmax(direct, -1) == labels[None]).mean(axis=1)
        found = interventions.output_noise_accuracy(probs, labels, rate, seed=7)
        assert np.array_equal(found, expected)
        assert np.array_equal(sheets.noise_accuracy(probs, labels, rate, 7), expected)
        noise = interventions.output_noise(probs.shape[1:], rate, 7)
        assert np.allclose(noise, rate * draws)
        assert noise.mean() == pytest.approx(rate, rel=0.05)  # mean lambda
        size = np.abs(noise).mean()
        flips = (np.argmax(direct, -1) != clean).mean()
        assert size > previous_size and flips > previous_flips  # larger lambda: more
        previous_size, previous_flips = size, flips
    assert flips > 0.5  # lambda = 5 overwhelms probabilities in [0, 1]


def test_input_noise_adds_lambda_exponential_pixels_and_clips():
    x = np.random.default_rng(1).uniform(0, 1, (5, 4, 4, 3)).astype(np.float32)
    draws = rng_for(3, Role.INPUT_NOISE).standard_exponential(x.shape)
    for rate in (0.1, 1.0):
        found = interventions.input_noise(x, rate, seed=3)
        assert np.allclose(found, np.clip(x + rate * draws, 0, 1), atol=1e-6)
        assert found.min() >= 0 and found.max() <= 1
    assert (np.abs(interventions.input_noise(x, 1.0, 3) - x).mean()
            > np.abs(interventions.input_noise(x, 0.1, 3) - x).mean())
    with pytest.raises(UserError):
        interventions.input_noise(x, 0, 3)


def test_group_accuracy_equals_a_direct_computation_on_a_mask():
    probs, labels = fixed_probs(k=4, n=500)
    mask = np.random.default_rng(2).uniform(size=500) < 0.1
    found = interventions.group_accuracy(probs, labels, mask)
    for k in range(4):
        hits = [np.argmax(probs[k, i]) == labels[i] for i in range(500) if mask[i]]
        assert found[k] == pytest.approx(sum(hits) / len(hits))
    assert np.isnan(interventions.group_accuracy(probs, labels, np.zeros(500, bool))).all()
    with pytest.raises(UserError):
        interventions.group_accuracy(probs, labels, mask[:10])
