"""Confabulation (Heljakka et al., 2023, Fig. 4): the inputs whose predicted labels vary most
across equally accurate models.

"Vary most" is measured by the entropy (in bits) of each input's predicted-label
distribution over the M models (the paper's "diversity of predictions assigned to each
sample, across different training runs"): 0 when all models agree, log2(M) at most. Ties,
common with few models, go to the higher per-input PM (std of the class probabilities
across the models), then to the lower input index.
"""
import numpy as np

from image_experiments import multiplicity as mm


def label_counts(predicted, classes):
    """How many of the M models predict each class for each input: int [N, classes], from
    predicted labels int [M, N]."""
    predicted = np.asarray(predicted)
    counts = np.zeros((predicted.shape[1], classes), np.int64)
    for row in predicted:
        counts[np.arange(predicted.shape[1]), row] += 1
    return counts


def label_entropy(counts):
    """Entropy in bits of each input's predicted-label distribution: float [N] from counts
    int [N, classes]."""
    p = np.asarray(counts, np.float64) / np.sum(counts, axis=1, keepdims=True)
    terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=1)


def most_confabulated(probs, top=16):
    """The ``top`` inputs most differently classified by the models of probs float
    [M, N, C], most confabulated first: (indices int [top], counts int [top, C], entropy
    float [top], per-input PM float [top])."""
    counts = label_counts(np.argmax(probs, axis=-1), probs.shape[-1])
    entropy, pm = label_entropy(counts), mm.per_input_pm(probs)
    order = np.lexsort((np.arange(len(pm)), -pm, -entropy))[:top]
    return order, counts[order], entropy[order], pm[order]
