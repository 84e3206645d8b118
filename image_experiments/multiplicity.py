"""Predictive and representational multiplicity of K seed variants (Heljakka et al., 2023).

Predictions are class probabilities ``probs`` float [K, N, C]: K variants, N inputs, C
classes; ``labels`` int [N] are the true classes. Standard deviations across variants are
population ones (ddof = 0): H is the whole set of variants, as in the paper's eq. (1).

Per strategy (all K variants):
  PM          mean over inputs of (mean over classes of the std across variants), eq. (1)
  true-class  mean over inputs of the std across variants of p(true class)
  disagreement  fraction of inputs whose K predicted labels are not all the same
  RM          minus the mean SVCCA over the K(K-1)/2 pairs, per layer, eq. (3)
Per pair (a, b) of variants:
  absolute PD   mean over inputs and classes of |p_a - p_b|
  relative PD   mean over inputs and classes of |p_a - p_b| / ((p_a + p_b) / 2), the pair's
                mean prediction standing in for the unknown true probability of Snapp &
                Shamir's relative PD (terms with p_a = p_b = 0 count 0); it lies in [0, 2]
  churn         fraction of inputs whose predicted labels differ
"""
import warnings
from dataclasses import dataclass

import numpy as np

from image_experiments.similarity import SimilarityWarning, pairwise_svcca

PAIR_KINDS = ("init", "order", "both")


def accuracy(probs, labels):
    """Accuracy of each variant, float [K], from probs [K, N, C] and labels [N]."""
    return (np.argmax(probs, axis=-1) == np.asarray(labels)[None]).mean(axis=-1)


def per_input_pm(probs):
    """Std across variants averaged over classes, one value per input: float [N]."""
    return np.asarray(probs, np.float64).std(axis=0).mean(axis=-1)


def predictive_multiplicity(probs):
    """PM(S, H) of probs [K, N, C]: mean over the N inputs of :func:`per_input_pm`."""
    return float(per_input_pm(probs).mean())


def true_class_std(probs, labels):
    """Mean over inputs of the std across variants of the true class's probability."""
    probs = np.asarray(probs, np.float64)
    true = np.take_along_axis(probs, np.asarray(labels)[None, :, None], axis=-1)[..., 0]
    return float(true.std(axis=0).mean())


def label_disagreement(probs):
    """Fraction of inputs on which the K variants do not all predict the same label."""
    predicted = np.argmax(probs, axis=-1)  # [K, N]
    return float((predicted != predicted[:1]).any(axis=0).mean())


def absolute_pd(p_a, p_b):
    """Mean over inputs and classes of |p_a - p_b| for one pair's probs [N, C]."""
    return float(np.abs(np.asarray(p_a, np.float64) - np.asarray(p_b, np.float64)).mean())


def relative_pd_mean(p_a, p_b):
    """Mean over inputs and classes of |p_a - p_b| relative to the pair's mean (p_a + p_b)/2;
    a term whose mean is 0 (both probabilities 0) counts 0. In [0, 2]."""
    p_a, p_b = np.asarray(p_a, np.float64), np.asarray(p_b, np.float64)
    mean = (p_a + p_b) / 2
    ratio = np.divide(np.abs(p_a - p_b), mean, out=np.zeros_like(mean), where=mean > 0)
    return float(ratio.mean())


def churn(p_a, p_b):
    """Fraction of inputs whose predicted labels differ between probs p_a and p_b [N, C]."""
    return float((np.argmax(p_a, axis=-1) != np.argmax(p_b, axis=-1)).mean())


def pair_kind(seeds_a, seeds_b):
    """Which seeds differ between two variants given as (init_seed, order_seed): 'init',
    'order' or 'both' (identical seeds make identical variants: a ValueError)."""
    init, order = seeds_a[0] != seeds_b[0], seeds_a[1] != seeds_b[1]
    if not (init or order):
        raise ValueError(f"variants with identical seeds {tuple(seeds_a)} are not a pair")
    return "both" if init and order else ("init" if init else "order")


def pairs_of(k):
    """All K(K-1)/2 index pairs (a, b), a < b, in row-major order."""
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


@dataclass(frozen=True)
class LayerRM:
    """RM of one layer over K variants: ``rm`` = -mean pairwise SVCCA; ``svcca`` float
    [K(K-1)/2] in :func:`pairs_of` order; ``warnings`` the similarity module's cautions
    (e.g. fewer than 5 data points per kept SVCCA direction), one line per variant concerned."""

    rm: float
    svcca: np.ndarray
    warnings: tuple

    @property
    def note(self):
        """The warnings in one line: the first in full and how many variants had one
        ('' when none)."""
        if not self.warnings:
            return ""
        more = len(self.warnings) - 1
        return self.warnings[0] + (f" (and {more} more like it)" if more else "")


def layer_rm(activations, name, variance=0.99, top=20):
    """RM of activations float [K, n, p] (one layer, K variants, the same n inputs), each
    variant reduced once (``similarity.pairwise_svcca``). ``name`` labels the warnings."""
    names = [f"{name} of variant {k}" for k in range(len(activations))]
    with warnings.catch_warnings():  # recorded in the result instead of printed
        warnings.simplefilter("ignore", SimilarityWarning)
        result = pairwise_svcca(list(activations), variance, top, names=names)
    # pairwise_svcca lists the pairs i < j row by row, the order of pairs_of.
    return LayerRM(rm=result.rm, svcca=result.pairs["svcca"].to_numpy(),
                   warnings=result.warnings)
