"""Pairwise metrics of the simulator (Snapp & Shamir, eq. 2 and 3).

Models come in pairs: rows 2k and 2k + 1 of a prediction matrix are pair k. All inputs are
logits (float [2M, N]) so that probabilities near 0 or 1 keep their precision; the true
model's log-odds are float64 [N].
"""
import numpy as np
from scipy.special import expit, log_expit


def excess_loss(logits, true_logodds):
    """L(m) (eq. 2): mean over examples of KL(p_theta(.|x) || p_hat_m(.|x)), float64 [n_models].

    logits: [n_models, N] model log-odds of y = +1; true_logodds: [N].
    """
    q = np.asarray(logits, dtype=np.float64)
    t = np.asarray(true_logodds, dtype=np.float64)
    p = expit(t)
    kl = (p * (log_expit(t) - log_expit(q))
          + (1.0 - p) * (log_expit(-t) - log_expit(-q)))
    return kl.mean(axis=1)


def pair_differences(logits):
    """|p_hat_2k(y=1|x) - p_hat_2k+1(y=1|x)|, float64 [M, N], from logits [2M, N]."""
    p = expit(np.asarray(logits, dtype=np.float64))
    return np.abs(p[0::2] - p[1::2])


def relative_pd(logits, true_logodds):
    """Delta_r of each pair (eq. 3 before the mean over pairs), float64 [M]:
    mean over examples of |p_hat_2k - p_hat_2k+1| / p_theta(y = +1 | x)."""
    return (pair_differences(logits) / expit(np.asarray(true_logodds, np.float64))).mean(axis=1)


def absolute_pd(logits):
    """Mean over examples of |p_hat_2k - p_hat_2k+1|, float64 [M]."""
    return pair_differences(logits).mean(axis=1)


def deviation_cosine(weights, theta):
    """Cosine between (w_2k - theta) and (w_2k+1 - theta) for each pair, float64 [M].

    weights: [2M, d] linear-model weights; theta: [d] the true weights.
    """
    dev = np.asarray(weights, np.float64) - np.asarray(theta, np.float64)
    a, b = dev[0::2], dev[1::2]
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
