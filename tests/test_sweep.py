"""Sweeps: grid expansion, overrides, resumable shards, dry runs and config errors."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from irrepro.errors import UserError
from irrepro.units import run_unit
from simulator.cli import main
from simulator.sweep import expand, read_config, units_for

CONFIG = """
# a test sweep
name: mini
base: {data: linear, pairs: 2, examples: 2^10, eval_examples: 2^9, checkpoints: 1}
grid:
  - model: linear
    activation: identity
    init: [same, diff]
  - model: [single]
    activation: [relu, smelu]
    window: [1, 2^3]
smoke: {examples: 2^8}
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(CONFIG)
    return path


def test_the_grid_is_the_union_of_each_blocks_product(config_file):
    settings = expand(read_config(config_file))
    assert len(settings) == 2 + 4
    assert {(s.model, s.init) for s in settings[:2]} == {("linear", "same"), ("linear", "diff")}
    assert {(s.activation, s.window) for s in settings[2:]} == {
        ("relu", 1), ("relu", 8), ("smelu", 1), ("smelu", 8)}


def test_smoke_and_overrides_apply_to_every_setting_and_flags_win(config_file):
    config = read_config(config_file)
    assert {s.examples for s in expand(config, smoke=True)} == {2 ** 8}
    assert {s.examples for s in expand(config, {"examples": 2 ** 9}, smoke=True)} == {2 ** 9}
    assert {s.lr for s in expand(config, {"lr": 0.01})} == {0.01}


def test_unknown_parameters_are_named(config_file):
    with pytest.raises(UserError, match="unknown parameter.*learning_rate"):
        expand(read_config(config_file), {"learning_rate": 1})


def test_a_config_with_unknown_top_level_keys_is_refused_and_an_image_config_named(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: x\nbas: {pairs: 2}\n")
    with pytest.raises(UserError, match="unknown key.*bas .*line 2.*holds base, grid"):
        read_config(typo)
    image = tmp_path / "img.yaml"
    image.write_text("dataset: mnist\nvariants: 2\n")
    result = CliRunner().invoke(main, ["sweep", str(image), "--dry-run"])
    assert result.exit_code == 2
    assert "image sweep config: run imgctl sweep" in result.output
    assert "Traceback" not in result.output


def test_malformed_config_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        read_config(bad)
    with pytest.raises(UserError, match="cannot read sweep config"):
        read_config(tmp_path / "missing.yaml")


def test_a_sweep_writes_one_shard_per_setting_and_resumes(tmp_path, config_file):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(config_file), "--smoke", "--out", str(out)])
    assert result.exit_code == 0, result.output
    shards = sorted((out / "shards").glob("*.csv"))
    assert len(shards) == 6 and f"wrote {out / 'mini.csv'}" in result.output
    merged = pd.read_csv(out / "mini.csv")
    assert merged["config_hash"].nunique() == 6
    # An interrupted sweep: one shard lost; the re-run redoes exactly that one, identically.
    lost = shards[3]
    before = lost.read_bytes()
    lost.unlink()
    again = CliRunner().invoke(main, ["sweep", str(config_file), "--smoke", "--out", str(out)])
    assert "ran 1 of 6 settings (5 already done)" in again.output
    assert lost.read_bytes() == before


def test_units_skip_finished_shards(tmp_path, config_file):
    unit = units_for(expand(read_config(config_file), smoke=True)[:1], tmp_path)[0]
    unit.path.parent.mkdir(parents=True)
    unit.path.write_text("finished")
    assert run_unit(unit) == unit.path and unit.path.read_text() == "finished"


def test_dry_run_lists_settings_with_estimates_and_runs_nothing(tmp_path, config_file):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(config_file), "--dry-run", "--out", str(out)])
    assert result.exit_code == 0
    assert "6 settings, 6 to run, estimated" in result.output
    assert "est_s" in result.output and "smelu" in result.output
    assert not out.exists()


def test_paper_scale_is_one_flag_and_flags_beside_it_win(tmp_path, config_file):
    def scale(*flags):
        result = CliRunner().invoke(main, ["sweep", str(config_file), "--dry-run", *flags])
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    assert scale("--paper-scale") == "scale: examples 2^26; pairs 16; eval examples 2^16"
    assert scale("--paper-scale", "--pairs", "4") == ("scale: examples 2^26; pairs 4; "
                                                      "eval examples 2^16")


def test_warm_start_gives_each_pair_its_own_warm_model(tiny):
    from simulator.engine import run_setting

    out = run_setting(tiny(model="2", init="warm", warm_examples=2 ** 10, lr=1e-6))
    # With a vanishing learning rate every model stays at its warm-start weights: both
    # members of a pair equal, the pairs' warm models different from one another and from a
    # fresh initialisation.
    fresh = run_setting(tiny(model="2", init="same", lr=1e-6))
    for w in out.weights:
        assert abs(w[0::2] - w[1::2]).max() < 1e-4
    assert any(abs(w[0] - w[2]).max() > 1e-3 for w in out.weights)
    assert not all(abs(w[0] - f[0]).max() < 1e-3 for w, f in zip(out.weights, fresh.weights))


def test_warm_models_start_equal_within_a_pair_and_differ_across_pairs(tiny):
    from irrepro.keras_activations import get_activation
    from simulator.data import DATA_MODELS
    from simulator.engine import initial_weights
    from simulator.models import parse_model

    setting = tiny(model="2", init="warm", warm_examples=2 ** 10, pairs=3)
    family = parse_model(setting.model)
    init = initial_weights(setting, family, DATA_MODELS["linear"](0), get_activation("relu"))
    for w in init:
        assert w.shape[0] == 6
        np.testing.assert_array_equal(w[0::2], w[1::2])
        assert all(abs(w[2 * a] - w[2 * b]).max() > 1e-4 for a, b in ((0, 1), (0, 2), (1, 2)))


def test_only_warm_settings_changed_hash_with_per_pair_warm_starts():
    from simulator.config import Setting

    # the hashes before the change (commit 6943d5c): same unchanged, warm changed
    assert Setting(init="same").config_hash() == "fd4e6942d534"
    assert Setting(init="warm").config_hash() != "b7a0217d4b0d"
    assert "warm_start" in Setting(init="warm").as_dict()
    assert "warm_start" not in Setting(init="diff").as_dict()


def test_a_long_sweep_says_its_estimate_before_it_starts_and_a_short_one_does_not(config_file):
    from simulator.sweep import estimate_line

    settings = expand(read_config(config_file))
    assert estimate_line(units_for(settings, "/nonexistent")) == ""
    long = expand(read_config(config_file), {"examples": "2^26", "pairs": 16})
    assert estimate_line(units_for(long, "/nonexistent")).startswith("estimated ")
