"""Our CKA, Procrustes and CCA numbers against independent implementations installed from
PyPI (the ``test`` extra), on the same activations, to 1e-10 where the definitions match.

- rsatoolbox 0.3 (Schütt et al.): its ``cosine_cov`` comparison of two squared-Euclidean RDMs
  (the whitened unbiased RDM cosine of Diedrichsen et al., 2021, with no pattern covariance)
  *is* linear CKA, computed from n x n distance matrices instead of features; its RDMs
  divide distances by the number of neurons, which CKA's scale invariance ignores. Its
  ``bures`` similarity of the double-centred kernels is the nuclear norm
  ||X'Y||_* / (||X||_F ||Y||_F), so our Procrustes distance is 2 - 2 x bures (to 2e-6:
  rsatoolbox's route through n x n eigenvalues adds rounding noise, see the test).
- cca-zoo 4 (Chapman & Wang): ``linear.CCA`` solves CCA as a generalised eigenproblem;
  its canonical correlations equal ours (``svcca`` with variance = 1, all directions kept)
  where n > p; our SVCCA cuts each layer to 99% of its variance first, so the match is
  with cca-zoo run on the same reduced layers (the SVCCA definition), not on the neurons.
- Not compared, for want of a peer that does not pull in PyTorch: debiased CKA, RBF CKA,
  PWCCA (netrep and anatome implement some; netrep is not on PyPI, anatome needs torch);
  those are tested against formulas by hand in test_representations.py.
"""
import numpy as np
import pytest

from image_experiments import representations as rep
from image_experiments.similarity import _centred_live, _top_basis, linear_cka, svcca

rsatoolbox = pytest.importorskip("rsatoolbox")
cca_zoo = pytest.importorskip("cca_zoo")

from cca_zoo.linear import CCA  # noqa: E402
from cca_zoo.metrics import pairwise_correlations  # noqa: E402
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.rdm import calc_rdm, compare  # noqa: E402


def layers(n=400, p1=24, p2=18, seed=0):
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, 6))
    a = np.maximum(z @ r.standard_normal((6, p1)) + 0.4 * r.standard_normal((n, p1)), 0)
    b = z @ r.standard_normal((6, p2)) + 0.4 * r.standard_normal((n, p2))
    return a, b


def rdm(x):
    return calc_rdm(Dataset(x), method="euclidean")


def test_linear_cka_equals_rsatoolbox_whitened_rdm_cosine():
    a, b = layers()
    theirs = compare(rdm(a), rdm(b), method="cosine_cov")[0, 0]
    assert linear_cka(a, b) == pytest.approx(theirs, abs=1e-10)
    assert 0.2 < theirs < 0.95  # a non-trivial pair


def test_procrustes_distance_equals_two_minus_twice_rsatoolbox_bures_similarity():
    a, b = layers(n=200)
    theirs = compare(rdm(a), rdm(b), method="bures")[0, 0]
    # Not 1e-10: rsatoolbox sums the square roots of the n eigenvalues of the n x n matrix
    # A^1/2 B A^1/2, of which n - rank are zero in exact arithmetic and come out as rounding
    # noise near 1e-16; each adds about sqrt(1e-16) = 1e-8, so its nuclear norm is off by
    # ~1e-6. We take the singular values of the small p1 x p2 matrix X'Y instead.
    assert rep.procrustes(a, b) == pytest.approx(2 - 2 * theirs, abs=2e-6)
    assert abs(rep.procrustes(a, b) - (2 - 2 * theirs)) > 0  # the noise is real, and small


def correlations_by_cca_zoo(x, y):
    k = min(x.shape[1], y.shape[1])
    model = CCA(n_components=k).fit([x, y])
    return np.sort(pairwise_correlations(model.transform([x, y]))[0, 1])[::-1]


def test_canonical_correlations_equal_cca_zoo_with_all_variance_kept():
    a, b = layers()
    ours = svcca(a, b, variance=1.0, top=100).correlations
    np.testing.assert_allclose(ours, correlations_by_cca_zoo(a, b), atol=1e-10)


def test_svcca_equals_cca_zoo_on_the_same_99_percent_subspaces():
    a, b = layers()
    result = svcca(a, b)
    reduced = [_top_basis(_centred_live(x, "x")[0], 0.99) for x in (a, b)]
    assert tuple(q.shape[1] for q in reduced) == result.kept_dims
    theirs = correlations_by_cca_zoo(*reduced)
    np.testing.assert_allclose(result.correlations, theirs, atol=1e-10)
    assert result.value == pytest.approx(theirs[:20].mean(), abs=1e-10)
    # the variance cut matters: plain CCA on the neurons gives other numbers
    assert abs(correlations_by_cca_zoo(a, b)[:20].mean() - result.value) > 1e-3
