"""Debiased, RBF and minibatch CKA, PWCCA and Procrustes against independent computations
(explicit n x n kernel matrices, covariance-based CCA, SciPy's orthogonal Procrustes), and the
svcca-style handling of awkward inputs."""
import warnings

import numpy as np
import pytest
import scipy.linalg

from image_experiments import representations as rep
from image_experiments.similarity import SimilarityWarning, linear_cka
from irrepro.errors import UserError


def rng(seed):
    return np.random.default_rng(seed)


def pair(n=300, p1=20, p2=15, latent=5, noise=0.5, seed=0):
    z = rng(seed).standard_normal((n, latent))
    a = np.maximum(z @ rng(seed + 1).standard_normal((latent, p1))
                   + noise * rng(seed + 2).standard_normal((n, p1)), 0)
    b = z @ rng(seed + 3).standard_normal((latent, p2)) + noise * rng(seed + 4).standard_normal(
        (n, p2))
    return a, b


def hsic_unbiased_by_hand(k, g):
    """Song et al. (2012) eq. 5, written from the paper with explicit n x n matrices."""
    n = len(k)
    kt, lt = k - np.diag(np.diag(k)), g - np.diag(np.diag(g))
    one = np.ones(n)
    return (np.trace(kt @ lt) + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ kt @ lt @ one) / (n * (n - 3))


def test_debiased_cka_matches_the_unbiased_hsic_formula_on_explicit_kernels():
    a, b = pair()
    k, g = a @ a.T, b @ b.T  # HSIC_1 does not need centred features
    expected = hsic_unbiased_by_hand(k, g) / np.sqrt(hsic_unbiased_by_hand(k, k)
                                                      * hsic_unbiased_by_hand(g, g))
    assert rep.debiased_cka(a, b) == pytest.approx(expected, rel=1e-10)
    assert rep.debiased_cka(a, b) < linear_cka(a, b)  # the bias of linear CKA is upward here


def test_debiased_cka_returns_nan_with_a_warning_instead_of_a_negative_square_root():
    # All points equal but one: the layer varies, yet its unbiased self-HSIC is 0 in exact
    # arithmetic (a U-statistic over 4 distinct points always sees 3 equal ones), and
    # rounding makes it +-1e-17: a naive sqrt gives NaN, complex numbers or huge values.
    a = np.array([[0.529], [-6.375], [0.529], [0.529], [0.529]]) @ np.ones((1, 3))
    b = rng(3).standard_normal((5, 1))
    x = a - a.mean(0)
    assert abs(hsic_unbiased_by_hand(x @ x.T, x @ x.T)) < 1e-12
    with pytest.warns(SimilarityWarning, match="undefined"):
        assert np.isnan(rep.debiased_cka(a, b))
    with pytest.warns(SimilarityWarning, match="undefined"):
        assert np.isnan(rep.minibatch_cka(a, b, batch_size=5))


def test_rbf_cka_matches_explicit_gaussian_kernels_with_the_median_bandwidth():
    a, b = pair(n=120)

    def gram(x):
        d = np.array([[np.sum((u - v) ** 2) for v in x] for u in x])
        return np.exp(-d / (2 * 0.5 ** 2 * np.median(d)))

    h = np.eye(120) - 1 / 120
    k, g = h @ gram(a) @ h, h @ gram(b) @ h
    expected = np.sum(k * g) / np.sqrt(np.sum(k * k) * np.sum(g * g))
    assert rep.rbf_cka(a, b, threshold=0.5) == pytest.approx(expected, rel=1e-10)
    k, g = gram(a), gram(b)
    unbiased = hsic_unbiased_by_hand(k, g) / np.sqrt(hsic_unbiased_by_hand(k, k)
                                                      * hsic_unbiased_by_hand(g, g))
    assert rep.rbf_cka(a, b, 0.5, debiased=True) == pytest.approx(unbiased, rel=1e-10)
    assert rep.rbf_cka(a, a * 3 + 1) == pytest.approx(1.0, abs=1e-12)


def test_pwcca_matches_covariance_based_cca_weighted_by_projections_on_the_first_layer():
    a, b = pair(n=500)
    x, y = a - a.mean(0), b - b.mean(0)

    def inverse_sqrt(c):
        values, vectors = np.linalg.eigh(c)
        return vectors @ np.diag(values ** -0.5) @ vectors.T

    sxx, syy = inverse_sqrt(x.T @ x), inverse_sqrt(y.T @ y)
    u, rho, _ = np.linalg.svd(sxx @ x.T @ y @ syy)
    k = min(x.shape[1], y.shape[1])
    weights = []
    for i in range(k):
        h = x @ (sxx @ u[:, i])
        h /= np.linalg.norm(h)
        weights.append(sum(abs(h @ x[:, j]) for j in range(x.shape[1])))
    weights = np.array(weights) / np.sum(weights)
    assert rep.pwcca(a, b) == pytest.approx(weights @ rho[:k], rel=1e-9)
    assert rep.pwcca(a, b) != pytest.approx(rep.pwcca(b, a), rel=1e-6)  # asymmetric
    assert rep.symmetric_pwcca(a, b) == pytest.approx((rep.pwcca(a, b) + rep.pwcca(b, a)) / 2)


def test_procrustes_matches_scipy_orthogonal_procrustes_on_zero_padded_layers():
    a, b = pair(p1=20, p2=15)
    x, y = a - a.mean(0), b - b.mean(0)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    y = np.hstack([y, np.zeros((len(y), 5))])
    r, _ = scipy.linalg.orthogonal_procrustes(y, x)
    assert rep.procrustes(a, b) == pytest.approx(np.linalg.norm(x - y @ r) ** 2, rel=1e-10)
    q = np.linalg.qr(rng(9).standard_normal((20, 20)))[0]
    assert rep.procrustes(a, 2 * a @ q + 3) == pytest.approx(0.0, abs=1e-12)


def test_minibatch_cka_averages_unbiased_hsic_over_batches_and_reads_conv_maps(tmp_path):
    n, batch = 512, 128
    maps_a = rng(1).standard_normal((n, 4, 4, 3))
    maps_b = np.maximum(maps_a * 0.5 + 0.5 * rng(2).standard_normal((n, 4, 4, 3)), 0)
    sums = np.zeros(3)
    for i in range(n // batch):
        x = maps_a[i * batch:(i + 1) * batch].reshape(batch, -1)
        y = maps_b[i * batch:(i + 1) * batch].reshape(batch, -1)
        k, g = x @ x.T, y @ y.T
        sums += (hsic_unbiased_by_hand(k, g), hsic_unbiased_by_hand(k, k),
                 hsic_unbiased_by_hand(g, g))
    expected = sums[0] / np.sqrt(sums[1] * sums[2])
    np.save(tmp_path / "a.npy", maps_a.astype(np.float32))
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    value = rep.minibatch_cka(mapped, maps_b, batch_size=batch)
    assert value == pytest.approx(expected, rel=1e-6)  # float32 storage of a
    whole = rep.minibatch_cka(maps_a, maps_b, batch_size=n)
    assert whole == pytest.approx(rep.debiased_cka(maps_a.reshape(n, -1),
                                                   maps_b.reshape(n, -1)), rel=1e-10)
    with pytest.warns(SimilarityWarning, match="left out"):
        rep.minibatch_cka(maps_a[:500], maps_b[:500], batch_size=batch)


MEASURES = [rep.debiased_cka, rep.rbf_cka, rep.pwcca, rep.procrustes]


@pytest.mark.parametrize("function", MEASURES + [rep.minibatch_cka])
def test_bad_inputs_are_one_line_errors(function):
    a, b = pair()
    kwargs = {"batch_size": 100} if function is rep.minibatch_cka else {}
    nan = a.copy()
    nan[3, 2] = np.nan
    with pytest.raises(UserError, match="NaN"):
        function(nan, b, **kwargs)
    with pytest.raises(UserError, match="data points"):
        function(a[:-1], b, **kwargs)
    with pytest.raises(UserError, match="no variance"):
        function(np.ones_like(a), b, **kwargs)


@pytest.mark.parametrize("function", MEASURES)
def test_dead_neurons_change_nothing_and_few_points_per_direction_warn(function):
    a, b = pair()
    dead = np.hstack([a, np.zeros((len(a), 3)), np.full((len(a), 2), 7.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SimilarityWarning)
        assert function(dead, b) == pytest.approx(function(a, b), rel=1e-10)
    small_a, small_b = pair(n=60, p1=40, p2=30)
    with pytest.warns(SimilarityWarning, match="directions"):
        function(small_a, small_b)
