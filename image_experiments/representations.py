"""More measures of representational similarity, beside SVCCA and linear CKA
(``image_experiments.similarity``); NumPy only.

Activations are matrices ``[n, p]`` (rows: the same n data points for both layers). Every
function checks its input as ``similarity.svcca`` does: NaN/inf values, mismatched rows and
a layer without variance raise ``UserError`` with a one-line message; constant (dead)
neurons are dropped; fewer than 5 data points per direction the measure sees (the rank of
the centred layer) earns a ``SimilarityWarning``. X, Y are the centred live neurons.

  debiased_cka   CKA with the unbiased HSIC estimator of Song et al. (2012, eq. 5), as in
                 Kornblith et al. (2019, appendix) and Nguyen et al. (2021):
                 HSIC_1(K, L) = [tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2))
                                 - 2/(n-2) 1'K~L~1] / (n(n-3)),
                 K = XX', L = YY', K~, L~ with zeroed diagonals;
                 CKA = HSIC_1(K, L) / sqrt(HSIC_1(K, K) HSIC_1(L, L)). The self-terms can be
                 negative (an unbiased estimate of a small positive number): then the square
                 root is undefined, and instead of a NaN or a complex number the function
                 raises a SimilarityWarning and returns NaN with the reason in the warning
                 (``measure`` puts it in the note). For linear kernels the self-term is 0
                 in theory when all points but one coincide, and rounding then gives +-1e-17:
                 self-terms below 1e-12 of the squared mean squared norm count as 0.
                 Needs n >= 4. Computed from X and Y without n x n matrices.
  rbf_cka        CKA with Gaussian kernels (Kornblith et al., 2019, sec. 3): K_ij =
                 exp(-||x_i - x_j||^2 / (2 sigma^2)), sigma^2 = threshold^2 x the median of
                 the squared distances (all n^2 entries, as in their code), likewise L;
                 HSIC(K, L) = tr(KHLH) (biased) or HSIC_1 (``debiased=True``). O(n^2) memory.
  pwcca          projection-weighted CCA (Morcos, Raghu & Bengio, 2018, sec. 2.2): CCA of X
                 and Y on their full rank (no variance cut), canonical correlations rho_i,
                 canonical variates h_i of X (unit norm, [n]), weights
                 alpha_i = sum_j |<h_i, x_j>| over the neurons x_j (columns of X),
                 normalised to sum 1; PWCCA = sum_i alpha_i rho_i. Asymmetric: the weights
                 come from the first layer, as in the paper (``symmetric_pwcca`` averages
                 both orders).
  procrustes     orthogonal Procrustes distance (Ding, Denain & Steinhardt, 2021, eq. 4):
                 with X, Y scaled to unit Frobenius norm,
                 d = ||X||^2 + ||Y||^2 - 2 ||X'Y||_* = 2 - 2 ||X'Y||_*  (nuclear norm),
                 the squared distance min_R ||X - Y R||_F^2 over orthogonal R (layers of
                 different widths: zero-padded). In [0, 2]; 0 = the same up to rotation and
                 scale. A distance: larger is less similar.
  minibatch_cka  linear CKA accumulated over mini-batches (Nguyen, Raghu & Kornblith, 2021,
                 eq. 3): CKA = mean_b HSIC_1(K_b, L_b) / sqrt(mean_b HSIC_1(K_b, K_b)
                 mean_b HSIC_1(L_b, L_b)) over consecutive batches of ``batch_size`` points
                 (a final partial batch is left out, with a warning). Takes arrays of any
                 shape [n, ...] (conv maps [n, h, w, c] are flattened per batch), also
                 ``np.load(path, mmap_mode='r')`` memory maps: only one batch is held in
                 float64 at a time, and each batch needs only its [m, m] Gram matrices.
                 Unbiased per batch; it keeps no directions, so it has no ratio caution.
"""
import warnings

import numpy as np

from image_experiments.similarity import (
    MIN_RATIO,
    SimilarityWarning,
    _as_activations,
    _centred_live,
    _same_points,
    _top_basis,
)
from irrepro.errors import UserError


def _prepared(a, b, names, measure):
    """Centred live neurons of both layers (checked like svcca's) and the ratio cautions."""
    x, y = (_centred_live(m, name)[0] for m, name in zip(_same_points((a, b), names), names))
    for z, name in ((x, names[0]), (y, names[1])):
        note = ratio_note(z, name, measure)
        if note:
            warnings.warn(note, SimilarityWarning, stacklevel=3)
    return x, y


def rank(centred):
    """Numerical rank of a centred layer [n, p], from the eigenvalues of its smaller Gram
    matrix with similarity._top_basis's cut (max(n, p) eps of the largest)."""
    n, p = centred.shape
    gram = centred.T @ centred if n >= p else centred @ centred.T
    values = np.linalg.eigvalsh(gram)
    return int((values > values[-1] * max(n, p) * np.finfo(np.float64).eps).sum())


def ratio_note(centred, name, measure):
    """The caution for fewer than MIN_RATIO data points per direction of a centred layer,
    or ''."""
    n, k = centred.shape[0], rank(centred)
    if n >= MIN_RATIO * k:
        return ""
    return (f"{name}: {n} data points for {k} directions of {measure} (ratio {n / k:.1f} < "
            f"{MIN_RATIO}); the estimate is biased: use at least {MIN_RATIO * k} data points")


def _hsic1_parts(x, y):
    """Unbiased HSIC_1 of the linear kernels of x [n, p1] and y [n, p2] (Song et al., 2012),
    from the features: tr(K~L~) = ||Y'X||^2 - sum_i k_ii l_ii, 1'K~1 = ||X'1||^2 - sum k_ii,
    1'K~L~1 = (K~1).(L~1) with K~1 = X(X'1) - diag(K)."""
    n = x.shape[0]
    kd, ld = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    k1, l1 = x @ x.sum(axis=0) - kd, y @ y.sum(axis=0) - ld
    trace = np.linalg.norm(y.T @ x) ** 2 - kd @ ld
    return (trace + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * (k1 @ l1)) / (
        n * (n - 3))


def _hsic1_gram(k, g):
    """HSIC_1 of two n x n kernel matrices (Song et al., 2012, eq. 5)."""
    n = k.shape[0]
    k, g = k.copy(), g.copy()
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(g, 0.0)
    ones_k, ones_l = k.sum(axis=1), g.sum(axis=1)
    return (np.sum(k * g) + ones_k.sum() * ones_l.sum() / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (ones_k @ ones_l)) / (n * (n - 3))


def _ratio(cross, self_a, self_b, names, measure, scales=(0.0, 0.0)):
    """cross / sqrt(self_a self_b), or NaN with a SimilarityWarning when a self-term is not
    positive (the unbiased estimator can be 0 or, by rounding, negative: e.g. a layer whose
    points are all equal but one): the guarded square root. A self-term below 1e-12 of its
    ``scale`` (the squared mean of the kernel's diagonal) counts as rounding noise of 0."""
    ok = [v > 1e-12 * scale and v > 0 for v, scale in zip((self_a, self_b), scales)]
    if not all(ok):
        bad = [name for name, good in zip(names, ok) if not good]
        warnings.warn(f"{' and '.join(bad)}: unbiased HSIC of the layer with itself is "
                      f"{min(self_a, self_b):.3g} <= 0, so {measure} is undefined (no square "
                      f"root of a negative number); use more data points or the biased "
                      f"linear CKA", SimilarityWarning, stacklevel=3)
        return float("nan")
    return float(cross / np.sqrt(self_a * self_b))


def debiased_cka(a, b, names=("a", "b")):
    """Linear CKA with the unbiased HSIC estimator of a [n, p1] and b [n, p2] (n >= 4);
    NaN with a SimilarityWarning when a layer's unbiased self-HSIC is not positive."""
    x, y = _prepared(a, b, names, "debiased CKA")
    if x.shape[0] < 4:
        raise UserError(f"debiased CKA needs at least 4 data points (got {x.shape[0]})")
    return _ratio(_hsic1_parts(x, y), _hsic1_parts(x, x), _hsic1_parts(y, y), names,
                  "debiased CKA", (_scale(x), _scale(y)))


def _scale(x):
    """The squared mean of the linear kernel's diagonal, mean_i ||x_i||^2, squared."""
    return float(np.einsum("ij,ij->", x, x) / len(x)) ** 2


def rbf_gram(x, threshold=1.0):
    """Gaussian kernel matrix [n, n] of the rows of x with sigma^2 = threshold^2 x the
    median squared distance (Kornblith et al.'s ``gram_rbf``)."""
    squared = np.einsum("ij,ij->i", x, x)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * x @ x.T, 0.0)
    median = np.median(distances)
    if not median > 0:
        raise UserError("RBF CKA: the median squared distance between data points is 0 (most "
                        "points are identical); give distinct data points")
    return np.exp(-distances / (2 * threshold ** 2 * median))


def _centre_gram(k):
    mean = k.mean(axis=0)
    return k - mean[None, :] - mean[:, None] + mean.mean()


def rbf_cka(a, b, threshold=1.0, debiased=False, names=("a", "b")):
    """CKA of a [n, p1] and b [n, p2] with Gaussian kernels of bandwidth ``threshold`` x the
    median distance; biased HSIC (Kornblith et al.) or, ``debiased=True``, HSIC_1."""
    if not threshold > 0:
        raise UserError(f"RBF CKA threshold must be > 0 (got {threshold}); Kornblith et al. "
                        "use 0.2 to 1")
    x, y = _prepared(a, b, names, "RBF CKA")
    k, g = rbf_gram(x, threshold), rbf_gram(y, threshold)
    if debiased:
        if x.shape[0] < 4:
            raise UserError(f"debiased RBF CKA needs at least 4 data points (got {x.shape[0]})")
        return _ratio(_hsic1_gram(k, g), _hsic1_gram(k, k), _hsic1_gram(g, g), names,
                      "debiased RBF CKA", (1.0, 1.0))
    kc, lc = _centre_gram(k), _centre_gram(g)
    value = np.sum(kc * lc) / np.sqrt(np.sum(kc * kc) * np.sum(lc * lc))
    return float(min(1.0, value))


def pwcca(a, b, names=("a", "b")):
    """Projection-weighted CCA of a [n, p1] and b [n, p2], weights from a's neurons
    (Morcos et al., 2018). In [0, 1]."""
    x, y = _prepared(a, b, names, "PWCCA")
    return _pwcca_centred(x, y)


def _pwcca_centred(x, y, qx=None, qy=None):
    """PWCCA of centred layers, from orthonormal bases of their full column spaces (given,
    or computed here)."""
    qx = _top_basis(x, 1.0) if qx is None else qx
    qy = _top_basis(y, 1.0) if qy is None else qy
    u, rho, _ = np.linalg.svd(qx.T @ qy, full_matrices=False)
    rho = np.clip(rho, 0.0, 1.0)
    variates = qx @ u  # canonical variates of x, orthonormal columns [n, min(kx, ky)]
    alpha = np.abs(variates.T @ x).sum(axis=1)
    return float(alpha @ rho / alpha.sum())


def symmetric_pwcca(a, b, names=("a", "b")):
    """The mean of pwcca(a, b) and pwcca(b, a): PWCCA with neither layer preferred."""
    x, y = _prepared(a, b, names, "PWCCA")
    return 0.5 * (_pwcca_centred(x, y) + _pwcca_centred(y, x))


def procrustes(a, b, names=("a", "b")):
    """Squared orthogonal Procrustes distance of a [n, p1] and b [n, p2] after centring and
    scaling each to unit Frobenius norm (Ding et al., 2021): 2 - 2 ||X'Y||_*, in [0, 2]."""
    x, y = _prepared(a, b, names, "Procrustes")
    return _procrustes_centred(x, y)


def _procrustes_centred(x, y):
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    nuclear = np.linalg.svd(x.T @ y, compute_uv=False).sum()
    return float(max(0.0, 2.0 - 2.0 * nuclear))


def minibatch_cka(a, b, batch_size=256, names=("a", "b")):
    """Mini-batch linear CKA of a [n, ...] and b [n, ...] (Nguyen et al., 2021): unbiased
    HSIC averaged over consecutive batches of ``batch_size`` points (>= 4), then the CKA
    ratio. Accepts memory-mapped arrays; holds one batch in float64 at a time."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
            batch_size < 4:
        raise UserError(f"minibatch CKA needs batch_size >= 4 (got {batch_size!r}); "
                        "Nguyen et al. use 256")
    if len(a) != len(b):
        raise UserError(f"{names[0]} has {len(a)} data points (rows) but {names[1]} has "
                        f"{len(b)}; both must hold activations of the same data points")
    n = len(a)
    batches = n // batch_size
    if batches < 1:
        raise UserError(f"minibatch CKA: {n} data points make no batch of {batch_size}; "
                        f"lower batch_size to at most {n}")
    sums, scales = np.zeros(3), np.zeros(2)
    spread = [None, None]  # running (min, max) per feature, to find a layer without variance
    for i in range(batches):
        rows = slice(i * batch_size, (i + 1) * batch_size)
        parts = []
        for side, (layer, name) in enumerate(zip((a, b), names)):
            x = _as_activations(np.asarray(layer[rows]).reshape(batch_size, -1),
                                f"{name} (batch {i}, rows {rows.start}-{rows.stop - 1})")
            low, high = x.min(axis=0), x.max(axis=0)
            spread[side] = (low, high) if spread[side] is None else (
                np.minimum(spread[side][0], low), np.maximum(spread[side][1], high))
            parts.append(x - x.mean(axis=0))
        x, y = parts
        sums += (_hsic1_parts(x, y), _hsic1_parts(x, x), _hsic1_parts(y, y))
        scales += (_scale(x), _scale(y))
    for (low, high), name in zip(spread, names):
        if not np.any(high > low):
            raise UserError(f"{name}: no variance: all {low.size} neurons are constant over "
                            f"the {batches * batch_size} data points; compare a layer with "
                            "live neurons")
    left = n - batches * batch_size
    if left:
        warnings.warn(f"minibatch CKA: the last {left} of {n} data points do not fill a batch "
                      f"of {batch_size} and are left out", SimilarityWarning, stacklevel=2)
    return _ratio(*(sums / batches), names, "minibatch CKA", tuple(scales / batches))
