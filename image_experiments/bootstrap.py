"""Bootstrap confidence intervals over the K seed variants of one strategy.

PM and RM are statistics of the whole set of K variants, so their uncertainty comes from
which K seeds happened to be drawn. The bootstrap resamples the K variants with replacement
(``draws`` resamples of K indices each, from the random stream ``(seed, ROLE_BOOTSTRAP, K)``)
and recomputes the statistic on every resample; the interval is the percentile interval
(``level`` 0.95: the 2.5th and 97.5th percentiles of the resampled values).

- Pairwise statistics (RM = - mean SVCCA over pairs) take the pairs of distinct draws, a < b
  by position, whose variants differ: a variant compared with itself has SVCCA 1 by
  definition and is no pair. A resample with no such pair (every draw the same variant) is
  dropped; ``Interval.draws`` says how many were used. With K = 2 every kept resample holds
  the one pair, so the interval has no width: two variants say nothing about the spread.
- PM is treated the same way. Its population variance across K variants is a pairwise
  measure, var = (K - 1) / (2K) x mean over the K(K-1)/2 pairs of (p_a - p_b)^2, and a
  resample's PM takes that mean over its pairs of distinct draws. Computed instead as the
  population std of the draws, a variant drawn twice would pull every resample's std down
  (by sqrt((K-1)/K) on average for the variance), so far that with K = 6 the measured PM lay
  above the whole 95% interval; on the pairs of distinct draws the resampled variance is
  unbiased, and on the K variants themselves the statistic is exactly eq. (1)'s PM.

One module with one entry point, :func:`bootstrap_ci`; :func:`pm_ci` and :func:`pairwise_ci`
are the fast forms for PM and for values given per pair, equal to it on the same resamples
(tests/test_bootstrap.py checks both against it).
"""
from dataclasses import dataclass

import numpy as np

from simulator.data import rng_for

ROLE_BOOTSTRAP = 108  # random stream role, apart from the simulator's and the sweep's 100..106
DRAWS, LEVEL = 1000, 0.95
CHUNK_ELEMENTS = 1 << 22  # resampled probabilities held at a time by pm_ci


@dataclass(frozen=True)
class Interval:
    """A percentile interval [low, high] from ``draws`` resamples (NaN when none)."""

    low: float
    high: float
    draws: int


def resamples(k, draws=DRAWS, seed=0):
    """The resampled variant indices, int [draws, k], each row k draws with replacement."""
    if k < 1 or draws < 1:
        raise ValueError(f"the bootstrap needs k >= 1 variants and draws >= 1 (got {k}, {draws})")
    return rng_for(seed, ROLE_BOOTSTRAP, k).integers(0, k, size=(draws, k))


def distinct_pairs(indices):
    """The pairs of distinct draws of one resample ``indices`` int [k]: (a, b), the variants
    of positions i < j with indices[i] != indices[j], int arrays [m]."""
    i, j = np.triu_indices(len(indices), 1)
    a, b = indices[i], indices[j]
    keep = a != b
    return a[keep], b[keep]


def percentile_interval(values, level=LEVEL):
    """The ``level`` percentile interval of ``values`` (NaN ones dropped) as an Interval."""
    if not 0 < level < 1:
        raise ValueError(f"the interval level must be in (0, 1) (got {level})")
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return Interval(np.nan, np.nan, 0)
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return Interval(float(low), float(high), len(values))


def bootstrap_ci(statistic, k, draws=DRAWS, level=LEVEL, seed=0, pairwise=False):
    """The bootstrap percentile interval of ``statistic`` over k variants.

    pairwise=False: ``statistic(indices)`` with indices int [k], the resampled variants.
    pairwise=True: ``statistic(a, b)`` with a, b int [m], the variants of the resample's pairs
    of distinct draws (:func:`distinct_pairs`); resamples without one are dropped.
    """
    values = []
    for indices in resamples(k, draws, seed):
        if pairwise:
            a, b = distinct_pairs(indices)
            values.append(statistic(a, b) if len(a) else np.nan)
        else:
            values.append(statistic(indices))
    return percentile_interval(values, level)


def pm_of_pairs(probs, a, b, k=None):
    """PM (eq. 1) from pairs of variants: the mean over inputs and classes of
    sqrt((k - 1) / (2k) x mean over the pairs (a[i], b[i]) of (p_a - p_b)^2), probs [K, N, C],
    k = len(probs) unless given. Over all K(K-1)/2 pairs it equals
    ``multiplicity.predictive_multiplicity(probs)``."""
    probs = np.asarray(probs, np.float64)
    k = len(probs) if k is None else k
    squared = ((probs[a] - probs[b]) ** 2).mean(axis=0)
    return float(np.sqrt((k - 1) / (2 * k) * squared).mean())


def pm_ci(probs, draws=DRAWS, level=LEVEL, seed=0):
    """The interval of PM of probs [K, N, C] on the resamples of :func:`bootstrap_ci`, each
    resample's PM over its pairs of distinct draws (:func:`pm_of_pairs`; see the module
    docs). Fast form: from a resample's draw counts c, the mean over its distinct pairs of
    (p_a - p_b)^2 is 2K^2 / (K^2 - sum c^2) x the count-weighted variance, computed on the
    probabilities centred on their mean over all K (nothing cancels), in chunks."""
    probs = np.asarray(probs, np.float64)
    k = len(probs)
    flat = probs.reshape(k, -1)
    flat = flat - flat.mean(axis=0)
    counts = np.stack([np.bincount(row, minlength=k) for row in resamples(k, draws, seed)])
    pairs = (k ** 2 - (counts ** 2).sum(axis=1)) / 2  # distinct pairs of each resample
    weights = counts / k  # [draws, K], rows sum to 1
    chunk = max(1, CHUNK_ELEMENTS // flat.shape[1])
    values = []
    for start in range(0, draws, chunk):
        w = weights[start:start + chunk]
        mean = w @ flat
        variance = np.maximum(w @ flat ** 2 - mean ** 2, 0.0)  # weighted, duplicates counted
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(pairs[start:start + chunk] > 0,
                             (k - 1) * k / (2 * pairs[start:start + chunk]), np.nan)
        values.append(np.sqrt(variance * scale[:, None]).mean(axis=1))
    return percentile_interval(np.concatenate(values), level)


def pair_matrix(values, k):
    """Values given per pair in ``multiplicity.pairs_of(k)`` order (a < b, row by row) as a
    symmetric [k, k] matrix (NaN on the diagonal)."""
    matrix = np.full((k, k), np.nan)
    a, b = np.triu_indices(k, 1)
    matrix[a, b] = matrix[b, a] = np.asarray(values, float)
    return matrix


def pairwise_ci(values, k, draws=DRAWS, level=LEVEL, seed=0, sign=1.0):
    """The interval of ``sign`` x the mean over pairs of ``values`` (per pair, pairs_of(k)
    order; e.g. SVCCA with sign -1 for RM), on the resamples of :func:`bootstrap_ci`."""
    matrix = pair_matrix(values, k)
    return bootstrap_ci(lambda a, b: sign * float(matrix[a, b].mean()), k, draws, level,
                        seed, pairwise=True)
