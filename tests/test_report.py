"""imgctl report end to end on a tiny digits sweep (one module-scoped sweep: 3 learning rates
x 3 variants on 200 test digits); the formulas' own tests are in test_sheets, test_relations,
test_confabulation, test_attacks and test_figures_and_readings."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from image_experiments import (
    images,
    intervention_table,
    report_tables,
    storage,
)
from image_experiments.cli import main
from irrepro.errors import UserError


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


def test_report_tables_are_drawn_from_the_sweeps_own_numbers(reported, swept):
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
    from image_experiments.prepare import prepare
    from image_experiments.storage import read_unit
    from image_experiments.sweep_config import load_sweep

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
    attacks = intervention_table.Attacks(out / "pgd.csv", (0.02, 0.1), 2, 16)
    from image_experiments.storage import read_unit
    for path in sorted((swept / "units").glob("*.npz")):
        unit = read_unit(path)
        key = storage.unit_key(unit.meta, "target")
        rebuilt = images.Images(None)
        attacks.rows_for(key, unit, unit.checkpoints["target"], rebuilt.test_set(unit))
    assert attacks.computed == 0
    # the same unit hash with other weights (say, retrained by other code) is attacked again
    stored = unit.checkpoints["target"]
    nudged = [w.copy() for w in stored.weights]
    nudged[0][0] += 1e-3  # only the first checkpointed model changes
    attacks.rows_for(key, unit, dataclasses.replace(stored, weights=nudged),
                     rebuilt.test_set(unit))
    assert attacks.computed == 2  # its two budgets


def test_plot_redraws_from_the_csvs_alone(reported, tmp_path):
    out, _ = reported
    (out / "fig2-digits.png").unlink()
    result = imgctl("plot", out)
    assert result.exit_code == 0, result.output
    assert (out / "fig2-digits.png").exists() and "report.md" in result.output


def test_missing_images_skip_the_confabulation_figure_with_a_note(swept, monkeypatch):
    import image_experiments.prepare as prepare

    def missing(*args):
        raise UserError("digits: not found; tried nowhere")

    monkeypatch.setattr(prepare, "prepare", missing)
    from image_experiments.storage import read_unit
    unit = read_unit(sorted((swept / "units").glob("*.npz"))[0])
    rebuilt = images.Images(None)
    assert rebuilt.test_set(unit) is None
    assert "skipped" in rebuilt.notes[0] and len(rebuilt.notes) == 1
    frame, pictures = report_tables.confabulators([(unit.checkpoints["target"].probs("test"),
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


def test_input_noise_rows_equal_a_direct_computation_on_a_rebuilt_model(reported, swept):
    out, _ = reported
    from image_experiments import interventions
    from image_experiments.attacks import attack_subset
    from image_experiments.cnn import build_cnn
    from image_experiments.storage import read_unit

    frame = pd.read_csv(out / "interventions.csv")
    rows = frame[frame.intervention == "input_noise_1"]
    assert len(rows) == 9 and rows.value.between(0, 1).all()
    path = min((swept / "units").glob("*.npz"))
    unit = read_unit(path)
    stored = unit.checkpoints["target"]
    test = images.Images(None).test_set(unit)
    subset = attack_subset(len(test.y), 16, unit.meta["seed"])
    model = build_cnn(test.x.shape[1:], stored.logp["test"].shape[-1])
    model.set_weights(stored.variant_weights(0))
    noisy = interventions.input_noise(test.x[subset], 1.0, unit.meta["seed"])
    direct = (np.argmax(model(noisy).numpy(), -1) == test.y[subset]).mean()
    mine = rows[(rows.unit_hash == unit.meta["unit_hash"])
                & (rows.variant == int(stored.variants[0]))]
    assert mine.value.iloc[0] == pytest.approx(direct)


def test_a_unit_with_activations_of_the_wrong_shape_is_not_stored(tmp_path):
    from image_experiments.storage import write_unit
    from image_experiments.training import CheckpointOutputs

    def outputs(acts):
        return {"target": CheckpointOutputs(np.arange(2), np.array([3, 4]), np.array([.5, .6]),
                                            {"test": np.zeros((2, 5, 3))}, {"fc1": acts},
                                            [np.zeros((2, 4))])}

    args = ({"dataset": "x"}, [[0, 0], [1, 1]], [1], np.zeros((1, 2)), np.arange(5),
            {"test": np.zeros(5, int)})
    with pytest.raises(ValueError, match=r"shape \(2, 30\), not \[2, 5, neurons\]"):
        write_unit(tmp_path / "bad.npz", *args, outputs(np.zeros((2, 30))))
    assert not (tmp_path / "bad.npz").exists()
    write_unit(tmp_path / "good.npz", *args, outputs(np.zeros((2, 5, 7))))
    assert (tmp_path / "good.npz").exists()
