"""``image_experiments.measure``: the tidy table on plain arrays, its Rashomon measures and
bootstrap intervals against hand computations, notes instead of bare NaNs, one-line input
errors, and no TensorFlow."""
import itertools
import subprocess
import sys

import numpy as np
import pytest

from image_experiments import bootstrap as bs
from image_experiments import multiplicity as mm
from image_experiments import rashomon
from image_experiments.measure import COLUMNS, measure
from image_experiments.similarity import linear_cka, pairwise_svcca
from irrepro.errors import UserError


def models(k=4, n=300, c=3, seed=0, spread=0.6):
    r = np.random.default_rng(seed)
    logits = 2 * r.standard_normal((1, n, c)) + spread * r.standard_normal((k, n, c))
    p = np.exp(logits)
    p /= p.sum(-1, keepdims=True)
    labels = np.argmax(logits[0], -1)
    labels[: n // 10] = r.integers(0, c, n // 10)
    return p, labels


def acts(k=4, n=300, seed=0):
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, 6))
    return np.stack([np.maximum(z @ r.standard_normal((6, 20)) + 0.3 * r.standard_normal(
        (n, 20)), 0) for _ in range(k)])


def value(table, metric, group="", layer=""):
    rows = table[(table.metric == metric) & (table.group == group) & (table.layer == layer)]
    assert len(rows) == 1, (metric, group, layer, len(rows))
    return rows.iloc[0]


def test_importing_the_api_loads_no_tensorflow():
    code = ("import sys, image_experiments.measure, image_experiments.cli; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith(('tensorflow', 'keras')))")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_table_reuses_the_module_formulas_and_has_one_pm_row():
    p, y = models()
    layer = acts()
    table = measure(p, y, groups={"first": np.arange(300) < 100}, activations={"fc": layer},
                    draws=50, capacity_draws=5)
    assert list(table.columns) == COLUMNS
    assert len(table[(table.metric == "pm") & (table.group == "")]) == 1
    assert value(table, "pm").value == mm.predictive_multiplicity(p)
    assert value(table, "pm", "first").value == mm.predictive_multiplicity(p[:, :100])
    assert value(table, "true_class_std").value == mm.true_class_std(p, y)
    assert value(table, "label_disagreement").value == mm.label_disagreement(p)
    pairs = list(itertools.combinations(range(4), 2))
    assert value(table, "absolute_pd").value == pytest.approx(
        np.mean([mm.absolute_pd(p[a], p[b]) for a, b in pairs]), rel=1e-12)
    assert value(table, "relative_pd_mean").value == pytest.approx(
        np.mean([mm.relative_pd_mean(p[a], p[b]) for a, b in pairs]), rel=1e-12)
    assert value(table, "churn").value == pytest.approx(
        np.mean([mm.churn(p[a], p[b]) for a, b in pairs]), rel=1e-12)
    accuracy = table[(table.metric == "accuracy") & (table.group == "first")]
    np.testing.assert_allclose(accuracy.value, mm.accuracy(p[:, :100], y[:100]))
    assert list(accuracy.model) == [0, 1, 2, 3]
    svcca = pairwise_svcca(list(layer)).value
    assert value(table, "svcca", layer="fc").value == pytest.approx(svcca, rel=1e-12)
    assert value(table, "rm_fc", layer="fc").value == pytest.approx(-svcca, rel=1e-12)
    assert value(table, "cka", layer="fc").value == pytest.approx(
        np.mean([linear_cka(layer[a], layer[b]) for a, b in pairs]), rel=1e-12)
    finite = table.dropna(subset=["ci_low"])
    assert (finite.ci_low <= finite.ci_high + 1e-15).all()


def test_binary_scores_are_the_two_class_probabilities():
    r = np.random.default_rng(1)
    s = r.random((3, 200))
    y = (r.random(200) < 0.5).astype(int)
    scored = measure(s, y, draws=20, capacity_draws=2)
    as_probs = measure(np.stack([1 - s, s], -1), y, draws=20, capacity_draws=2)
    np.testing.assert_array_equal(scored.value, as_probs.value)


def test_rashomon_measures_on_a_hand_worked_example():
    # 3 models, 4 inputs, 2 classes; labels all 0. Model 0 errs on input 3 only (error 1/4),
    # model 1 errs on inputs 2, 3 (2/4), model 2 errs on input 3 (1/4) with other scores.
    s = np.array([[0.1, 0.2, 0.3, 0.8],
                  [0.2, 0.2, 0.6, 0.9],
                  [0.4, 0.1, 0.45, 0.7]])
    p, y = np.stack([1 - s, s], -1), np.zeros(4, int)
    base, members = rashomon.rashomon_set(p, y, epsilon=0.1)
    assert base == 0 and list(members) == [True, False, True]
    # only model 2 joins; it predicts as model 0 everywhere: no ambiguity
    assert rashomon.ambiguity(p, y, epsilon=0.1) == 0
    # with epsilon 0.3 model 1 joins and flips input 2
    assert rashomon.ambiguity(p, y, epsilon=0.3) == 0.25
    assert rashomon.discrepancy(p, y, epsilon=0.3) == 0.25
    # ranges of s over models 0 and 2: 0.3, 0.1, 0.15, 0.1 -> mean 0.1625
    assert rashomon.viable_prediction_range(p, y, epsilon=0.1) == pytest.approx(0.1625)
    std = np.abs(s[0] - s[2]) / 2  # std of two values
    assert rashomon.score_std(p, y, epsilon=0.1) == pytest.approx(std.mean())
    everyone = rashomon.score_std(p, y, epsilon=1.0)
    assert everyone == pytest.approx(mm.predictive_multiplicity(p))


def mutual_information(q, rows):
    """I(q) in nats of the channel with input distribution q [M] and rows [M, C]."""
    r = q @ rows
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(rows > 0, rows * np.log(rows / r), 0.0)
    return float(q @ terms.sum(axis=1))


def test_rashomon_capacity_by_blahut_arimoto_matches_a_brute_force_maximum():
    r = np.random.default_rng(2)
    channels = r.dirichlet(np.ones(3), size=(2, 20))  # 2 models, 20 inputs, 3 classes
    capacity, unconverged = rashomon.channel_capacity(channels, tol=1e-10)
    assert unconverged == 0
    grid = np.linspace(0, 1, 20001)
    for n in range(20):
        rows = channels[:, n]
        best = max(mutual_information(np.array([g, 1 - g]), rows) for g in grid)
        assert capacity[n] == pytest.approx(best, abs=1e-8)
    # identical models: 1; three models with one-hot, different labels: 3 (= 2^log2 3)
    same = np.repeat(channels[:1], 3, axis=0)
    p = np.concatenate([same, np.eye(3)[:, None, :].repeat(20, 1)], axis=1)
    y = np.zeros(40, int)
    per_input = rashomon.per_input_rashomon_capacity(p, y, epsilon=1.0)
    np.testing.assert_allclose(per_input[:20], 1.0, atol=1e-12)
    np.testing.assert_allclose(per_input[20:], 3.0, rtol=1e-6)


def test_pair_bootstrap_averages_over_pairs_of_distinct_drawn_models():
    r = np.random.default_rng(3)
    values = r.random((5, 5))
    values = values + values.T
    draws = bs.draw_indices(5, 30, seed=7)
    means = bs.pair_means(values, draws)
    for draw, got in zip(draws, means):
        pairs = [(a, b) for a, b in itertools.combinations(draw, 2) if a != b]
        expected = np.mean([values[a, b] for a, b in pairs]) if pairs else np.nan
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isnan(bs.pair_means(values, np.array([[2, 2, 2, 2, 2]])))[0]
    first = bs.pair_interval(values, 200, seed=1)
    assert first == bs.pair_interval(values, 200, seed=1)
    assert first != bs.pair_interval(values, 200, seed=2)


def test_set_bootstrap_is_a_seeded_percentile_interval():
    x = np.arange(10.0)
    ci = bs.set_interval(lambda i: x[i].mean(), 10, draws=400, seed=5)
    means = [x[row].mean() for row in bs.draw_indices(10, 400, 5)]
    assert (ci.low, ci.high) == tuple(np.quantile(means, [0.025, 0.975]))
    assert ci.note == ""
    assert "coarse" in bs.set_interval(lambda i: x[i].mean(), 3, draws=50).note


def test_one_model_gives_notes_in_words_never_a_bare_nan():
    p, y = models(k=1)
    table = measure(p, y, activations={"fc": acts(k=1)}, draws=20)
    missing = table[table.value.isna() | table.ci_low.isna()]
    assert len(missing) > 5
    assert (missing.note.str.len() > 0).all()
    assert "at least 2 models" in value(table, "pm").note


@pytest.mark.parametrize("change, message", [
    (lambda p, y: (p, y[:-1]), "labels"),
    (lambda p, y: (np.log(p), y), "probs"),
    (lambda p, y: (np.where(np.arange(300)[None, :, None] == 7, np.nan, p), y), "NaN"),
    (lambda p, y: (p, y + 5), "labels"),
    (lambda p, y: (p * 0.5, y), "sum to 1"),
])
def test_input_errors_name_the_array_and_the_fix(change, message):
    p, y = models()
    with pytest.raises(UserError, match=message):
        measure(*change(p, y), draws=5)


def test_mismatched_groups_and_activations_are_user_errors():
    p, y = models()
    with pytest.raises(UserError, match="group_a"):
        measure(p, y, groups={"a": np.ones(299, bool)})
    with pytest.raises(UserError, match="act_fc"):
        measure(p, y, activations={"fc": acts(k=3)})
    with pytest.raises(UserError, match="unknown representational"):
        measure(p, y, activations={"fc": acts()}, rm_measures=("cca",))


def test_few_points_per_direction_put_the_caution_in_every_measure_note():
    p, y = models(n=60)
    table = measure(p, y, activations={"fc": acts(n=60)}, draws=10, capacity_draws=0,
                    rm_measures=("svcca", "cka", "cka_debiased", "pwcca", "procrustes"))
    for metric in ("rm_fc", "svcca", "cka", "cka_debiased", "pwcca", "procrustes"):
        assert "data points" in value(table, metric, layer="fc").note, metric
    assert value(table, "rashomon_capacity").note.count("capacity_draws=0") == 1
