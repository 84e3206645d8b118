"""imgctl report: every formula against an independent computation, the figures on small
hand-made frames, and the command end to end on a tiny digits sweep (one module-scoped
sweep: 3 learning rates x 3 variants on 200 test digits)."""
import dataclasses
import json

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.stats
from click.testing import CliRunner
from matplotlib.figure import Figure

from image_experiments import confabulation, figures, readings, relations, report, sheets
from image_experiments.attacks import PGD, attack_subset, step_size_for
from image_experiments.cli import main
from simulator.errors import UserError


# ---------------------------------------------------------------- sheets (Ganesh)

def sheet_values():
    """2 regimes: lr with strategies 1e-3, 1e-4 and batch with 64; variants 0..2."""
    rows = [("lr", 1e-3, 0, 0.90), ("lr", 1e-3, 1, 0.80), ("lr", 1e-3, 2, 0.85),
            ("lr", 1e-4, 0, 0.70), ("lr", 1e-4, 1, 0.75), ("lr", 1e-4, 2, np.nan),
            ("batch", 64, 0, 0.60), ("batch", 64, 1, 0.95), ("batch", 64, 2, 0.65)]
    return pd.DataFrame(rows, columns=["regime", "strategy", "variant", "value"])


def test_a_sheet_has_delta_max_per_row_per_column_and_over_everything():
    wide = sheets.sheet(sheet_values(), {"lr": [1e-3, 1e-4], "batch": [64]})
    lr = wide[wide.regime == "lr"].set_index("row")
    assert list(lr.index) == ["0.001", "0.0001", "delta_max"]
    assert np.isclose(lr.loc["0.001", "variant_0"], 90)
    assert np.isclose(lr.loc["0.001", "delta_max"], 10)  # 90 - 80, across seeds
    assert np.isclose(lr.loc["0.0001", "delta_max"], 5)  # the missing seed is left out
    assert np.allclose(lr.loc["delta_max", ["variant_0", "variant_1"]], [20, 5])
    assert np.isclose(lr.loc["delta_max", "variant_2"], 0)  # one value: no spread
    everything = wide[wide.regime == "all"].iloc[0]
    assert everything.row == "delta_max_all" and np.isclose(everything.delta_max, 95 - 60)
    summary = sheets.sheet_summary(wide).set_index("regime")
    assert np.isclose(summary.loc["lr", "delta_max_all"], 20)
    assert np.isclose(summary.loc["batch", "max_delta_seeds"], 35)
    assert np.isclose(summary.loc["lr", "max_delta_strategies"], 20)
    assert np.isclose(summary.loc["all", "delta_max_all"], 35)


def test_class_and_worst_class_accuracy_count_each_class_alone():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([[0, 1, 1, 1, 0, 2], [0, 0, 0, 0, 0, 0]])
    probs = np.eye(3)[predicted]
    by_class = sheets.class_accuracy(probs, labels, 4)
    assert np.allclose(by_class[:, :3], [[0.5, 2 / 3, 1.0], [1.0, 0.0, 0.0]])
    assert np.isnan(by_class[:, 3]).all()  # no input of class 3
    assert np.allclose(sheets.worst_class_accuracy(probs, labels, 4), [0.5, 0.0])


def test_exponential_output_noise_matches_the_two_class_closed_form():
    # p = (0.3, 0.7) with true class 1: correct unless e0 - e1 > 0.4, and e0 - e1 of two
    # Exp(rate) draws is Laplace(1/rate): P(correct) = 1 - exp(-0.4 rate) / 2.
    n, rate = 200_000, 5.0
    probs = np.tile([0.3, 0.7], (1, n, 1))
    found = sheets.noise_accuracy(probs, np.ones(n, int), rate, seed=3)[0]
    assert abs(found - (1 - np.exp(-0.4 * rate) / 2)) < 4 * np.sqrt(0.07 / n)
    again = sheets.noise_accuracy(probs[:, :1000], np.ones(1000, int), rate, seed=3)
    assert again[0] == sheets.noise_accuracy(probs[:, :1000], np.ones(1000, int), rate, 3)[0]
    # a huge rate is no noise: plain accuracy
    assert sheets.noise_accuracy(probs, np.zeros(n, int), 1e9, seed=3)[0] == 0.0


def test_top_percent_keeps_models_in_the_top_of_every_metric_and_ties_share_ranks():
    values = pd.DataFrame({"a": [0.9, 0.8, 0.8, 0.1], "b": [0.1, 0.9, 0.8, 0.7],
                           "c": [0.5, 0.6, 0.7, 0.8]})
    # top 50% of 4 models = rank <= 2; in 'a' models 1 and 2 tie for rank 2
    assert list(sheets.top_percent(values[["a", "b"]], 50)) == [False, True, True, False]
    assert sheets.top_percent(values[["a"]], 100).all()
    table = sheets.selection(values, ["a", "b"], [50]).set_index(["top_percent",
                                                                  "intervention"])
    assert np.isclose(table.loc[(100, "c"), "spread"], 30)
    assert np.isclose(table.loc[(50, "c"), "spread"], 10) and table.loc[(50, "c"),
                                                                         "models_kept"] == 2


# ---------------------------------------------------------------- Table 1, Hypothesis 1

def test_pearson_matches_scipy_and_is_nan_without_spread():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=7), rng.normal(size=7)
    assert np.isclose(relations.pearson(x, y), scipy.stats.pearsonr(x, y)[0])
    assert np.isclose(relations.pearson([1, 2, np.nan, 4], [2, 4, 5, 8]), 1.0)
    assert np.isnan(relations.pearson([1, 1, 1], [1, 2, 3]))
    assert np.isnan(relations.pearson([1], [2]))


def fig2_frame():
    """Fig. 2's rows of one data set: lr with 3 strategies, batch with 2."""
    rows = []
    for regime, strategies in (("lr", [3e-3, 1e-3, 1e-4]), ("batch", [16, 64])):
        for i, strategy in enumerate(strategies):
            for metric, value in (("svcca_fc1", 0.8 + 0.05 * i), ("svcca_cnn", 0.9)):
                rows.append(("mnist", regime, strategy, "test", metric, value))
            for k, ood_set in enumerate(["test", "xflip", "rot0-20", "rot90-110"]):
                rows.append(("mnist", regime, strategy, ood_set, "pm",
                             0.05 - 0.01 * i + 0.001 * k * i * i))
    return pd.DataFrame(rows, columns=["dataset", "regime", "strategy", "ood_set", "metric",
                                       "value"])


def test_table1_correlates_svcca_with_pm_across_strategies_per_set():
    frame = fig2_frame()
    table = relations.table1(frame)
    row = table[(table.regime == "lr") & (table.layer == "fc1")
                & (table.ood_set == "rot0-20")].iloc[0]
    svcca, pm = [0.8, 0.85, 0.9], [0.05, 0.05 - 0.01 + 0.002, 0.05 - 0.02 + 0.008]
    assert np.isclose(row.pearson, np.corrcoef(svcca, pm)[0, 1])
    assert np.isclose(row.delta_svcca, 0.1) and row.strategies == 3
    cnn = table[table.layer == "cnn"]
    assert cnn.pearson.isna().all()  # constant SVCCA: no correlation to speak of
    wide = relations.table1_wide(table)
    assert list(wide.columns) == ["set", "lr fc1", "batch fc1", "lr cnn", "batch cnn"]
    assert list(wide.set) == ["test", "xflip", "rot0-20", "rot90-110", "Δ SVCCA"]


def test_hypothesis1_errors_are_mean_absolute_differences_of_min_max_scaled_measures():
    pm_full = np.array([1.0, 2.0, 4.0, 5.0])       # scaled 0, .25, .75, 1
    rm = np.array([-0.9, -0.8, -0.6, -0.5])         # scaled 0, .25, .75, 1: exact
    pm_subset = np.array([3.0, 1.0, 2.0, 1.0])      # scaled 1, 0, .5, 0
    e_rm, e_pm = relations.estimation_errors(rm, pm_subset, pm_full)
    assert np.isclose(e_rm, 0.0)
    assert np.isclose(e_pm, (1 + 0.25 + 0.25 + 1) / 4)
    assert np.allclose(relations.min_max([2, 4, 3]), [0, 1, 0.5])
    assert np.isnan(relations.min_max([2, 2])).all()
    assert all(np.isnan(relations.estimation_errors([1], [1], [1])))
    assert list(relations.lowest_pm_subset(np.array([0.3, 0.1, 0.2, 0.1]), 2)) == [1, 3]


# ---------------------------------------------------------------- confabulation

def test_label_entropy_matches_scipy_and_ranks_ties_by_pm():
    predicted = np.array([[0, 1, 2, 0], [0, 1, 2, 1], [0, 2, 1, 2], [0, 2, 1, 3]])  # [M, N]
    counts = confabulation.label_counts(predicted, 4)
    assert counts.tolist()[0] == [4, 0, 0, 0] and counts[:, :].sum(axis=1).tolist() == [4] * 4
    expected = [scipy.stats.entropy(row, base=2) for row in counts]
    assert np.allclose(confabulation.label_entropy(counts), expected)
    probs = np.eye(4)[predicted] * 0.7 + 0.075  # one-hot-ish, rows sum to 1
    probs[:, 2] = np.eye(4)[predicted[:, 2]] * 0.4 + 0.15  # input 2: same labels, less std
    index, top_counts, entropy, pm = confabulation.most_confabulated(probs, top=3)
    # inputs 1 and 2 tie at 1 bit; 1 has the larger spread of probabilities
    assert list(index) == [3, 1, 2] and np.isclose(entropy[1], entropy[2])
    assert pm[1] > pm[2]


# ---------------------------------------------------------------- PGD

def linear_model(rng, shape=(2, 2, 1), classes=3):
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(classes)])
    model.set_weights([rng.normal(size=(int(np.prod(shape)), classes)).astype(np.float32),
                       rng.normal(size=classes).astype(np.float32)])
    return model


def test_one_pgd_step_is_the_numpy_gradient_sign_step_of_a_linear_softmax_model():
    rng = np.random.default_rng(1)
    model = linear_model(rng)
    x = rng.uniform(0.2, 0.8, size=(8, 2, 2, 1)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    w, b = model.get_weights()
    flat = x.reshape(8, -1)
    logits = flat @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    gradient = (p - np.eye(3)[y]) @ w.T  # d CE / d x of a linear softmax model
    budget, step = 0.1, 0.04
    expected = np.clip(flat + step * np.sign(gradient), flat - budget, flat + budget)
    found = PGD(model).attack(x, y, budget, steps=1, step_size=step)
    assert np.allclose(found.reshape(8, -1), np.clip(expected, 0, 1), atol=1e-6)


def test_pgd_stays_in_the_ball_and_pixel_range_and_accuracy_falls_with_the_budget():
    rng = np.random.default_rng(2)
    model = linear_model(rng, shape=(4, 4, 1), classes=4)
    x = rng.uniform(0, 1, size=(64, 4, 4, 1)).astype(np.float32)
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0.0, 1.0  # at the pixel range's edges
    attacker = PGD(model, batch=24)  # batches of unequal size
    y = attacker.predict(x)  # every input starts correctly classified
    for budget in (0.05, 0.3):
        moved = attacker.attack(x, y, budget, steps=5)
        assert np.abs(moved - x).max() <= budget + 1e-6
        assert moved.min() >= 0 and moved.max() <= 1
    assert attacker.accuracy(x, y, 0.0, steps=5) == 1.0  # no budget: plain accuracy
    accuracies = [attacker.accuracy(x, y, budget, steps=10) for budget in (0.02, 0.1, 0.5)]
    assert accuracies == sorted(accuracies, reverse=True) and accuracies[-1] < 0.5
    assert np.isclose(step_size_for(0.1, 10), 0.025)
    subset = attack_subset(100, 10, seed=0)
    assert len(subset) == 10 and list(subset) == sorted(subset)
    assert list(subset) == list(attack_subset(100, 10, seed=0))
    assert list(attack_subset(5, 10, seed=0)) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- figures and readings

def test_figures_are_drawn_from_small_frames():
    frame = fig2_frame()
    fig = figures.multiplicity_figure(frame, "t")
    assert isinstance(fig, Figure)
    lr_svcca, lr_pm, lr_rot = fig.axes[:3]
    assert len(lr_svcca.lines) == 2 and len(lr_pm.lines) == 2 and len(lr_rot.lines) == 2
    assert lr_svcca.get_xscale() == "log" and lr_svcca.xaxis_inverted()  # lr descends
    assert not fig.axes[3].xaxis_inverted()  # batch ascends
    hypothesis = pd.DataFrame({"regime": ["lr"] * 3, "strategy": [3e-3, 1e-3, 1e-4],
                               "pm_full": [3, 2, 1], "pm_subset": [1, 3, 2],
                               "rm_subset_cnn": [-0.5, -0.6, -0.9],
                               "rm_subset_fc1": [-0.5, -0.7, -0.9]})
    fig = figures.hypothesis_figure(hypothesis)
    assert len(fig.axes[0].lines) == 4
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), [0, 0.5, 1])  # pm_full, by lr
    wide = sheets.sheet(sheet_values(), {"lr": [1e-3, 1e-4], "batch": [64]})
    assert isinstance(figures.sheet_figure(wide, "accuracy"), Figure)
    table = sheets.selection(pd.DataFrame({"a": [0.9, 0.8], "b": [0.5, 0.6]}), ["a"], [50])
    assert isinstance(figures.selection_figure(table.assign(regime="lr")), Figure)
    deltas = pd.DataFrame({"intervention": ["accuracy", "pgd_0.01"] * 2,
                           "regime": ["lr", "lr", "batch", "batch"],
                           "delta_max_all": [1.0, 5.0, 2.0, 3.0]})
    assert len(figures.deltas_figure(deltas).axes[0].patches) == 4
    confab = pd.DataFrame({"input": [4, 9], "label": [1, 2], "entropy": [1.0, 0.5],
                           "counts": ["1:2 2:2", "2:3 0:1"]})
    fig = figures.confabulation_figure(confab, np.zeros((2, 8, 8, 1)), columns=2)
    assert "#4 true 1" in fig.axes[0].get_title()
    assert isinstance(figures.table_figure(relations.table1_wide(relations.table1(frame))),
                      Figure)


def test_readings_state_computed_values():
    lines = readings.multiplicity_reading(fig2_frame())
    assert lines[0].startswith("lr: PM on test goes from 0.05 at lr=0.003 to 0.03 at "
                               "lr=0.0001; SVCCA (fc1) from 0.8 to 0.9")
    noted = fig2_frame().assign(note="")
    assert readings.caution(noted) == []
    noted.loc[3, "note"] = "fc1 of variant 0: 9 data points for 20 live neurons"
    assert readings.caution(noted) == [f"Caution (1 of {len(noted)} rows): fc1 of variant 0: "
                                       "9 data points for 20 live neurons"]
    wide = sheets.sheet(sheet_values(), {"lr": [1e-3, 1e-4], "batch": [64]})
    assert readings.sheet_reading(wide, "accuracy")[0].startswith(
        "accuracy: Δmax^all = 35 pp; largest across seeds 35 pp (batch 64)")


# ---------------------------------------------------------------- the command

def imgctl(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "digits"
    result = imgctl("sweep", "digits", "--smoke", "--regime", "lr", "--strategies",
                    "3e-3,1e-3,3e-4", "--target-accuracy", "0.25", "--no-pseudo-max",
                    "--test-subset", "200", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def reported(swept):
    result = imgctl("report", swept, "--pgd-points", "16", "--pgd-steps", "2",
                    "--pgd-budget", "0.02,0.1", "--subset-size", "60", "--top-percent", "50",
                    "--no-progress")
    return swept / "report", result


def test_report_writes_every_figure_and_csv_and_says_where(reported):
    out, result = reported
    assert result.exit_code == 0, result.output
    for stem in ["fig2-digits", "table1-digits", "hypothesis1-digits", "confabulation-digits",
                 "sheet-digits-accuracy", "sheet-digits-pgd_0.02", "sheet-digits-noise_5",
                 "sheets-digits", "selection-digits"]:
        for suffix in (".png", ".pdf"):
            assert (out / (stem + suffix)).stat().st_size > 0
            assert str(out / (stem + suffix)) in result.output
    for name in ["interventions.csv", "table1.csv", "hypothesis1.csv", "sheets.csv",
                 "pgd.csv", "report.md", "confabulation-digits.npz"]:
        assert (out / name).exists()
    text = (out / "report.md").read_text()
    assert "PM on test goes from" in text and "Hypothesis 1" in text and "| set |" in text


def test_report_numbers_agree_with_the_sweeps_own_tables(reported, swept):
    out, _ = reported
    strategies = pd.read_csv(swept / "strategies.csv")
    fig2 = pd.read_csv(out / "fig2-digits.csv")
    for metric, sign in (("pm", 1), ("rm_fc1", -1)):
        mine = fig2[fig2.metric == ("pm" if metric == "pm" else "svcca_fc1")]
        theirs = strategies[strategies.metric == metric]
        merged = mine.merge(theirs, on=["strategy", "ood_set"])
        assert len(merged) == len(theirs) > 0
        assert np.allclose(merged.value_x, sign * merged.value_y)
    variants = pd.read_csv(swept / "variants.csv")
    accuracy = variants[(variants.metric == "accuracy") & (variants.ood_set == "test")]
    interventions = pd.read_csv(out / "interventions.csv")
    mine = interventions[interventions.intervention == "accuracy"]
    merged = mine.merge(accuracy, on=["strategy", "variant"])
    assert len(merged) == 9 and np.allclose(merged.value_x, merged.value_y)
    table1 = pd.read_csv(out / "table1.csv")
    row = table1[(table1.layer == "fc1") & (table1.ood_set == "xflip")].iloc[0]
    pm = strategies[(strategies.metric == "pm") & (strategies.ood_set == "xflip")]
    rm = strategies[strategies.metric == "rm_fc1"]
    both = pm.merge(rm, on="strategy")
    assert np.isclose(row.pearson, np.corrcoef(-both.value_y, both.value_x)[0, 1])
    hypothesis = pd.read_csv(out / "hypothesis1-digits.csv")
    assert (hypothesis.subset == 60).all() and (hypothesis.rm_inputs == 60).all()
    assert (hypothesis.rm_source == "recomputed").all()
    assert (hypothesis.subset_per == "dataset").all()
    test_pm = strategies[(strategies.metric == "pm") & (strategies.ood_set == "test")]
    merged = test_pm.merge(hypothesis, on="strategy")
    assert len(merged) == 3 and np.allclose(merged.value, merged.pm_full)
    summary = pd.read_csv(out / "hypothesis1.csv")
    assert set(summary.layer) == {"cnn", "fc1"} and (summary.strategies == 3).all()


def test_hypothesis_1s_rm_uses_exactly_the_s_inputs_of_one_subset_per_data_set(reported,
                                                                              swept):
    from image_experiments import multiplicity as mm
    from image_experiments.cnn import activation_model, build_cnn
    from image_experiments.storage import read_unit
    from image_experiments.sweep import load_sweep, prepare

    out, _ = reported
    hypothesis = pd.read_csv(out / "hypothesis1-digits.csv")
    units = {read_unit(p).meta["unit_hash"]: read_unit(p)
             for p in sorted((swept / "units").glob("*.npz"))}
    # s: the 60 inputs of lowest PM averaged over the three strategies (Fig. 3's caption)
    per_input = np.mean([mm.per_input_pm(u.checkpoints["target"].probs("test"))
                         for u in units.values()], axis=0)
    subset = np.argsort(per_input, kind="stable")[:60]
    sweep = load_sweep("digits", smoke=True)
    test = prepare("digits", None, sweep.train_subset, 200, sweep.seed).sets[0]
    for row in hypothesis.itertuples():
        stored = units[row.unit_hash].checkpoints["target"]
        acts = []
        for i in range(len(stored.variants)):
            model = build_cnn(test.x.shape[1:], 10)
            model.set_weights(stored.variant_weights(i))
            acts.append(activation_model(model, ("fc1",)).predict(test.x[subset], verbose=0))
        assert np.stack(acts).shape[1] == 60  # all of s, not its stored-activation part
        assert row.rm_subset_fc1 == pytest.approx(mm.layer_rm(np.stack(acts), "fc1").rm,
                                                  abs=1e-4)
        assert row.pm_subset == pytest.approx(mm.per_input_pm(
            stored.probs("test"))[subset].mean(), rel=1e-9)


def test_the_report_flags_risk_equivalence_and_gives_intervals(reported):
    out, _ = reported
    fig2 = pd.read_csv(out / "fig2-digits.csv")
    pm = fig2[fig2.metric == "pm"]
    assert (pm.ci_low <= pm.value).all() and (pm.value <= pm.ci_high).all()
    spread = fig2[fig2.metric == "accuracy_spread"]
    assert len(spread) == 3 and (spread.value >= 0).all()
    keep = fig2[fig2.metric.str.endswith("_keep1")].pivot(index="strategy", columns="metric",
                                                          values="value")
    # no activation after FC(512): fc1 is an affine image of cnn, the same subspace
    assert np.allclose(keep["svcca_cnn_keep1"], keep["svcca_fc1_keep1"], atol=1e-6)
    text = (out / "report.md").read_text()
    assert "checkpoint test accuracies spread" in text and "keep = 1.0" in text


def test_pgd_results_are_cached_so_a_second_pass_attacks_nothing(reported, swept):
    out, _ = reported
    manifest = json.loads((out / "report.json").read_text())
    assert manifest["pgd_computed"] == 9 * 2
    cached = pd.read_csv(out / "pgd.csv")
    assert len(cached) == 18 and set(cached.budget) == {0.02, 0.1}
    interventions = pd.read_csv(out / "interventions.csv")
    pgd = interventions[interventions.intervention == "pgd_0.1"]
    merged = pgd.merge(cached[cached.budget == 0.1], on=["strategy", "variant"])
    assert len(merged) == 9 and np.allclose(merged.value, merged.accuracy)
    # a second pass over the same units finds every attack in the cache
    attacks = report.Attacks(out / "pgd.csv", (0.02, 0.1), 2, 16)
    from image_experiments.storage import read_unit
    for path in sorted((swept / "units").glob("*.npz")):
        unit = read_unit(path)
        key = report.unit_key(unit.meta, "target")
        images = report.Images(None)
        attacks.rows_for(key, unit, unit.checkpoints["target"], images.test_set(unit))
    assert attacks.computed == 0
    # the same unit hash with other weights (say, retrained by other code) is attacked again
    stored = unit.checkpoints["target"]
    nudged = [w.copy() for w in stored.weights]
    nudged[0][0] += 1e-3  # only the first checkpointed model changes
    attacks.rows_for(key, unit, dataclasses.replace(stored, weights=nudged),
                     images.test_set(unit))
    assert attacks.computed == 2  # its two budgets


def test_plot_redraws_from_the_csvs_alone(reported, tmp_path):
    out, _ = reported
    (out / "fig2-digits.png").unlink()
    result = imgctl("plot", out)
    assert result.exit_code == 0, result.output
    assert (out / "fig2-digits.png").exists() and "report.md" in result.output


def test_missing_images_skip_the_confabulation_figure_with_a_note(swept, monkeypatch):
    import image_experiments.sweep as sweep

    def missing(*args):
        raise UserError("digits: not found; tried nowhere")

    monkeypatch.setattr(sweep, "prepare", missing)
    from image_experiments.storage import read_unit
    unit = read_unit(sorted((swept / "units").glob("*.npz"))[0])
    images = report.Images(None)
    assert images.test_set(unit) is None
    assert "skipped" in images.notes[0] and len(images.notes) == 1
    frame, pictures = report.confabulators([(unit.checkpoints["target"].probs("test"),
                                             unit.labels["test"], None)])
    assert pictures is None and len(frame) == 16


@pytest.mark.parametrize("args, message", [
    (["report", "/nonexistent/results"], "is not a folder"),
    (["report", "{empty}"], "no stored units"),
    (["report", "{empty}", "--metric", "accuracy,nonsense"], "unknown metric 'nonsense'"),
    (["report", "{empty}", "--noise-rate", "0"], "--noise-rate"),
    (["report", "{empty}", "--strategy", "lr=fast"], "--strategy 'lr=fast'"),
    (["plot", "{empty}"], "no report in"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    args = [a.replace("{empty}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgctl: error: ") and message in lines[0]
