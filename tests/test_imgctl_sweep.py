"""imgctl sweep end to end: the digits smoke preset (no data file) writes the tidy CSVs, a
re-run skips every finished unit, and bad input is one line and exit 2."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from image_experiments.cli import main
from image_experiments.training import risk_band
from image_experiments.transforms import ROTATION_RANGES

OOD = ["xflip", "jitter", "pixelate", *(f"rot{lo}-{hi}" for lo, hi in ROTATION_RANGES)]


def imgctl(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("img") / "digits"
    first = imgctl("sweep", "digits", "--smoke", "--out", str(out), "--no-progress")
    return out, first


def test_the_smoke_sweep_says_where_it_ran_and_wrote(smoke):
    out, result = smoke
    assert result.exit_code == 0, result.output
    assert result.output.startswith("device: ")
    assert "ran 4 of 4 units (0 already done)" in result.output  # 2 probes, 2 strategies
    for name in ("variants", "strategies", "pairs", "timings"):
        assert str(out / f"{name}.csv") in result.output
    assert len(list((out / "probe").glob("*.json"))) == 2
    assert len(list((out / "units").glob("*.npz"))) == 2


def test_variants_csv_has_every_variants_accuracy_on_every_set(smoke):
    frame = pd.read_csv(smoke[0] / "variants.csv", keep_default_na=False)
    for column in ["dataset", "regime", "strategy", "lr", "batch", "checkpoint",
                   "checkpoint_accuracy", "variant", "init_seed", "order_seed", "ood_set",
                   "metric", "value", "irrepro_version", "config_hash", "seed", "device"]:
        assert column in frame.columns
    accuracy = frame[(frame.metric == "accuracy") & (frame.checkpoint == "target")]
    assert set(accuracy.ood_set) == {"test", *OOD}
    assert set(accuracy.variant) == {0, 1, 2} and set(frame.dataset) == {"digits"}
    assert set(frame.regime) == {"lr", "batch"} and set(frame.checkpoint) == {"target",
                                                                              "pseudo_max"}
    # risk equivalence: every target checkpoint lies in [target, target + max(0.3 pp, 2/N)],
    # or one optimizer step jumped over the whole band and the row says so
    target = accuracy[accuracy.ood_set == "test"]
    band = risk_band(360)
    assert (target.value >= target.checkpoint_accuracy).all()
    over_band = target.value > target.checkpoint_accuracy + band + 1e-12
    assert target.note[over_band].str.startswith("not risk-equivalent: one optimizer step").all()
    assert (target.note[~over_band] == "").all()
    strategies = pd.read_csv(smoke[0] / "strategies.csv", keep_default_na=False)
    spread = strategies[(strategies.metric == "accuracy_spread")
                        & (strategies.checkpoint == "target")]
    over = strategies[strategies.metric == "variants_over_band"]
    assert len(spread) == 2 and len(over) == 2
    for regime, mine in target.groupby("regime"):
        assert np.isclose(spread[spread.regime == regime].value.iloc[0], np.ptp(mine.value))
        assert over[over.regime == regime].value.iloc[0] == over_band[mine.index].sum()


def test_strategies_csv_has_pm_per_set_and_rm_with_its_warning(smoke):
    frame = pd.read_csv(smoke[0] / "strategies.csv", keep_default_na=False)
    pm = frame[frame.metric == "pm"]
    assert set(pm.ood_set) == {"test", *OOD}
    assert ((pm.value > 0) & (pm.value < 0.5)).all()
    rm = frame[frame.metric.isin(["rm_cnn", "rm_fc1"])]
    assert len(rm) == 2 * 2 * 2  # 2 layers x 2 strategies x 2 checkpoint kinds
    assert ((rm.value >= -1) & (rm.value < 0)).all()
    numbers = pd.read_csv(smoke[0] / "strategies.csv")
    rm_ci, pm_ci = (numbers[numbers.metric.isin(["rm_cnn", "rm_fc1"])],
                    numbers[numbers.metric == "pm"])
    assert ((rm_ci.ci_low <= rm_ci.value) & (rm_ci.value <= rm_ci.ci_high)).all()
    assert (pm_ci.ci_low <= pm_ci.ci_high).all() and pm_ci.ci_low.notna().all()
    # a caution, where there is one, is SVCCA's data-point ratio warning (the preset's
    # checkpoints keep few enough 99% directions for 360 digits that it may have none)
    noted = rm[rm.note != ""]
    assert noted.note.str.contains("ratio").all()
    assert {"pm_true_class", "label_disagreement"} <= set(frame.metric)
    timings = pd.read_csv(smoke[0] / "timings.csv")
    assert set(timings.metric) == {"train_seconds"} and (timings.value > 0).all()


def test_pairs_csv_has_every_pair_with_its_seed_kind(smoke):
    frame = pd.read_csv(smoke[0] / "pairs.csv", keep_default_na=False)
    churn = frame[(frame.metric == "churn") & (frame.ood_set == "test")
                  & (frame.checkpoint == "target")]
    for regime in ("lr", "batch"):
        mine = churn[churn.regime == regime]
        assert sorted(zip(mine.variant_a, mine.variant_b)) == [(0, 1), (0, 2), (1, 2)]
    assert set(frame.pair_kind) == {"both"}
    assert set(frame.metric) == {"absolute_pd", "relative_pd_mean", "churn", "svcca_cnn",
                                 "svcca_fc1"}


def test_two_processes_with_onednn_write_the_same_csvs_byte_for_byte(tmp_path):
    # oneDNN (TensorFlow's default on recent x86 CPUs) sums in a fixed order for a fixed
    # machine and thread count: forced on here, whatever this machine's default.
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"}
    outs = [tmp_path / name for name in ("first", "second")]
    for out in outs:
        subprocess.run([sys.executable, "-c", "from image_experiments.cli import main; main()",
                        "sweep", "digits", "--smoke", "--out", str(out), "--no-progress"],
                       env=env, check=True, capture_output=True)
    for name in ("variants", "strategies", "pairs"):
        assert (outs[0] / f"{name}.csv").read_bytes() == (outs[1] / f"{name}.csv").read_bytes()


def test_a_rerun_skips_every_finished_unit(smoke):
    out, _ = smoke
    units = sorted((out / "units").glob("*.npz"))
    stamps = [p.stat().st_mtime_ns for p in units]
    before = (out / "strategies.csv").read_text()
    again = imgctl("sweep", "digits", "--smoke", "--out", str(out), "--no-progress")
    assert again.exit_code == 0, again.output
    assert "ran 0 of 4 units (4 already done)" in again.output
    assert [p.stat().st_mtime_ns for p in units] == stamps
    assert (out / "strategies.csv").read_text() == before


def test_a_sweep_extended_by_a_regime_trains_only_the_new_units(tmp_path, monkeypatch):
    out = tmp_path / "grown"
    lr_only = imgctl("sweep", "digits", "--smoke", "--regime", "lr", "--out", str(out),
                     "--no-progress")
    assert "ran 2 of 2 units (0 already done)" in lr_only.output, lr_only.output
    assert "estimated" not in lr_only.output  # a smoke sweep's units take under a minute
    lr_unit = next((out / "units").glob("lr-*.npz"))
    stamp = lr_unit.stat().st_mtime_ns
    monkeypatch.setattr("image_experiments.sweep.ANNOUNCE_SECONDS", 0.0)
    both = imgctl("sweep", "digits", "--smoke", "--out", str(out), "--no-progress")
    assert "ran 2 of 4 units (2 already done)" in both.output, both.output
    assert lr_unit.stat().st_mtime_ns == stamp
    # The estimate is said once the new regime's probe has measured this machine's speed,
    # for the one unit left to train, before it starts.
    lines = both.output.splitlines()
    said = [line for line in lines if line.startswith("estimated ")]
    assert said and said[0].endswith("for 1 training unit on this machine (from the "
                                     "probes' speed)"), both.output


@pytest.mark.parametrize("args, message", [
    (["nosuch"], "unknown sweep 'nosuch'"),
    (["digits", "--strategies", "7"], "selects none of the lr regime's values"),
    (["digits", "--strategies", "x"], "not a comma-separated list of numbers"),
    (["digits", "--variants", "1"], "--variants"),
    (["digits", "--set", "patiense=3"], "unknown parameter(s) patiense in the command-line"),
    (["digits", "--set", "patience"], "is not KEY=VALUE"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = imgctl("sweep", *args, "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgctl: error:") and message in lines[0]
    assert not (tmp_path / "r").exists()


def test_a_config_mistake_is_named_with_its_line(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("dataset: digits\nvariants: 2\nepochs_maxx: 2\n")
    result = imgctl("sweep", str(config), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert f"unknown parameter(s) epochs_maxx in {config} ({config} line 3)" in result.output
    config.write_text("dataset: digits\nvariants: [2\n")
    result = imgctl("sweep", str(config), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "is not valid YAML at line" in result.output


def test_set_overrides_any_parameter_after_the_smoke_block(tmp_path):
    from image_experiments.sweep_config import load_sweep
    from irrepro.config import parse_sets

    sweep = load_sweep("digits", parse_sets(["patience=3", "variants=4"]), smoke=True)
    smoke = load_sweep("digits", smoke=True)
    assert (sweep.patience, sweep.variants) == (3, 4)
    assert sweep.epochs_max == smoke.epochs_max != load_sweep("digits").epochs_max


def test_stored_weights_rebuild_models_that_predict_the_stored_probabilities(smoke):
    import numpy as np
    from scipy.special import log_softmax

    from image_experiments.cnn import build_cnn
    from image_experiments.prepare import prepare
    from image_experiments.storage import read_unit
    from image_experiments.sweep_config import load_sweep

    unit = read_unit(sorted((smoke[0] / "units").glob("*.npz"))[0])
    stored = unit.checkpoints["target"]
    sweep = load_sweep("digits", smoke=True)
    test = prepare("digits", None, sweep.train_subset, sweep.test_subset, sweep.seed).sets[0]
    for i in range(len(stored.variants)):
        model = build_cnn(test.x.shape[1:], 10)
        model.set_weights(stored.variant_weights(i))
        logp = log_softmax(model.predict(test.x, verbose=0), axis=-1)
        np.testing.assert_allclose(logp, stored.logp["test"][i], atol=2e-2)


def test_a_strategy_with_a_variant_that_cannot_reach_the_target_is_flagged(tmp_path):
    """End to end: a target between the variants' best accuracies (read from a first run's
    history), one epoch and no extension: one variant stays short, strategies.csv and
    report.md say so in words."""
    from image_experiments.storage import read_unit

    args = ["sweep", "digits", "--smoke", "--regime", "lr", "--strategies", "1e-3",
            "--no-pseudo-max", "--epochs-max", "1", "--epochs-cap", "1", "--no-progress"]
    first = imgctl(*args, "--target-accuracy", "0.999", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    unit = read_unit(next((tmp_path / "a" / "units").glob("*.npz")))
    best = np.sort(unit.history_accuracy.max(axis=0))
    assert best[0] < best[-1], best
    target = round(float(best[-1] + best[0]) / 2, 4)  # the best variant reaches it, one not
    out = tmp_path / "b"
    result = imgctl(*args, "--target-accuracy", str(target), "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "strategies.csv", keep_default_na=False)
    counted = frame[frame.metric == "variants_checkpointed"].iloc[0]
    assert 1 <= counted.value < 3
    assert counted.note.startswith(f"short of K: only {int(counted.value)} of 3 variants "
                                   f"reached the target accuracy {target:g} within epochs_cap 1")
    assert json.loads(str(np.load(next((out / "units").glob("*.npz")))["meta"]))[
        "epochs_cap"] == 1
    report = imgctl("report", str(out), "--pgd-points", "8", "--pgd-steps", "1",
                    "--no-progress")
    assert report.exit_code == 0, report.output
    text = (out / "report" / "report.md").read_text()
    assert "short of K" in text
