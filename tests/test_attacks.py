"""L-infinity PGD: one step against a NumPy gradient, the ball and pixel range kept."""
import keras
import numpy as np

from image_experiments.attacks import PGD, attack_subset, step_size_for


def linear_model(rng, shape=(2, 2, 1), classes=3):
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(classes)])
    model.set_weights([rng.normal(size=(int(np.prod(shape)), classes)).astype(np.float32),
                       rng.normal(size=classes).astype(np.float32)])
    return model


def test_one_pgd_step_is_the_numpy_gradient_sign_step_of_a_linear_softmax_model():
    rng = np.random.default_rng(1)
    model = linear_model(rng)
    x = rng.uniform(0.2, 0.8, size=(8, 2, 2, 1)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    w, b = model.get_weights()
    flat = x.reshape(8, -1)
    logits = flat @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    gradient = (p - np.eye(3)[y]) @ w.T  # d CE / d x of a linear softmax model
    budget, step = 0.1, 0.04
    expected = np.clip(flat + step * np.sign(gradient), flat - budget, flat + budget)
    found = PGD(model).attack(x, y, budget, steps=1, step_size=step)
    assert np.allclose(found.reshape(8, -1), np.clip(expected, 0, 1), atol=1e-6)


def test_pgd_stays_in_the_ball_and_pixel_range_and_accuracy_falls_with_the_budget():
    rng = np.random.default_rng(2)
    model = linear_model(rng, shape=(4, 4, 1), classes=4)
    x = rng.uniform(0, 1, size=(64, 4, 4, 1)).astype(np.float32)
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0.0, 1.0  # at the pixel range's edges
    attacker = PGD(model, batch=24)  # batches of unequal size
    y = attacker.predict(x)  # every input starts correctly classified
    for budget in (0.05, 0.3):
        moved = attacker.attack(x, y, budget, steps=5)
        assert np.abs(moved - x).max() <= budget + 1e-6
        assert moved.min() >= 0 and moved.max() <= 1
    assert attacker.accuracy(x, y, 0.0, steps=5) == 1.0  # no budget: plain accuracy
    accuracies = [attacker.accuracy(x, y, budget, steps=10) for budget in (0.02, 0.1, 0.5)]
    assert accuracies == sorted(accuracies, reverse=True) and accuracies[-1] < 0.5
    assert np.isclose(step_size_for(0.1, 10), 0.025)
    subset = attack_subset(100, 10, seed=0)
    assert len(subset) == 10 and list(subset) == sorted(subset)
    assert list(subset) == list(attack_subset(100, 10, seed=0))
    assert list(attack_subset(5, 10, seed=0)) == [0, 1, 2, 3, 4]
