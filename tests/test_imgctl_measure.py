"""``imgctl measure``: from an .npz file or a folder of .npy files to measures.csv and the
report, one-line errors that leave no file, and no TensorFlow."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from image_experiments import multiplicity as mm
from image_experiments.cli import main

FAST = ["--draws", "30", "--capacity-draws", "3"]


def arrays(k=6, n=200, c=3, seed=0):
    r = np.random.default_rng(seed)
    logits = 2 * r.standard_normal((1, n, c)) + 0.6 * r.standard_normal((k, n, c))
    p = np.exp(logits)
    p /= p.sum(-1, keepdims=True)
    acts = np.stack([np.maximum(r.standard_normal((n, 8)) @ r.standard_normal((8, 16)), 0)
                     for _ in range(k)])
    models = json.dumps([{"lr": lr, "seed": s} for lr in (1e-3, 1e-4) for s in range(k // 2)])
    return {"probs": p, "labels": np.argmax(logits[0], -1), "act_fc1": acts,
            "group_small": np.arange(n) < 40, "models": np.array(models)}


def run(*args):
    return CliRunner().invoke(main, ["measure", *map(str, args)])


def test_an_npz_file_gives_measures_sets_sheet_and_report(tmp_path):
    data = arrays()
    np.savez(tmp_path / "runs.npz", **data)
    result = run(tmp_path / "runs.npz", "--out", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "measures.csv", keep_default_na=False,
                        na_values=[""])
    assert list(table.columns[:7]) == ["metric", "value", "ci_low", "ci_high", "layer",
                                       "group", "model"]
    pm = table[table.metric == "pm"]
    assert len(pm[pm.group.isna()]) == 1 and set(pm.group.dropna()) == {"small"}
    assert pm[pm.group.isna()].value.iloc[0] == pytest.approx(
        mm.predictive_multiplicity(data["probs"]), rel=1e-12)
    for metric in ("ambiguity", "discrepancy", "viable_prediction_range",
                   "rashomon_capacity", "rm_fc1"):
        assert metric in set(table.metric)
    for name in ("models.csv", "sets.csv", "confabulation.csv", "sheet-accuracy.csv",
                 "sheet-accuracy.png", "report.md"):
        assert (tmp_path / "out" / name).exists(), name
    sets = pd.read_csv(tmp_path / "out" / "sets.csv")
    assert set(sets.lr) == {1e-3, 1e-4} and "rm_fc1" in set(sets.metric)
    assert "Multiplicity sheet" in (tmp_path / "out" / "report.md").read_text()


def test_a_folder_of_npy_files_gives_the_same_measures(tmp_path):
    data = arrays()
    np.savez(tmp_path / "runs.npz", **data)
    folder = tmp_path / "runs"
    folder.mkdir()
    for name, value in data.items():
        np.save(folder / f"{name}.npy", value)
    assert run(tmp_path / "runs.npz", "--out", tmp_path / "a", *FAST).exit_code == 0
    assert run(folder, "--out", tmp_path / "b", *FAST).exit_code == 0
    a, b = (pd.read_csv(tmp_path / d / "measures.csv") for d in "ab")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(labels=d["labels"][:-1]), "labels: expected one true class"),
    (lambda d: d.update(probs=np.log(d["probs"])), "probs: values must be probabilities"),
    (lambda d: d["probs"].__setitem__((0, 3, 1), np.nan), "probs: 1 NaN"),
    (lambda d: d.update(probs=d["probs"][:1], act_fc1=d["act_fc1"][:1],
                        models=np.array("[{}]")), "probs: 1 model"),
    (lambda d: d.update(group_small=np.ones(5, bool)), "group_small"),
    (lambda d: d.update(act_fc1=d["act_fc1"][:, :, :2] * np.nan), "act_fc1"),
])
def test_input_errors_are_one_line_with_exit_2_and_no_files(tmp_path, change, expected):
    data = arrays()
    change(data)
    np.savez(tmp_path / "bad.npz", **data)
    result = run(tmp_path / "bad.npz", "--out", tmp_path / "out", *FAST)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgctl: error: ") and expected in lines[0]
    assert not (tmp_path / "out").exists()


def test_help_lists_the_arrays_and_examples():
    result = CliRunner().invoke(main, ["measure", "--help"])
    assert result.exit_code == 0
    for text in ("probs", "scores", "act_<layer>", "group_<name>", "models", "Examples:",
                 "imgctl measure runs.npz --out"):
        assert text in result.output


def test_the_command_runs_without_importing_tensorflow(tmp_path):
    np.savez(tmp_path / "runs.npz", **arrays())
    code = ("import sys; from image_experiments.cli import main\n"
            "try:\n    main([" + ", ".join(repr(a) for a in [
                "measure", str(tmp_path / "runs.npz"), "--out", str(tmp_path / "out"),
                *FAST]) + "])\n"
            "except SystemExit as done:\n    assert not done.code, done.code\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
