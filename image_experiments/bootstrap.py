"""Bootstrap confidence intervals over models: the one place irrepro resamples models (the
sweep's strategies.csv, the report, and ``measure`` on users' arrays all use it).

The unit of resampling is the model (a seed variant): a draw picks K of the K models with
replacement, from the random stream ``(seed, Role.BOOTSTRAP, K)``, and the statistic is
recomputed on the drawn models. The interval is the percentile interval at ``level``
(default 0.95) of the draws' values (Efron & Tibshirani, 1993, ch. 13).

- A *set* statistic of the drawn models (label disagreement, ambiguity, accuracy range, ...):
  :func:`set_interval` calls ``statistic(indices)`` with the drawn indices int [K].
- A *pairwise* statistic, the mean over pairs of per-pair values (absolute PD, churn, SVCCA,
  CKA, RM = -mean SVCCA): only pairs of draws that are *distinct models* count; a model
  drawn twice is no pair (its SVCCA with itself is 1 by definition). :func:`pairs_interval`
  is the generic form, ``statistic(a, b)`` on the draw's pairs; :func:`pair_interval` the
  fast form for a symmetric matrix of per-pair values: for a draw with multiplicities c [K]
  the mean is ``sum_{i != j} c_i c_j values_ij / (K^2 - sum_i c_i^2)``. A draw of one model
  only has no pair and is left out (counted in the note).
- PM is treated as a pairwise statistic too (:func:`pm_interval`). Its population variance
  across K models is var = (K - 1) / (2K) x mean over pairs of (p_a - p_b)^2, and a draw's
  PM takes that mean over its pairs of distinct draws. Computed instead as the population
  std of the draws, a model drawn twice pulls every draw's std down (by sqrt((K-1)/K) on
  average for the variance), so far that with K = 6 the measured PM lay above the whole 95%
  interval; on pairs of distinct draws the resampled variance is unbiased, and on the K
  models themselves the statistic is exactly Heljakka et al.'s eq. (1).

With few models an interval is coarse (K = 3 has only 10 distinct draws) and with few draws
rough; ``BootstrapCI.note`` says so in words, never a bare NaN.
"""
from dataclasses import dataclass

import numpy as np

from irrepro.streams import Role, rng_for

DRAWS = 1000
LEVEL = 0.95
SEED = 0
FEW_MODELS = 5  # below this many models the interval is flagged as coarse
ROUGH_DRAWS = 100  # below this many draws the percentiles are flagged as rough
CHUNK_ELEMENTS = 1 << 22  # resampled probabilities held at a time by pm_interval


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile interval: ``low``, ``high`` (NaN only with a ``note`` saying why),
    ``draws`` asked for, ``used`` draws that had a value, and ``note`` ('' when none)."""

    low: float
    high: float
    draws: int
    used: int
    note: str = ""


def draw_indices(models, draws=DRAWS, seed=SEED):
    """The bootstrap draws over ``models`` models: int [draws, models], each row K indices
    drawn with replacement from range(models), from the stream (seed, BOOTSTRAP, models)."""
    if models < 1 or draws < 1:
        raise ValueError(f"the bootstrap needs models >= 1 and draws >= 1 (got {models}, "
                         f"{draws})")
    return rng_for(seed, Role.BOOTSTRAP, models).integers(0, models, size=(draws, models))


def distinct_pairs(indices):
    """The pairs of distinct draws of one draw ``indices`` int [K]: (a, b), the models at
    positions i < j with indices[i] != indices[j], int arrays [m]."""
    i, j = np.triu_indices(len(indices), 1)
    a, b = indices[i], indices[j]
    keep = a != b
    return a[keep], b[keep]


def _interval(values, draws, level, models):
    if not 0 < level < 1:
        raise ValueError(f"the interval level must be in (0, 1) (got {level})")
    values = np.asarray(values, np.float64)
    finite = values[np.isfinite(values)]
    notes = []
    if finite.size == 0:
        return BootstrapCI(np.nan, np.nan, draws, 0, "no bootstrap draw had a value")
    if finite.size < draws:
        notes.append(f"{draws - finite.size} of {draws} bootstrap draws had no value "
                     f"(e.g. one model drawn {models} times: no pair)")
    if draws < ROUGH_DRAWS:
        notes.append(f"interval from only {draws} bootstrap draws: rough")
    if models < FEW_MODELS:
        notes.append(f"bootstrap over only {models} models: the interval is coarse")
    alpha = (1 - level) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return BootstrapCI(float(low), float(high), draws, int(finite.size), "; ".join(notes))


def _too_few(models, draws, what):
    return BootstrapCI(np.nan, np.nan, draws, 0,
                       f"no bootstrap interval: {what} needs at least 2 models (got {models})")


def set_interval(statistic, models, draws=DRAWS, seed=SEED, level=LEVEL):
    """Percentile interval of ``statistic(indices)`` (indices int [models], one bootstrap
    draw of the model indices) over ``draws`` seeded draws: a :class:`BootstrapCI`."""
    if models < 2:
        return _too_few(models, draws, "resampling models")
    values = [statistic(row) for row in draw_indices(models, draws, seed)]
    return _interval(values, draws, level, models)


def pairs_interval(statistic, models, draws=DRAWS, seed=SEED, level=LEVEL):
    """Percentile interval of ``statistic(a, b)`` (a, b int [m]: the models of a draw's
    pairs of distinct draws, :func:`distinct_pairs`) over ``draws`` seeded draws; a draw
    without such a pair has no value."""
    if models < 2:
        return _too_few(models, draws, "a pairwise measure")
    values = []
    for row in draw_indices(models, draws, seed):
        a, b = distinct_pairs(row)
        values.append(statistic(a, b) if len(a) else np.nan)
    return _interval(values, draws, level, models)


def pair_means(values, indices):
    """Mean of ``values`` [K, K] (symmetric, per pair of models) over the pairs of distinct
    models in each draw of ``indices`` int [draws, K]: float [draws] (NaN for a draw of a
    single model)."""
    values = np.array(values, np.float64)
    k = values.shape[0]
    np.fill_diagonal(values, 0.0)
    counts = np.zeros((len(indices), k))
    np.add.at(counts, (np.repeat(np.arange(len(indices)), indices.shape[1]),
                       indices.ravel()), 1.0)
    total = np.einsum("bi,ij,bj->b", counts, values, counts)
    pairs = indices.shape[1] ** 2 - (counts ** 2).sum(axis=1)
    return np.divide(total, pairs, out=np.full(len(indices), np.nan), where=pairs > 0)


def pair_interval(values, draws=DRAWS, seed=SEED, level=LEVEL):
    """Percentile interval of the mean pairwise value over bootstrap draws of the models,
    from the symmetric matrix ``values`` [K, K] of per-pair values (diagonal ignored)."""
    values = np.asarray(values, np.float64)
    models = values.shape[0]
    if models < 2:
        return _too_few(models, draws, "a pairwise measure")
    return _interval(pair_means(values, draw_indices(models, draws, seed)), draws, level,
                     models)


def pair_matrix(values, k):
    """Values given per pair in ``multiplicity.pairs_of(k)`` order (a < b, row by row) as a
    symmetric [k, k] matrix (zero on the diagonal, which no pair uses)."""
    matrix = np.zeros((k, k))
    a, b = np.triu_indices(k, 1)
    matrix[a, b] = matrix[b, a] = np.asarray(values, float)
    return matrix


def mean_of_pairs(values):
    """The point estimate matching :func:`pair_interval`: the mean of ``values`` [K, K]
    over the K(K-1)/2 pairs i < j."""
    values = np.asarray(values, np.float64)
    upper = np.triu_indices(values.shape[0], 1)
    return float(values[upper].mean())


def pm_of_pairs(probs, a, b, k=None):
    """PM (eq. 1) from pairs of models: the mean over inputs and classes of
    sqrt((k - 1) / (2k) x mean over the pairs (a[i], b[i]) of (p_a - p_b)^2), probs [K, N, C],
    k = len(probs) unless given. Over all K(K-1)/2 pairs it equals
    ``multiplicity.predictive_multiplicity(probs)``."""
    probs = np.asarray(probs, np.float64)
    k = len(probs) if k is None else k
    squared = ((probs[a] - probs[b]) ** 2).mean(axis=0)
    return float(np.sqrt((k - 1) / (2 * k) * squared).mean())


def pm_interval(probs, draws=DRAWS, seed=SEED, level=LEVEL):
    """The interval of PM of probs [K, N, C] (or scores [K, N]), each draw's PM over its
    pairs of distinct draws (:func:`pm_of_pairs`, equal to it on the same draws; see the
    module docs). Fast form: from a draw's counts c, the mean over its distinct pairs of
    (p_a - p_b)^2 is 2K^2 / (K^2 - sum c^2) x the count-weighted variance, computed on the
    probabilities centred on their mean over all K (nothing cancels), in chunks."""
    probs = np.asarray(probs, np.float64)
    k = len(probs)
    if k < 2:
        return _too_few(k, draws, "PM")
    flat = probs.reshape(k, -1)
    flat = flat - flat.mean(axis=0)
    counts = np.stack([np.bincount(row, minlength=k) for row in draw_indices(k, draws, seed)])
    pairs = (k ** 2 - (counts ** 2).sum(axis=1)) / 2  # distinct pairs of each draw
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
    return _interval(np.concatenate(values), draws, level, k)
