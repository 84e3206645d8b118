"""PM, prediction differences, churn and RM against independent computations on fixed
inputs (loops over samples and classes, SVCCA by plain SVD)."""
import math
import warnings

import numpy as np
import pytest

from image_experiments import multiplicity as mm

# 3 variants x 4 inputs x 3 classes; every row sums to 1.
PROBS = np.array([
    [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [1.0, 0.0, 0.0]],
    [[0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3], [1.0, 0.0, 0.0]],
    [[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.9, 0.1, 0.0]],
])
LABELS = np.array([0, 1, 2, 0])


def std(values):
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def test_pm_is_the_mean_over_inputs_of_the_class_averaged_std_across_variants():
    k, n, c = PROBS.shape
    per_input = [sum(std([PROBS[v, i, j] for v in range(k)]) for j in range(c)) / c
                 for i in range(n)]
    np.testing.assert_allclose(mm.per_input_pm(PROBS), per_input)
    assert mm.predictive_multiplicity(PROBS) == pytest.approx(sum(per_input) / n)
    # input 3 of the first two variants is identical: no multiplicity there
    assert mm.per_input_pm(PROBS[:2])[3] == 0


def test_true_class_std_follows_each_inputs_label():
    expected = np.mean([std([PROBS[v, i, LABELS[i]] for v in range(3)]) for i in range(4)])
    assert mm.true_class_std(PROBS, LABELS) == pytest.approx(expected)
    # hand check of input 0: p(class 0) = 0.7, 0.6, 0.8 -> std sqrt(2/300)
    assert std([0.7, 0.6, 0.8]) == pytest.approx(math.sqrt(0.02 / 3))


def test_label_disagreement_counts_inputs_without_a_unanimous_label():
    # labels per variant: [0,1,2,0], [0,2,1,0], [0,1,0,0]: inputs 1 and 2 disagree
    assert mm.label_disagreement(PROBS) == 0.5
    assert mm.label_disagreement(PROBS[[0, 0]]) == 0.0


def test_accuracy_per_variant():
    np.testing.assert_allclose(mm.accuracy(PROBS, LABELS), [1.0, 0.5, 0.75])


def test_pairwise_prediction_differences_by_hand():
    a, b = PROBS[0], PROBS[1]
    diffs = [abs(a[i, j] - b[i, j]) for i in range(4) for j in range(3)]
    assert mm.absolute_pd(a, b) == pytest.approx(sum(diffs) / 12)
    ratios = [abs(a[i, j] - b[i, j]) / ((a[i, j] + b[i, j]) / 2) if a[i, j] + b[i, j] else 0.0
              for i in range(4) for j in range(3)]
    assert mm.relative_pd_mean(a, b) == pytest.approx(sum(ratios) / 12)
    assert mm.churn(a, b) == 0.5  # inputs 1 and 2
    assert mm.absolute_pd(a, a) == mm.relative_pd_mean(a, a) == mm.churn(a, a) == 0


def test_relative_pd_is_bounded_by_2_and_zero_where_both_are_zero():
    a = np.array([[1.0, 0.0, 0.0]])
    b = np.array([[0.0, 1.0, 0.0]])
    assert mm.relative_pd_mean(a, b) == pytest.approx((2 + 2 + 0) / 3)


def test_pairs_and_their_kinds():
    assert mm.pairs_of(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert mm.pair_kind((0, 0), (1, 0)) == "init"
    assert mm.pair_kind((0, 0), (0, 1)) == "order"
    assert mm.pair_kind((0, 0), (1, 1)) == "both"
    with pytest.raises(ValueError):
        mm.pair_kind((2, 3), (2, 3))


def svcca_by_svd(a, b, variance=0.99, top=20):
    """SVCCA the long way: SVD of each centred layer, the top directions explaining
    ``variance``, orthonormalised, canonical correlations from the SVD of their product."""
    bases = []
    for x in (a, b):
        x = x[:, np.ptp(x, axis=0) > 0]
        x = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        share = np.cumsum(s ** 2) / np.sum(s ** 2)
        keep = int(np.argmax(share >= variance)) + 1
        bases.append(np.linalg.qr(u[:, :keep] * s[:keep])[0])
    rho = np.linalg.svd(bases[0].T @ bases[1], compute_uv=False)
    return np.sort(rho)[::-1][:top].mean()


def layers(k, n=400, p=30, seed=0):
    """k ReLU layers [n, p] reading 8 shared latent factors, plus their own noise."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, 8))
    return np.stack([np.maximum(factors @ rng.standard_normal((8, p))
                                + 0.5 * rng.standard_normal((n, p)), 0) for _ in range(k)])


def test_rm_is_minus_the_mean_svcca_over_all_pairs():
    acts = layers(4)
    result = mm.layer_rm(acts, "fc1")
    expected = [svcca_by_svd(acts[a], acts[b]) for a, b in mm.pairs_of(4)]
    np.testing.assert_allclose(result.svcca, expected, rtol=1e-8)
    assert result.rm == pytest.approx(-np.mean(expected))
    assert result.warnings == () and result.note == ""


def test_too_few_data_points_per_direction_is_recorded_not_printed():
    acts = layers(3, n=100, p=30)  # ratio 100/30 < 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape as a warning
        result = mm.layer_rm(acts, "cnn")
    assert len(result.warnings) == 3
    assert result.note.startswith("cnn of variant 0: 100 data points for ")
    assert "SVCCA directions of 30 live neurons" in result.note
    assert result.note.endswith("(and 2 more like it)")
