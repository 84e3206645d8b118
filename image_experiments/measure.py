"""Measure the multiplicity of your own models from plain arrays: one call, one tidy table.

    from image_experiments.measure import measure
    table = measure(probs, labels, groups={"women": is_woman}, activations={"fc1": acts})

Inputs (NumPy arrays; nothing here imports TensorFlow):

  predictions  class probabilities float [K, N, C] of K models on N inputs (rows summing
               to 1), or binary scores float [K, N] in [0, 1] (p(y = 1)), taken as the two
               classes (1 - s, s)
  labels       true classes int [N] in 0 .. C-1 (binary: 0 or 1)
  groups       optional {name: bool [N]}: every prediction measure is repeated on the
               inputs of each group (the ``group`` column); the Rashomon set stays the one
               chosen on all inputs
  activations  optional {layer: float [K, N', ...]} (or a list: layers ``layer0``, ...) of
               the same K models on N' inputs (the first N' of the N, or all N); conv maps
               [K, N', h, w, c] are flattened per input

The result has one row per measure (and group, layer, model) and the columns ``metric,
value, ci_low, ci_high, layer, group, model, note``. ``model`` is the model's index for
per-model rows and -1 otherwise; ``note`` says in words why a value is missing or deserves
caution (fewer than 2 models, the SVCCA data-point caution, ...): no NaN without a note.

Measures over all K models (formulas in their modules; each exists once):

  pm                  Heljakka et al. (2023), eq. 1: mean over inputs of the mean over
                      classes of the std across models (``multiplicity.predictive_multiplicity``)
  true_class_std      mean over inputs of the std across models of p(true class)
  label_disagreement  fraction of inputs whose K predicted labels are not all equal
  absolute_pd         mean over pairs of models of mean_{inputs, classes} |p_a - p_b|
  relative_pd_mean    mean over pairs of mean |p_a - p_b| / ((p_a + p_b) / 2): the PD relative
                      to the pair's mean, not Snapp & Shamir's ``relative_pd`` (relative to
                      the true probability, which real data do not give)
  churn               mean over pairs of the fraction of inputs whose labels differ
                      (Milani Fard et al., 2016)
  ambiguity, discrepancy, viable_prediction_range, rashomon_capacity, score_std
                      the Rashomon-set measures of ``image_experiments.rashomon`` (Marx et
                      al., 2020; Watson-Daniels et al., 2023; Hsu & Calmon, 2022), over the
                      models whose error is within ``epsilon`` (default 0.01) of the
                      ``baseline`` (default: the most accurate model)
  rashomon_set_size   how many models that set holds
  accuracy            per model (``model`` column), and per group: group accuracy
  accuracy_mean, accuracy_range   mean and max - min of the models' accuracies
  rm_<layer>          RM = minus the mean pairwise SVCCA (Heljakka et al., eq. 3)
  svcca, cka          mean pairwise SVCCA and linear CKA of the layer (``layer`` column);
                      more with ``rm_measures``: cka_debiased, cka_rbf, pwcca (symmetrised),
                      procrustes, cka_minibatch (``image_experiments.representations``)

Confidence intervals: seeded percentile bootstrap over models (``image_experiments.bootstrap``;
``draws`` = 1000, ``level`` = 0.95, ``seed`` = 0): set measures are recomputed on each draw
of K models with replacement; pairwise ones average over the pairs of distinct drawn
models; the Rashomon measures keep the baseline in every draw and resample the others.
Rashomon capacity runs Blahut-Arimoto once per draw (a few seconds at N = 10,000, K = 10),
so it gets ``capacity_draws`` (30), on the distinct drawn models (repeating a model leaves a
capacity unchanged); its value is within ``capacity_tol`` (1e-4 nats) of the capacity.
"""
import warnings

import numpy as np
import pandas as pd

from image_experiments import bootstrap as bs
from image_experiments import multiplicity as mm
from image_experiments import rashomon
from image_experiments import representations as rep
from image_experiments.similarity import SimilarityWarning, _centred_live, _same_points, _top_basis
from irrepro.errors import UserError

COLUMNS = ["metric", "value", "ci_low", "ci_high", "layer", "group", "model", "note"]
RM_MEASURES = ("svcca", "cka", "cka_debiased", "cka_rbf", "pwcca", "procrustes",
               "cka_minibatch")
PROB_TOL = 1e-3  # probabilities stored as float16 sum to 1 within about 1e-3
FEW = "needs at least 2 models (got {k})"


# --- inputs ---------------------------------------------------------------------------------

def as_probs(predictions, name="probs"):
    """predictions as checked probabilities float64 [K, N, C]: probs [K, N, C] as given,
    binary scores [K, N] as (1 - s, s). UserError naming the array and the fix otherwise."""
    try:
        p = np.asarray(predictions, np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{name}: predictions must be a numeric array [models, inputs, "
                        "classes] (or binary scores [models, inputs])") from None
    if p.ndim == 2:
        name = "scores" if name == "probs" else name
        if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
            raise UserError(f"{name}: binary scores must be probabilities in [0, 1] (got "
                            f"{np.nanmin(p):.4g} .. {np.nanmax(p):.4g}); apply a sigmoid to "
                            "logits first")
        p = np.stack([1 - p, p], axis=-1)
    if p.ndim != 3 or min(p.shape) < 1:
        raise UserError(f"{name}: expected [models, inputs, classes] probabilities or "
                        f"[models, inputs] scores (got shape {p.shape})")
    bad = ~np.isfinite(p)
    if bad.any():
        k, n, _ = np.argwhere(bad)[0]
        raise UserError(f"{name}: {int(bad.sum())} NaN or infinite values (first: model {k}, "
                        f"input {n}); predictions must be finite: drop those inputs")
    if p.min() < -PROB_TOL or p.max() > 1 + PROB_TOL:
        raise UserError(f"{name}: values must be probabilities in [0, 1] (got {p.min():.4g} "
                        f".. {p.max():.4g}); pass softmax outputs, not logits")
    sums = p.sum(axis=-1)
    worst = np.unravel_index(np.argmax(np.abs(sums - 1)), sums.shape)
    if abs(sums[worst] - 1) > PROB_TOL:
        raise UserError(f"{name}: the class probabilities of each input must sum to 1 (model "
                        f"{worst[0]}, input {worst[1]} sums to {sums[worst]:.4g}); pass "
                        "softmax outputs, not logits")
    return np.clip(p, 0.0, 1.0)


def as_labels(labels, inputs, classes, name="labels"):
    """labels as int [N] in 0 .. classes-1, checked against the predictions' N."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != inputs:
        raise UserError(f"{name}: expected one true class per input, shape [{inputs}] (got "
                        f"shape {y.shape}); the predictions have {inputs} inputs")
    if y.dtype.kind == "b" or y.dtype.kind == "f":
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.all(y == np.round(y))):
            raise UserError(f"{name}: class labels must be whole numbers 0 .. {classes - 1} "
                            "(found NaN or fractions); pass the true class of each input")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise UserError(f"{name}: class labels must be integers 0 .. {classes - 1} (got "
                        f"dtype {y.dtype})")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise UserError(f"{name}: labels must lie in 0 .. {classes - 1} for {classes} classes "
                        f"(got {y.min()} .. {y.max()})")
    return y.astype(np.int64)


def as_groups(groups, inputs):
    """groups as {name: bool [N]} (each with at least one input)."""
    out = {}
    for name, mask in (groups or {}).items():
        m = np.asarray(mask)
        if m.shape != (inputs,):
            raise UserError(f"group_{name}: expected a boolean mask of shape [{inputs}] (got "
                            f"shape {m.shape}); one entry per input")
        if m.dtype.kind != "b":
            if not np.isin(m, (0, 1)).all():
                raise UserError(f"group_{name}: a group is a boolean mask (True = member); got "
                                f"values other than 0/1 of dtype {m.dtype}")
            m = m.astype(bool)
        if not m.any():
            raise UserError(f"group_{name}: no input belongs to the group; drop it or fix "
                            "the mask")
        out[str(name)] = m
    return out


def as_layers(activations, models, inputs):
    """activations as {layer: float array [K, N', ...]} with the predictions' K and
    N' <= N (a list becomes layer0, layer1, ...)."""
    if activations is None:
        return {}
    if not isinstance(activations, dict):
        activations = {f"layer{i}": a for i, a in enumerate(activations)}
    out = {}
    for layer, acts in activations.items():
        shape = np.shape(acts)
        if len(shape) < 3:
            raise UserError(f"act_{layer}: expected [models, inputs, neurons] (got shape "
                            f"{shape}); stack the K models' [inputs, neurons] matrices")
        if shape[0] != models:
            raise UserError(f"act_{layer}: {shape[0]} models but the predictions have "
                            f"{models}; give the activations of the same models in order")
        if shape[1] > inputs:
            raise UserError(f"act_{layer}: {shape[1]} inputs but the predictions have "
                            f"{inputs}; give activations of (the first N' of) those inputs")
        out[str(layer)] = acts
    return out


# --- rows -----------------------------------------------------------------------------------

def _row(metric, value, ci=None, layer="", group="", model=-1, note=""):
    notes = [note] if note else []
    low = high = np.nan
    if ci is not None:
        low, high = ci.low, ci.high
        if ci.note:
            notes.append(ci.note)
    value = float(value)
    if not np.isfinite(value) and not notes:
        notes.append("no value")
    return {"metric": metric, "value": value, "ci_low": low, "ci_high": high,
            "layer": layer, "group": group, "model": int(model), "note": "; ".join(notes)}


def _pair_matrix(probs, function):
    k = len(probs)
    out = np.zeros((k, k))
    for a, b in mm.pairs_of(k):
        out[a, b] = out[b, a] = function(probs[a], probs[b])
    return out


def prediction_rows(probs, labels, group="", members=None, baseline=0, draws=bs.DRAWS,
                    capacity_draws=rashomon.CAPACITY_DRAWS, seed=bs.SEED, level=bs.LEVEL,
                    capacity_tol=rashomon.CAPACITY_TOL):
    """The prediction measures of the module docs on probs [K, N, C], labels [N]; the
    Rashomon set is ``members`` bool [K] with ``baseline`` (indices into the K models)."""
    k = len(probs)
    rows = [_row("accuracy", a, group=group, model=i,
                 note="a per-model value: no interval over models")
            for i, a in enumerate(mm.accuracy(probs, labels))]
    accuracies = mm.accuracy(probs, labels)

    def interval(statistic, n=draws):
        return bs.set_interval(statistic, k, n, seed, level)

    rows.append(_row("accuracy_mean", accuracies.mean(),
                     interval(lambda i: accuracies[i].mean()), group=group))
    if k < 2:
        return rows + [_row(metric, np.nan, group=group, note=FEW.format(k=k))
                       for metric in ("accuracy_range", "pm", "true_class_std",
                                      "label_disagreement", "absolute_pd", "relative_pd_mean",
                                      "churn", "rashomon_set_size", *rashomon.MEASURES)]
    rows += [
        _row("accuracy_range", np.ptp(accuracies), interval(lambda i: np.ptp(accuracies[i])),
             group=group),
        _row("pm", mm.predictive_multiplicity(probs),
             bs.pm_interval(probs, draws, seed, level), group=group),
        _row("true_class_std", mm.true_class_std(probs, labels),
             interval(lambda i: mm.true_class_std(probs[i], labels)), group=group),
        _row("label_disagreement", mm.label_disagreement(probs),
             interval(lambda i: mm.label_disagreement(probs[i])), group=group)]
    for metric, function in (("absolute_pd", mm.absolute_pd),
                             ("relative_pd_mean", mm.relative_pd_mean), ("churn", mm.churn)):
        values = _pair_matrix(probs, function)
        rows.append(_row(metric, bs.mean_of_pairs(values),
                         bs.pair_interval(values, draws, seed, level), group=group))

    members = np.ones(k, bool) if members is None else np.asarray(members, bool)
    chosen = np.flatnonzero(members)
    order = np.concatenate([[baseline], chosen[chosen != baseline]])  # baseline first
    about = (f"Rashomon set: {members.sum()} of {k} models within epsilon of baseline model "
             f"{baseline}")
    rows.append(_row("rashomon_set_size", members.sum(), group=group, note=about))
    for metric, function in rashomon.MEASURES.items():
        extra = {"tol": capacity_tol} if metric == "rashomon_capacity" else {}

        def statistic(i, function=function, extra=extra, metric=metric):
            drawn = np.concatenate([[baseline], i[members[i]]])
            if metric == "rashomon_capacity":  # a repeated row leaves a capacity unchanged
                drawn = np.concatenate([[baseline], np.setdiff1d(drawn, [baseline])])
            return function(probs[drawn], labels, 0, np.inf, **extra)

        n = capacity_draws if metric == "rashomon_capacity" else draws
        ci = interval(statistic, n) if n else bs.BootstrapCI(
            np.nan, np.nan, 0, 0, "no bootstrap interval asked for (capacity_draws=0)")
        value = function(probs[order], labels, 0, np.inf, **extra)
        rows.append(_row(metric, value, ci, group=group, note=about))
    return rows


# --- representations ------------------------------------------------------------------------

def _flat(acts, k):
    return np.asarray(acts[k]).reshape(np.shape(acts)[1], -1)


def _note_of(messages):
    """The distinct messages in one line: the first in full and how many more."""
    messages = list(dict.fromkeys(messages))
    if not messages:
        return ""
    more = len(messages) - 1
    return messages[0] + (f" (and {more} more like it)" if more else "")


def _pair_function(measure, layer, acts, flat, centred, names, batch_size):
    """The function (a, b) -> value of ``measure`` for models a and b of one layer, with
    what each model needs computed once (self-terms, bases)."""
    if measure == "cka":
        selfs = [np.linalg.norm(x.T @ x) for x in centred]
        return lambda a, b: min(1.0, np.linalg.norm(centred[b].T @ centred[a]) ** 2
                                / (selfs[a] * selfs[b]))
    if measure == "cka_debiased":
        if centred[0].shape[0] < 4:
            raise UserError(f"act_{layer}: debiased CKA needs at least 4 inputs")
        selfs = [rep._hsic1_parts(x, x) for x in centred]
        scales = [rep._scale(x) for x in centred]
        return lambda a, b: rep._ratio(rep._hsic1_parts(centred[a], centred[b]), selfs[a],
                                       selfs[b], (names[a], names[b]), "debiased CKA",
                                       (scales[a], scales[b]))
    if measure == "cka_rbf":
        return lambda a, b: rep.rbf_cka(flat[a], flat[b], names=(names[a], names[b]))
    if measure == "pwcca":
        bases = [_top_basis(x, 1.0) for x in centred]
        return lambda a, b: 0.5 * (
            rep._pwcca_centred(centred[a], centred[b], bases[a], bases[b])
            + rep._pwcca_centred(centred[b], centred[a], bases[b], bases[a]))
    if measure == "procrustes":
        return lambda a, b: rep._procrustes_centred(centred[a], centred[b])
    if measure == "cka_minibatch":
        return lambda a, b: rep.minibatch_cka(acts[a], acts[b], batch_size,
                                              (names[a], names[b]))
    raise UserError(f"unknown representational measure '{measure}'; choose from "
                    f"{', '.join(RM_MEASURES)}")


def _rm_matrices(acts, layer, measures, variance, top, batch_size):
    """{measure: (matrix [K, K] of pairwise values, note)} for one layer's acts [K, n, ...]."""
    k = np.shape(acts)[0]
    names = [f"act_{layer} of model {i}" for i in range(k)]
    out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimilarityWarning)
        flat = centred = None
        ratio_notes = {}
        if set(measures) - {"cka_minibatch"}:
            flat = _same_points([_flat(acts, i) for i in range(k)], names)
            centred = [_centred_live(x, name)[0] for x, name in zip(flat, names)]
        for measure in measures:
            start = len(caught)
            matrix = np.eye(k) if measure != "procrustes" else np.zeros((k, k))
            if measure == "svcca":
                result = mm.layer_rm(np.stack(flat), layer, variance, top)
                for (a, b), v in zip(mm.pairs_of(k), result.svcca):
                    matrix[a, b] = matrix[b, a] = v
                out[measure] = (matrix, result.note)
                continue
            pair = _pair_function(measure, layer, acts, flat, centred, names, batch_size)
            for a, b in mm.pairs_of(k):
                matrix[a, b] = matrix[b, a] = pair(a, b)
            cautions = []
            if measure not in ("cka_minibatch", "cka_rbf"):  # rbf_cka warns by itself
                if not ratio_notes:
                    ratio_notes.update((i, rep.ratio_note(x, names[i], "the layer"))
                                       for i, x in enumerate(centred))
                cautions = [note for note in ratio_notes.values() if note]
            out[measure] = (matrix, _note_of([*cautions,
                                              *(str(w.message) for w in caught[start:])]))
    return out


def representation_rows(activations, measures=("svcca", "cka"), variance=0.99, top=20,
                        batch_size=256, draws=bs.DRAWS, seed=bs.SEED, level=bs.LEVEL):
    """rm_<layer> and the mean pairwise ``measures`` of each layer of ``activations``
    ({layer: [K, n, ...]}), with bootstrap intervals over the models."""
    rows = []
    for layer, acts in activations.items():
        k = np.shape(acts)[0]
        if k < 2:
            rows += [_row(f"rm_{layer}", np.nan, layer=layer, note=FEW.format(k=k))]
            rows += [_row(m, np.nan, layer=layer, note=FEW.format(k=k)) for m in measures]
            continue
        try:
            found = _rm_matrices(acts, layer, measures, variance, top, batch_size)
        except UserError as error:  # a layer without variance etc.: say so, go on
            rows += [_row(m, np.nan, layer=layer, note=str(error))
                     for m in (f"rm_{layer}", *measures)]
            continue
        if "svcca" in found:
            matrix, note = found["svcca"]
            rows.append(_row(f"rm_{layer}", -bs.mean_of_pairs(matrix),
                             bs.pair_interval(-matrix, draws, seed, level), layer=layer,
                             note=note))
        for measure, (matrix, note) in found.items():
            rows.append(_row(measure, bs.mean_of_pairs(matrix),
                             bs.pair_interval(matrix, draws, seed, level), layer=layer,
                             note=note))
    return rows


def measure(predictions, labels, groups=None, activations=None, *,
            rm_measures=("svcca", "cka"), baseline=None, epsilon=rashomon.EPSILON,
            draws=bs.DRAWS, capacity_draws=rashomon.CAPACITY_DRAWS, seed=bs.SEED,
            level=bs.LEVEL,
            variance=0.99, top=20, batch_size=256, capacity_tol=rashomon.CAPACITY_TOL):
    """Every measure of the module docs for predictions [K, N, C] (or scores [K, N]), labels
    [N], optional groups {name: bool [N]} and activations {layer: [K, N', ...]}: a tidy
    DataFrame with the columns ``COLUMNS``.

    baseline: the Rashomon-set baseline model (default None: the most accurate);
    epsilon: its error tolerance (0.01); draws / capacity_draws / seed / level: the
    bootstrap; variance, top: SVCCA's; batch_size: minibatch CKA's; rm_measures: which
    pairwise similarity measures per layer (svcca and cka by default; RM_MEASURES all).
    """
    probs = as_probs(predictions)
    k, n, c = probs.shape
    y = as_labels(labels, n, c)
    masks = as_groups(groups, n)
    layers = as_layers(activations, k, n)
    unknown = [m for m in rm_measures if m not in RM_MEASURES]
    if unknown:
        raise UserError(f"unknown representational measure '{unknown[0]}'; choose from "
                        f"{', '.join(RM_MEASURES)}")
    if baseline is not None and not 0 <= int(baseline) < k:
        raise UserError(f"baseline must be a model index 0 .. {k - 1} (got {baseline})")
    if not epsilon >= 0:
        raise UserError(f"epsilon must be >= 0 (got {epsilon}); e.g. 0.01 for one point of "
                        "error")
    base, members = rashomon.rashomon_set(probs, y, baseline, epsilon)
    options = dict(members=members, baseline=base, draws=draws, capacity_draws=capacity_draws,
                   seed=seed, level=level, capacity_tol=capacity_tol)
    rows = prediction_rows(probs, y, "", **options)
    for name, mask in masks.items():
        rows += prediction_rows(probs[:, mask], y[mask], name, **options)
    rows += representation_rows(layers, tuple(rm_measures), variance, top, batch_size, draws,
                                seed, level)
    return pd.DataFrame(rows, columns=COLUMNS)
