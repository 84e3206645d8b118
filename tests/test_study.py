"""Ganesh's study (image_experiments.axes, study_report, resnet, augment): sheets and
selection against direct computations on hand-made values, a smoke sweep over the optimizer
and augmentation axes end to end, --checkpoint final on Heljakka's sweep, and one-line
errors."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from image_experiments import augment, study_report
from image_experiments.axes import load_study, read_study_unit
from image_experiments.cli import main
from image_experiments.resnet import build_resnet
from image_experiments.standin import write_standin

DEFAULTS = {"lr": 0.1, "batch": 128, "augmentation": "randaugment", "optimizer": "sgd",
            "architecture": "resnet18"}


def imgctl(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def hand_made_models():
    """Accuracies (0..1) of 3 seeds of the default and of lr=0.01, optimizer=adam."""
    values = {"default": [0.80, 0.83, 0.79], "lr=0.01": [0.70, 0.74, 0.72],
              "optimizer=adam": [0.85, 0.81, 0.90]}
    configs = {"default": DEFAULTS, "lr=0.01": {**DEFAULTS, "lr": 0.01},
               "optimizer=adam": {**DEFAULTS, "optimizer": "adam"}}
    rows = []
    for label, accuracies in values.items():
        config = configs[label]
        for seed, value in enumerate(accuracies):
            rows.append({"dataset": "cifar10_skewed", "label": label, "seed": seed, **config,
                         "intervention": "accuracy", "value": value})
            rows.append({"dataset": "cifar10_skewed", "label": label, "seed": seed, **config,
                         "intervention": "pgd_0.01", "value": 1 - value + 0.01 * seed})
    study = {"defaults": DEFAULTS, "rows": [["lr", 0.1], ["lr", 0.01], ["optimizer", "sgd"],
                                            ["optimizer", "adam"]],
             "metrics": ["accuracy"], "unforeseen": ["pgd_0.01"]}
    return pd.DataFrame(rows), study, values


def test_sheet_delta_max_values_equal_direct_computations_on_a_hand_made_sheet():
    models, study, values = hand_made_models()
    wide = study_report.study_sheet(models, study, "accuracy")
    default, lr, adam = (np.array(v) * 100 for v in values.values())
    tables = {"lr": np.stack([default, lr]), "optimizer": np.stack([default, adam])}
    assert list(dict.fromkeys(wide["regime"])) == ["lr", "optimizer", "all"]
    for axis, grid in tables.items():
        block = wide[wide["regime"] == axis]
        rows = block[block["row"] != "delta_max"]
        assert np.allclose(rows[["variant_0", "variant_1", "variant_2"]], grid)
        assert np.allclose(rows["delta_max"], grid.max(1) - grid.min(1))  # across seeds
        across = block[block["row"] == "delta_max"][["variant_0", "variant_1", "variant_2"]]
        assert np.allclose(across.to_numpy()[0], grid.max(0) - grid.min(0))  # across values
    every = np.concatenate([default, lr, adam])
    total = wide.loc[wide["row"] == "delta_max_all", "delta_max"].iloc[0]
    assert total == pytest.approx(every.max() - every.min())  # 90 - 70 = 20 pp
    assert list(wide.loc[wide["regime"] == "optimizer", "row"]) == ["sgd", "adam", "delta_max"]


def test_selection_ranks_every_model_across_all_training_configurations():
    models, study, values = hand_made_models()
    chosen = study_report.selection(models, study, (50.0,), [])
    accuracy = np.concatenate([np.array(v) for v in values.values()])
    kept = accuracy >= np.sort(accuracy)[::-1][int(np.ceil(0.5 * 9)) - 1]  # top 5 of all 9
    pgd = (1 - accuracy + 0.01 * np.tile(np.arange(3), 3)) * 100
    row = chosen[(chosen["top_percent"] == 50) & (chosen["intervention"] == "pgd_0.01")].iloc[0]
    assert row["models"] == 9 and row["models_kept"] == kept.sum() == 5
    assert row["spread"] == pytest.approx(pgd[kept].max() - pgd[kept].min())
    everyone = chosen[chosen["top_percent"] == 100].iloc[0]
    assert everyone["spread"] == pytest.approx(pgd.max() - pgd.min())


def test_resnet_is_seeded_with_keras_initialisers_and_keeps_batchnorm_gamma_one():
    a = build_resnet((32, 32, 3), 10, np.random.default_rng(1), width=4)
    b = build_resnet((32, 32, 3), 10, np.random.default_rng(1), width=4)
    c = build_resnet((32, 32, 3), 10, np.random.default_rng(2), width=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    gammas = [layer.gamma.numpy() for layer in a.layers if "bn" in layer.name]
    assert len(gammas) == 1 + 8 * 2 + 3 and all((g == 1).all() for g in gammas)
    assert a(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)


def test_trivial_augment_is_seeded_in_range_and_its_translation_moves_pixels():
    x = np.random.default_rng(0).uniform(size=(16, 32, 32, 3)).astype(np.float32)
    one, two = augment.Augmenter("trivialaugment", x.shape[1:]), augment.Augmenter(
        "trivialaugment", x.shape[1:])
    one.reseed(5), two.reseed(5)
    first = one(x)
    assert np.array_equal(first, two(x)) and first.min() >= 0 and first.max() <= 1
    assert not np.array_equal(one(x), first)  # the stream moves on
    import keras

    moved = np.asarray(keras.ops.image.affine_transform(
        x[:1], np.array([augment._affine("translate_x", 3.0, 32, 32)], np.float32),
        interpolation="nearest", fill_mode="constant", fill_value=0))[0]
    assert np.allclose(moved[:, 3:], x[0, :, :-3]) and (moved[:, :3] == 0).all()
    assert [augment.ta_magnitude("posterize", b) for b in (0, 30)] == [8, 2]
    assert augment.ta_magnitude("rotate", 30) == pytest.approx(135)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """A tiny study over the optimizer and augmentation axes, swept and reported."""
    root = tmp_path_factory.mktemp("study")
    write_standin(root / "data", train_per_class=8, test_per_class=10, seed=0)
    config = root / "tiny.yaml"
    config.write_text(json.dumps({
        "study": "ganesh", "dataset": "cifar10_skewed", "defaults": {**DEFAULTS, "batch": 32},
        "axes": {"optimizer": ["sgd", "adam"], "augmentation": ["randaugment",
                                                               "trivialaugment"]},
        "seeds": 2, "epochs": 1, "width": 2, "pgd_points": 16, "pgd_steps": 2,
        "paper": {"accuracy": 1.63}}))
    sweep = imgctl("sweep", config, "--data-dir", root / "data", "--out", root / "out",
                   "--no-progress")
    report = imgctl("report", root / "out")
    return root, sweep, report


def test_a_smoke_sweep_over_optimizer_and_augmentation_writes_one_table_per_axis(smoke):
    root, sweep, report = smoke
    assert sweep.exit_code == 0, sweep.output
    assert "trained 6 of 6 models" in sweep.output  # default + adam + trivialaugment, x 2
    assert report.exit_code == 0, report.output
    out = root / "out" / "report"
    metrics = ["accuracy", "group_gs_minority", "ood_cifar10_gs", "noise_5", "pgd_0.005",
               "group_colour_minority", "ood_cifar10_colour", "input_noise_1", "pgd_0.01"]
    for metric in metrics:
        for suffix in ("csv", "png", "pdf"):
            assert (out / f"sheet-cifar10_skewed-{metric}.{suffix}").exists(), metric
        wide = pd.read_csv(out / f"sheet-cifar10_skewed-{metric}.csv")
        assert list(dict.fromkeys(wide["regime"])) == ["optimizer", "augmentation", "all"]
        assert [c for c in wide.columns if c.startswith("variant_")] == ["variant_0",
                                                                         "variant_1"]
        assert list(wide["row"]) == ["sgd", "adam", "delta_max", "randaugment",
                                     "trivialaugment", "delta_max", "delta_max_all"]
    assert "Δmax^all accuracy:" in report.output and "(Ganesh: 1.63)" in report.output
    selection = pd.read_csv(out / "selection-cifar10_skewed.csv")
    assert set(selection["top_percent"]) == {100, 75, 50}
    assert set(selection["models"]) == {6}
    assert (out / "report.md").read_text().count("| accuracy |") == 1


def test_the_study_units_are_deterministic_and_skipped_when_done(smoke):
    root, _, _ = smoke
    units = sorted((root / "out" / "units").glob("*.npz"))
    _, before = read_study_unit(units[0])
    units[0].unlink()
    again = imgctl("sweep", root / "tiny.yaml", "--data-dir", root / "data", "--out",
                   root / "out", "--no-progress")
    assert again.exit_code == 0 and "trained 1 of 6 models (5 already done)" in again.output
    meta, after = read_study_unit(units[0])
    assert meta["checkpoint"] == "final" and meta["epochs"] == 1
    for name, value in before.items():
        assert np.array_equal(value, after[name]), name
    # the group masks are the skewed test set's minorities
    assert after["group.gs_minority"].sum() == 5 and after["group.colour_minority"].sum() == 5


def test_imgctl_plot_redraws_a_study_report(smoke):
    root, _, _ = smoke
    result = imgctl("plot", root / "out" / "report")
    assert result.exit_code == 0 and "sheet-cifar10_skewed-accuracy.png" in result.output


def test_the_preset_states_its_choices_and_the_papers_numbers():
    study = load_study("cifar10_skewed")
    assert study.paper == {"accuracy": 1.63, "group_gs_minority": 11.16,
                           "ood_cifar10_gs": 4.01, "noise_5": 10.28, "pgd_0.005": 4.51}
    assert study.axes == {"lr": [0.1, 0.05, 0.01], "batch": [128, 256, 640],
                          "augmentation": ["randaugment", "trivialaugment"],
                          "optimizer": ["sgd", "adam"]}
    assert (study.epochs, study.seeds, study.width, study.checkpoint) == (20, 5, 64, "final")
    assert len(study.configurations()) == 7 and study.pgd_budgets == (0.005, 0.01)
    smoke = load_study("cifar10_skewed", smoke=True)
    assert smoke.width < 64 and smoke.seeds >= 2


@pytest.mark.parametrize("args, expected", [
    (["sweep", "cifar10_skewed", "--regime", "lr"], "--regime"),
    (["sweep", "cifar10_skewed", "--checkpoint", "target"], "--checkpoint final"),
    (["sweep", "cifar10_skewed", "--epochs-max", "1.5"], "whole epochs"),
    (["sweep", "{bad}"], "unknown optimizer"),
])
def test_bad_study_input_is_one_line_and_exit_2(tmp_path, args, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"study": "ganesh", "dataset": "cifar10_skewed",
                               "defaults": {**DEFAULTS, "optimizer": "rmsprop"},
                               "axes": {"lr": [0.1]}}))
    args = [str(bad) if a == "{bad}" else a for a in args]
    result = imgctl(*args, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert expected in result.output and len(result.output.strip().splitlines()) == 1


def test_checkpoint_final_trains_fixed_epochs_and_the_report_uses_it(tmp_path):
    out = tmp_path / "digits"
    result = imgctl("sweep", "digits", "--smoke", "--no-pseudo-max", "--checkpoint", "final",
                    "--regime", "lr", "--strategies", "3e-3", "--variants", "2",
                    "--epochs-max", "1", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert not (out / "probe").exists()  # no target to find
    from image_experiments.storage import read_unit

    unit = read_unit(next((out / "units").glob("*.npz")))
    assert set(unit.checkpoints) == {"final"} and unit.meta["checkpoint_kind"] == "final"
    steps_per_epoch = unit.meta["steps_per_epoch"]
    assert (unit.checkpoints["final"].steps == int(np.ceil(steps_per_epoch))).all()
    assert list(unit.checkpoints["final"].variants) == [0, 1]
    report = imgctl("report", out)
    assert report.exit_code == 0, report.output
    frame = pd.read_csv(out / "report" / "interventions.csv")
    assert set(frame["checkpoint"]) == {"final"}
    bad = imgctl("sweep", "digits", "--smoke", "--checkpoint", "final", "--out", out)
    assert bad.exit_code == 2 and "--pseudo-max" in bad.output  # the smoke preset asks it


def test_an_architecture_axis_and_the_cpu_scale_load(tmp_path):
    config = tmp_path / "arch.yaml"
    config.write_text(json.dumps({"study": "ganesh", "dataset": "cifar10_skewed",
                                  "defaults": DEFAULTS,
                                  "axes": {"architecture": ["resnet18", "resnet34"]}}))
    study = load_study(config)
    assert [c["architecture"] for c in study.configurations()] == ["resnet18", "resnet34"]
    assert study.rows()[1][:2] == ("architecture", "resnet34")
    cpu = load_study("cifar10_skewed", scale="cpu")
    assert (cpu.width, cpu.epochs, cpu.train_subset) == (8, 2, 2000)
    assert cpu.training_hash() != load_study("cifar10_skewed", smoke=True).training_hash()
