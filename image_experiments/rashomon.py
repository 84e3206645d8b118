"""Rashomon-set measures of predictive multiplicity, on plain arrays (NumPy only).

Predictions are class probabilities ``probs`` float [K, N, C] of K models on N inputs (a
binary score s becomes the two classes (1 - s, s)); ``labels`` int [N] are the true classes.
The *empirical Rashomon set* (Marx, Calmon & Ustun, 2020, section 2) is the set of models
whose error rate (0-1 loss on these labels) is at most the baseline's plus ``epsilon``:

    R_eps = {k : err(h_k) <= err(h_b) + eps},   err(h) = mean_i 1[argmax h(x_i) != y_i]

with the baseline b the most accurate model (lowest index on ties) unless one is named,
and ``epsilon`` EPSILON = 0.01 (one percentage point of error) by default. Marx et al.
and Watson-Daniels et al. state epsilon on the training loss; here it is the error on the
inputs given, because these functions see only predictions.

  ambiguity      (Marx et al., 2020, def. 3) the fraction of inputs on which at least one
                 model of R_eps predicts another label than the baseline:
                 mean_i max_{k in R} 1[y_hat_k(x_i) != y_hat_b(x_i)]
  discrepancy    (Marx et al., 2020, def. 4) the largest fraction of inputs on which one
                 model of R_eps disagrees with the baseline:
                 max_{k in R} mean_i 1[y_hat_k(x_i) != y_hat_b(x_i)]
  viable prediction range (Watson-Daniels, Parkes & Ustun, 2023, def. 2) per input the
                 interval [min_{k in R} p_k(x), max_{k in R} p_k(x)] of a probability; the
                 measure is the mean over inputs of its width, averaged over the C classes
                 (for binary scores both classes have the same width, the paper's case)
  Rashomon capacity (Hsu & Calmon, 2022, def. 2) per input, 2 ** C(x) with C(x) the
                 capacity in bits of the channel whose rows are the models' predicted
                 distributions p_k(x) of R_eps:
                 C(x) = max_{q in simplex(R)} sum_k q_k KL(p_k(x) || sum_j q_j p_j(x)),
                 computed by the Blahut-Arimoto algorithm (Blahut, 1972; Arimoto, 1972);
                 1 when all models agree, at most min(|R|, C). The measure is its mean
                 over inputs
  score std      per input, the std (ddof 0) across the models of R_eps of the predicted
                 probabilities, averaged over the classes; the measure is its mean over
                 inputs. With every model in R_eps it is PM (Heljakka et al., eq. 1), which
                 it reuses: ``multiplicity.per_input_pm``

Every function takes the models to consider as ``probs`` and the baseline as an index into
them, so a bootstrap draw (``image_experiments.bootstrap``) passes the drawn models with the
baseline first.
"""
import numpy as np

from image_experiments import multiplicity as mm

EPSILON = 0.01
CAPACITY_TOL = 1e-4  # nats: Blahut-Arimoto stops when upper - lower bound is below this
CAPACITY_DRAWS = 30  # bootstrap draws for its interval: one Blahut-Arimoto run each
CAPACITY_ITERATIONS = 20_000


def errors(probs, labels):
    """Error rate (0-1 loss) of each model: float [K] (1 - ``multiplicity.accuracy``)."""
    return 1.0 - mm.accuracy(probs, labels)


def best_model(probs, labels):
    """Index of the most accurate model (the lowest index on ties): the default baseline."""
    return int(np.argmin(errors(probs, labels)))


def rashomon_set(probs, labels, baseline=None, epsilon=EPSILON):
    """(baseline index, members bool [K]): the models whose error is at most the baseline's
    + ``epsilon`` (the baseline always belongs). ``baseline=None``: the most accurate."""
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0 (got {epsilon})")
    err = errors(probs, labels)
    baseline = best_model(probs, labels) if baseline is None else int(baseline)
    members = err <= err[baseline] + epsilon + 1e-12  # 1e-12: error rates are ratios of ints
    members[baseline] = True
    return baseline, members


def _flips(probs, labels, baseline, epsilon):
    """bool [|R|, N]: where each model of the Rashomon set predicts another label than the
    baseline."""
    baseline, members = rashomon_set(probs, labels, baseline, epsilon)
    predicted = np.argmax(probs, axis=-1)
    return predicted[members] != predicted[baseline]


def ambiguity(probs, labels, baseline=None, epsilon=EPSILON):
    """Marx et al.'s ambiguity of probs [K, N, C]: the fraction of inputs on which some model
    of the Rashomon set disagrees with the baseline's label. In [0, 1]."""
    return float(_flips(probs, labels, baseline, epsilon).any(axis=0).mean())


def discrepancy(probs, labels, baseline=None, epsilon=EPSILON):
    """Marx et al.'s discrepancy of probs [K, N, C]: the largest fraction of inputs on which
    one model of the Rashomon set disagrees with the baseline. In [0, ambiguity]."""
    return float(_flips(probs, labels, baseline, epsilon).mean(axis=1).max())


def _members(probs, labels, baseline, epsilon):
    _, members = rashomon_set(probs, labels, baseline, epsilon)
    return np.asarray(probs, np.float64)[members]


def per_input_prediction_range(probs, labels, baseline=None, epsilon=EPSILON):
    """Width of the viable prediction range of each input, averaged over the classes:
    float [N], mean_c (max_{k in R} p_k(c|x) - min_{k in R} p_k(c|x))."""
    chosen = _members(probs, labels, baseline, epsilon)
    return (chosen.max(axis=0) - chosen.min(axis=0)).mean(axis=-1)


def viable_prediction_range(probs, labels, baseline=None, epsilon=EPSILON):
    """Watson-Daniels et al.'s viable prediction range, as the mean over inputs of its
    width (:func:`per_input_prediction_range`). In [0, 1]."""
    return float(per_input_prediction_range(probs, labels, baseline, epsilon).mean())


def per_input_score_std(probs, labels, baseline=None, epsilon=EPSILON):
    """Std across the models of the Rashomon set of each input's probabilities, averaged
    over the classes: float [N] (``multiplicity.per_input_pm`` of those models)."""
    return mm.per_input_pm(_members(probs, labels, baseline, epsilon))


def score_std(probs, labels, baseline=None, epsilon=EPSILON):
    """Mean over inputs of :func:`per_input_score_std`."""
    return float(per_input_score_std(probs, labels, baseline, epsilon).mean())


def channel_capacity(channels, tol=CAPACITY_TOL, iterations=CAPACITY_ITERATIONS):
    """Capacity in nats of each of N channels with M inputs and C outputs, by Blahut-Arimoto.

    ``channels`` float [M, N, C]: row m of channel n is the distribution p_m(. | x_n) (rows
    summing to 1). Returns (capacity float [N] in nats, unconverged int: channels whose
    bounds were still more than ``tol`` apart after ``iterations``). Iterates
    q <- q exp(D) / Z with D_m = KL(p_m || sum_j q_j p_j), from the uniform q, for each
    channel until its upper bound max_m D_m and lower bound log Z (Blahut, 1972, thm. 2)
    are within ``tol`` nats; the capacity returned is the lower bound, so it is within
    ``tol`` of the true one. Rows that are exactly equal give capacity 0.
    """
    p = np.moveaxis(np.asarray(channels, np.float64), 0, 1)  # [N, M, C]
    n, m, _ = p.shape
    capacity = np.zeros(n)
    # the working arrays hold the channels still iterating, compacted when half are done
    index, pa = np.arange(n), p
    log_pa = np.log(np.where(pa > 0, pa, 1.0))
    qa = np.full((n, m), 1.0 / m)
    running = np.ones(n, bool)
    for _ in range(iterations):
        r = np.einsum("nm,nmc->nc", qa, pa)
        log_r = np.log(np.where(r > 0, r, 1.0))
        divergence = np.einsum("nmc,nmc->nm", pa, log_pa - log_r[:, None, :])
        divergence = np.maximum(divergence, 0.0)  # KL >= 0; rounding can dip below
        upper = divergence.max(axis=1)
        shifted = np.exp(divergence - upper[:, None])
        z = (qa * shifted).sum(axis=1)
        lower = upper + np.log(z)  # log sum_m q_m exp(D_m) <= C <= max_m D_m
        capacity[index[running]] = lower[running]
        qa = qa * shifted / z[:, None]
        running &= upper - lower > tol
        left = int(running.sum())
        if not left:
            break
        if left <= len(index) // 2:
            index, pa, log_pa, qa = (index[running], pa[running], log_pa[running],
                                     qa[running])
            running = np.ones(left, bool)
    active = index[running]
    return np.clip(capacity, 0.0, None), int(active.size)


def per_input_rashomon_capacity(probs, labels, baseline=None, epsilon=EPSILON,
                                tol=CAPACITY_TOL):
    """Hsu & Calmon's Rashomon capacity of each input, 2 ** (capacity in bits) =
    exp(capacity in nats) of the channel of the Rashomon set's predictions: float [N]."""
    capacity, _ = channel_capacity(_members(probs, labels, baseline, epsilon), tol)
    return np.exp(capacity)


def rashomon_capacity(probs, labels, baseline=None, epsilon=EPSILON, tol=CAPACITY_TOL):
    """Mean over inputs of :func:`per_input_rashomon_capacity`; in [1, min(|R|, C)]."""
    return float(per_input_rashomon_capacity(probs, labels, baseline, epsilon, tol).mean())


MEASURES = {"ambiguity": ambiguity, "discrepancy": discrepancy,
            "viable_prediction_range": viable_prediction_range,
            "rashomon_capacity": rashomon_capacity, "score_std": score_std}
