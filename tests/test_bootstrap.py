"""Bootstrap intervals over seed variants: the resamples, the pairs of distinct draws, and
the fast PM and pairwise forms equal to the generic computation and to direct NumPy."""
import numpy as np
import pytest

from image_experiments import bootstrap as bs
from image_experiments import multiplicity as mm


def probs(k=6, n=40, c=4, seed=0):
    logits = np.random.default_rng(seed).normal(size=(k, n, c))
    p = np.exp(logits)
    return p / p.sum(axis=-1, keepdims=True)


def test_resamples_draw_k_variants_with_replacement_deterministically():
    draws = bs.draw_indices(5, 2000, seed=3)
    assert draws.shape == (2000, 5) and draws.min() == 0 and draws.max() == 4
    np.testing.assert_array_equal(draws, bs.draw_indices(5, 2000, seed=3))
    assert not np.array_equal(draws, bs.draw_indices(5, 2000, seed=4))
    # with replacement: the share of resamples with a repeat is 1 - 5!/5^5 = 0.9616
    repeats = np.mean([len(set(row)) < 5 for row in draws])
    assert abs(repeats - (1 - 120 / 5 ** 5)) < 0.02


def test_pairs_of_distinct_draws_skip_a_variant_paired_with_itself():
    a, b = bs.distinct_pairs(np.array([2, 0, 2, 1]))
    # positions (0,1) (0,2) (0,3) (1,2) (1,3) (2,3): (0,2) pairs variant 2 with itself
    assert list(zip(a, b)) == [(2, 0), (2, 1), (0, 2), (0, 1), (2, 1)]


def test_pm_from_all_pairs_is_eq_1s_pm():
    p = probs()
    pairs = np.array(mm.pairs_of(len(p))).T
    assert bs.pm_of_pairs(p, *pairs) == pytest.approx(mm.predictive_multiplicity(p), rel=1e-12)


def test_pm_interval_equals_the_generic_bootstrap_on_the_same_resamples():
    p = probs()
    fast = bs.pm_interval(p, draws=300, seed=1)
    slow = bs.pairs_interval(lambda a, b: bs.pm_of_pairs(p, a, b), len(p), draws=300, seed=1)
    assert fast.used == slow.used == 300  # K = 6: no resample is one variant six times
    assert fast.low == pytest.approx(slow.low, abs=1e-12)
    assert fast.high == pytest.approx(slow.high, abs=1e-12)
    # on distinct pairs the resampled PM is centred on the measured one, not below it
    assert fast.low < mm.predictive_multiplicity(p) < fast.high


def test_a_resample_of_one_variant_has_no_pm_and_is_dropped():
    p = probs(k=2)
    interval = bs.pm_interval(p, draws=400)
    # half the resamples of 2 variants are one variant twice; the rest are the one pair
    assert 150 < interval.used < 250
    assert interval.low == pytest.approx(mm.predictive_multiplicity(p), rel=1e-9)
    assert interval.high == pytest.approx(interval.low, rel=1e-12)


def test_the_interval_is_the_percentile_interval_of_the_resampled_values():
    p = probs(k=4, n=10)
    values = []
    for row in bs.draw_indices(4, 500, seed=0):
        a, b = bs.distinct_pairs(row)
        values.append(bs.pm_of_pairs(p, a, b, k=4) if len(a) else np.nan)
    values = np.array(values)[np.isfinite(values)]
    interval = bs.pm_interval(p, draws=500, level=0.9)
    assert interval.low == pytest.approx(np.quantile(values, 0.05), abs=1e-12)
    assert interval.high == pytest.approx(np.quantile(values, 0.95), abs=1e-12)


def test_pairwise_interval_averages_the_pairs_of_distinct_draws():
    k = 5
    values = np.random.default_rng(2).uniform(0.5, 1.0, size=k * (k - 1) // 2)
    matrix = {pair: v for pair, v in zip(mm.pairs_of(k), values)}
    expected = []
    for row in bs.draw_indices(k, 400, seed=0):
        pairs = [(min(row[i], row[j]), max(row[i], row[j])) for i in range(k)
                 for j in range(i + 1, k) if row[i] != row[j]]
        expected.append(-np.mean([matrix[p] for p in pairs]) if pairs else np.nan)
    kept = np.array([e for e in expected if np.isfinite(e)])
    interval = bs.pair_interval(-bs.pair_matrix(values, k), draws=400)
    assert interval.used == len(kept)
    assert interval.low == pytest.approx(np.quantile(kept, 0.025), abs=1e-12)
    assert interval.high == pytest.approx(np.quantile(kept, 0.975), abs=1e-12)


def test_two_variants_give_an_interval_without_width():
    interval = bs.pair_interval(-bs.pair_matrix([0.8], 2), draws=200)
    assert interval.low == interval.high == -0.8 and 0 < interval.used < 200


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="level"):
        bs.set_interval(lambda i: float(i.mean()), 3, level=1.5)
    with pytest.raises(ValueError, match="draws"):
        bs.draw_indices(3, 0)
