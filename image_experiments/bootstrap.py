"""Bootstrap confidence intervals over models: the one place irrepro resamples models.

The unit of resampling is the model (a seed variant): a draw picks K of the K models with
replacement (seeded, ``numpy.random.default_rng(seed)``), and the statistic is recomputed
on the drawn models. Two kinds of statistic:

- a *set* statistic of the drawn models (PM, label disagreement, ambiguity, ...):
  :func:`set_interval` calls ``statistic(indices)`` with the drawn indices int [K];
- a *pairwise* statistic, the mean over pairs of a symmetric matrix ``values`` [K, K] of
  per-pair values (absolute PD, churn, SVCCA, CKA, ...): :func:`pair_interval` averages,
  for each draw, over the pairs of draws that are *distinct models* (a model drawn twice
  is not a pair: its distance to itself says nothing about multiplicity). For a draw with
  multiplicities c [K] (how often each model was drawn) that mean is
  ``sum_{i != j} c_i c_j values_ij / (K^2 - sum_i c_i^2)``; a draw of one model only has
  no pair and is left out (counted in the note).

The interval is the percentile interval at ``level`` (default 0.95) of the draws' values
(Efron & Tibshirani, 1993, ch. 13). With few models it is coarse: K = 3 has only 10
distinct draws. ``BootstrapCI.note`` says so in words, never a bare NaN.
"""
from dataclasses import dataclass

import numpy as np

DRAWS = 1000
LEVEL = 0.95
SEED = 0
FEW_MODELS = 5  # below this many models the interval is flagged as coarse
ROUGH_DRAWS = 100  # below this many draws the percentiles are flagged as rough


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
    drawn with replacement from range(models), from ``default_rng(seed)``."""
    return np.random.default_rng(seed).integers(0, models, size=(draws, models))


def _interval(values, draws, level, models):
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


def pair_means(values, indices):
    """Mean of ``values`` [K, K] (symmetric, per pair of models) over the pairs of distinct
    models in each draw: float [draws] (NaN for a draw of a single model)."""
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


def mean_of_pairs(values):
    """The point estimate matching :func:`pair_interval`: the mean of ``values`` [K, K]
    over the K(K-1)/2 pairs i < j."""
    values = np.asarray(values, np.float64)
    upper = np.triu_indices(values.shape[0], 1)
    return float(values[upper].mean())
