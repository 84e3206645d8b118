"""Similarity of two layers' activations: SVCCA and linear CKA (Heljakka et al., 2023, eq. 2-3).

Activations are matrices ``[n, p]``: one row per data point, one column per neuron, the same
data points in the same order for every layer compared. SVCCA (Raghu et al., 2017):

1. centre each neuron over the data points and drop dead (constant) neurons;
2. reduce: keep the top singular directions explaining ``variance`` (99%) of the layer's
   variance (sum of squared singular values), as an orthonormal basis ``Q`` [n, k];
3. CCA between the kept subspaces: the canonical correlations are the singular values of
   ``Qa^T Qb`` (CCA is invariant to invertible linear maps of each side, so the orthonormal
   bases stand in for the reduced activations);
4. SVCCA = mean of the top ``top`` (20) correlations, or all of them where fewer exist.

Representational multiplicity is RM = -SVCCA for a pair, and minus the mean SVCCA over the
K(K-1)/2 pairs for K variants (:func:`representational_multiplicity`). Step 2 is the costly
one and depends on one layer only, so :func:`pairwise_svcca` runs it once per variant and
each pair costs a single ``[k, n] x [n, k]`` product and the SVD of a ``[k, k]`` matrix.

Input problems a user can fix (NaN/inf values, mismatched rows, a layer without variance,
unreadable files) raise :class:`irrepro.errors.UserError` with a one-line message. Fewer
than 5 data points per kept direction biases canonical correlations towards 1: that earns a
:class:`SimilarityWarning`, recorded in the result as well.
"""
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from irrepro.errors import UserError

MIN_RATIO = 5  # data points per kept SVCCA direction below which CCA estimates are flagged
NPY_MAGIC = b"\x93NUMPY"


class SimilarityWarning(UserWarning):
    """A similarity value was computed but deserves caution (e.g. too few data points)."""


@dataclass(frozen=True)
class SVCCAResult:
    """SVCCA of one pair of layers.

    value: mean of the top ``top`` canonical correlations (1 = same subspace up to a linear
    map); correlations: all min(kept_dims) canonical correlations, descending, float64;
    kept_dims: directions kept per layer; neurons / dead_neurons: columns given and
    constant columns dropped, per layer; warnings: one line per caution raised.
    """

    value: float
    correlations: np.ndarray
    top: int
    variance: float
    kept_dims: tuple
    neurons: tuple
    dead_neurons: tuple
    data_points: int
    names: tuple
    warnings: tuple

    @property
    def rm(self):
        """Representational multiplicity of the pair, -value (Heljakka et al., eq. 2)."""
        return -self.value

    @property
    def averaged(self):
        """How many correlations the value averages: min(top, number of correlations)."""
        return min(self.top, len(self.correlations))

    def to_dict(self):
        """The result as plain JSON-ready Python values."""
        return {"metric": "svcca", "value": self.value, "rm": self.rm, "top": self.top,
                "averaged": self.averaged, "variance": self.variance,
                "kept_dims": list(self.kept_dims), "neurons": list(self.neurons),
                "dead_neurons": list(self.dead_neurons), "data_points": self.data_points,
                "names": list(self.names), "correlations": self.correlations.tolist(),
                "warnings": list(self.warnings)}

    def summary(self):
        """A few human-readable lines: value, what it averages, kept dims, warnings."""
        lines = [f"SVCCA {self.value:.4f}  (RM = {self.rm:.4f})",
                 f"  mean of the top {self.averaged} of {len(self.correlations)} canonical "
                 f"correlations, {self.data_points} data points"]
        for name, kept, neurons, dead in zip(self.names, self.kept_dims, self.neurons,
                                             self.dead_neurons):
            lines.append(f"  {name}: kept {kept} directions ({self.variance * 100:g}% of the "
                         f"variance) of {neurons} neurons, {dead} dead")
        lines += [f"  warning: {message}" for message in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class PairwiseSVCCA:
    """SVCCA of every pair among K layers (e.g. one layer of K seed variants).

    pairs: DataFrame with one row per pair i < j and columns i, j, svcca, kept_i, kept_j;
    value: mean SVCCA over the K(K-1)/2 pairs; kept_dims: directions kept per layer;
    warnings: one line per caution raised (at most one per layer and kind).
    """

    pairs: pd.DataFrame
    value: float
    kept_dims: tuple
    names: tuple
    warnings: tuple

    @property
    def rm(self):
        """RM over the K variants: minus the mean pairwise SVCCA (Heljakka et al., eq. 3)."""
        return -self.value


@dataclass(frozen=True)
class _Reduced:
    """One layer after SVCCA's reduction: an orthonormal basis Q [n, kept] of the top
    directions of its centred live neurons."""

    name: str
    basis: np.ndarray
    neurons: int
    dead: int
    warnings: tuple

    @property
    def kept(self):
        return self.basis.shape[1]


def svcca(a, b, variance=0.99, top=20, names=("a", "b")):
    """SVCCA of two layers' activations a [n, p1] and b [n, p2] (rows: the same data points).

    Returns an :class:`SVCCAResult`; ``result.value`` is the mean of the top ``top``
    canonical correlations between the subspaces explaining ``variance`` of each layer's
    variance, ``result.rm`` is -value. ``names`` label the layers in messages.
    Raises UserError for NaN/inf, mismatched rows or a layer without variance; warns
    (SimilarityWarning, also in ``result.warnings``) below 5 data points per kept direction.
    """
    _check_parameters(variance, top)
    first, second = (_reduce(x, variance, name)
                     for x, name in zip(_same_points((a, b), names), names))
    correlations = _canonical_correlations(first.basis, second.basis)
    notes = first.warnings + second.warnings
    _emit(notes)
    return SVCCAResult(value=_top_mean(correlations, top), correlations=correlations, top=top,
                       variance=variance, kept_dims=(first.kept, second.kept),
                       neurons=(first.neurons, second.neurons),
                       dead_neurons=(first.dead, second.dead),
                       data_points=first.basis.shape[0], names=tuple(names), warnings=notes)


def pairwise_svcca(activations, variance=0.99, top=20, names=None):
    """SVCCA of every pair among K layers' activations, each [n, p_k] on the same n points.

    Each layer is reduced once; a pair then costs one [k_i, n] x [n, k_j] product and the SVD
    of the [k_i, k_j] result, giving the same numbers as :func:`svcca` pair by pair.
    ``names`` (default "model 0", "model 1", ...) label the layers in messages.
    Returns a :class:`PairwiseSVCCA`; ``.value`` is the mean over the K(K-1)/2 pairs.
    """
    _check_parameters(variance, top)
    activations = list(activations)
    if len(activations) < 2:
        raise UserError(f"pairwise SVCCA needs at least 2 activation matrices "
                        f"(got {len(activations)}); pass one per variant")
    names = tuple(names or (f"model {k}" for k in range(len(activations))))
    if len(names) != len(activations):
        raise UserError(f"got {len(names)} names for {len(activations)} activation matrices; "
                        f"give one name per matrix")
    reduced = [_reduce(x, variance, name)
               for x, name in zip(_same_points(activations, names), names)]
    rows = [{"i": i, "j": j,
             "svcca": _top_mean(_canonical_correlations(reduced[i].basis, reduced[j].basis),
                                top),
             "kept_i": reduced[i].kept, "kept_j": reduced[j].kept}
            for i in range(len(reduced)) for j in range(i + 1, len(reduced))]
    pairs = pd.DataFrame(rows, columns=["i", "j", "svcca", "kept_i", "kept_j"])
    notes = tuple(note for layer in reduced for note in layer.warnings)
    _emit(notes)
    return PairwiseSVCCA(pairs=pairs, value=float(pairs["svcca"].mean()),
                         kept_dims=tuple(layer.kept for layer in reduced), names=names,
                         warnings=notes)


def representational_multiplicity(activations, variance=0.99, top=20):
    """RM of K >= 2 variants' activations (list of [n, p_k]): minus the mean pairwise SVCCA."""
    return pairwise_svcca(activations, variance, top).rm


def linear_cka(a, b, names=("a", "b")):
    """Linear CKA of a [n, p1] and b [n, p2] (Kornblith et al., 2019), a float in [0, 1].

    With X, Y the neuron-centred activations: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F).
    Invariant to orthogonal maps and isotropic scaling of either layer, not to general
    invertible maps (unlike SVCCA). Raises UserError on the same input problems as svcca.
    """
    x, y = (_centred_live(m, name)[0] for m, name in zip(_same_points((a, b), names), names))
    cross = np.linalg.norm(y.T @ x) ** 2
    # Cauchy-Schwarz bounds CKA by 1; rounding alone can overshoot it.
    return float(min(1.0, cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))))


def load_activations(path, transpose=False):
    """An activation matrix [n, p] from a .npy file (``transpose``: the file is [p, n]).

    Raises UserError naming the file and the fix when it is missing or not a readable .npy.
    """
    path = Path(path)
    fix = "save activations with numpy.save(path, array) as [data points, neurons]"
    if not path.is_file():
        raise UserError(f"{path}: no such file; give the path of a .npy activation matrix "
                        f"({fix})")
    with open(path, "rb") as stream:
        magic = stream.read(len(NPY_MAGIC))
    if magic != NPY_MAGIC:  # np.load would call it pickled data, which misleads
        kind = "an .npz archive" if magic.startswith(b"PK") else "not a .npy file"
        raise UserError(f"{path}: {kind} (no .npy header); {fix}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"{path}: unreadable .npy file ({reason}); {fix}") from None
    return array.T if transpose else array


def _check_parameters(variance, top):
    if not 0 < variance <= 1:
        raise UserError(f"variance must be in (0, 1] (got {variance}); the paper keeps 0.99")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise UserError(f"top must be a positive integer (got {top!r}); the paper uses 20")


def _as_activations(x, name):
    """x as a finite float64 [n, p] matrix, or a UserError saying what is wrong with it."""
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{name}: activations must be numeric [data points, neurons] "
                        f"matrices") from None
    if x.ndim != 2:
        raise UserError(f"{name}: activations must be a 2-D [data points, neurons] matrix "
                        f"(got shape {x.shape}); reshape conv maps to [n, h*w*c] first")
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise UserError(f"{name}: needs at least 2 data points and 1 neuron "
                        f"(got shape {x.shape})")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        nans = int(np.isnan(x).sum())
        raise UserError(f"{name}: {nans} NaN and {int(bad.sum()) - nans} infinite values "
                        f"(first at data point {row}, neuron {col}); activations must be "
                        f"finite: check the layer for overflow or drop those data points")
    return x


def _centred_live(x, name):
    """(centred live neurons [n, p_live], number of dead neurons): constant columns carry
    no variance, so they are dropped; a layer with no live neuron is a UserError."""
    live = np.ptp(x, axis=0) > 0  # exact: a dead ReLU unit is exactly constant
    if not live.any():
        raise UserError(f"{name}: no variance: all {x.shape[1]} neurons are constant over the "
                        f"{x.shape[0]} data points; compare a layer with live neurons")
    x = x[:, live]
    return x - x.mean(axis=0), int((~live).sum())


def _reduce(x, variance, name):
    """SVCCA's per-layer step: orthonormal basis of the top directions of x's centred live
    neurons that explain ``variance`` of its variance, plus the ratio warning."""
    centred, dead = _centred_live(x, name)
    basis = _top_basis(centred, variance)
    # CCA sees the kept directions, not the neurons: an affine layer of 512 neurons fed by 96
    # has at most 96 of them, and it is their number that biases the correlations.
    (n, p), kept = centred.shape, basis.shape[1]
    notes = ()
    if n < MIN_RATIO * kept:
        notes = (f"{name}: {n} data points for {kept} SVCCA directions of {p} live neurons "
                 f"(ratio {n / kept:.1f} < {MIN_RATIO}); canonical correlations are biased "
                 f"towards 1: use at least {MIN_RATIO * kept} data points",)
    return _Reduced(name=name, basis=basis, neurons=x.shape[1], dead=dead, warnings=notes)


def _top_basis(centred, variance):
    """Orthonormal basis [n, k] of the top-k left singular vectors of ``centred`` [n, p].

    Computed from the eigendecomposition of the smaller Gram matrix (p x p, or n x n when
    there are fewer points than neurons), which is several times faster than the SVD of a
    tall matrix. Eigenvalues (squared singular values) below max(n, p) * eps of the largest
    are rounding noise of the Gram matrix and count as rank deficiency.
    """
    n, p = centred.shape
    tall = n >= p
    gram = centred.T @ centred if tall else centred @ centred.T
    eigenvalues, vectors = np.linalg.eigh(gram)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]  # descending
    rank = int((eigenvalues > eigenvalues[0] * max(n, p) * np.finfo(np.float64).eps).sum())
    cumulative = np.cumsum(eigenvalues[:rank])
    # cumulative[-1] / cumulative[-1] is exactly 1.0, so variance = 1 keeps the full rank.
    kept = int(np.searchsorted(cumulative / cumulative[-1], variance)) + 1
    if not tall:
        return np.ascontiguousarray(vectors[:, :kept])
    return centred @ (vectors[:, :kept] / np.sqrt(eigenvalues[:kept]))


def _same_points(matrices, names):
    """The matrices as checked float64 activations, after making sure that all have the same
    number of data points (rows)."""
    checked = [_as_activations(x, name) for x, name in zip(matrices, names)]
    for x, name in zip(checked[1:], names[1:]):
        if x.shape[0] != checked[0].shape[0]:
            raise UserError(f"{names[0]} has {checked[0].shape[0]} data points (rows) but "
                            f"{name} has {x.shape[0]}; both must hold activations of the "
                            f"same data points (transpose a matrix stored as [neurons, data "
                            f"points])")
    return checked


def _canonical_correlations(qa, qb):
    """Canonical correlations of two orthonormal bases [n, ka], [n, kb], descending; rounding
    can push identical directions a hair above 1, hence the clip."""
    return np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)


def _top_mean(correlations, top):
    return float(correlations[:top].mean())


def _emit(notes):
    for note in notes:
        warnings.warn(note, SimilarityWarning, stacklevel=3)
