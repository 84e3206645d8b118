"""simctl run: the tidy CSV it writes, determinism, and one-line errors for bad input."""
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import main

TINY = ["--pairs", "2", "--examples", "2^11", "--eval-examples", "2^10", "--checkpoints", "2"]


def simctl(*args):
    return CliRunner().invoke(main, list(args))


def test_run_writes_a_tidy_csv_and_says_where(tmp_path):
    out = tmp_path / "r.csv"
    result = simctl("run", "--activation", "smelu", "--window", "2^3", *TINY, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote 12 rows to {out}" in result.output
    assert "relative_pd" in result.output  # the summary table
    frame = pd.read_csv(out)
    for column in ["metric", "value", "data", "model", "activation", "beta", "init", "window",
                   "optimizer", "lr", "examples", "seed", "pair", "examples_seen",
                   "irrepro_version", "config_hash"]:
        assert column in frame.columns
    assert set(frame["metric"]) == {"relative_pd", "absolute_pd", "excess_loss"}
    assert set(frame["window"]) == {8} and set(frame["model"]) == {"16-8-4-2"}
    assert set(frame["pair"]) == {0, 1} and set(frame["examples_seen"]) == {1024, 2048}


def test_the_same_seed_gives_the_same_csv_bit_for_bit(tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        assert simctl("run", "--init", "diff", *TINY, "--out", str(path)).exit_code == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    other = tmp_path / "c.csv"
    assert simctl("run", "--init", "diff", *TINY, "--seed", "1", "--out", str(other)).exit_code == 0
    assert pd.read_csv(other)["value"].tolist() != pd.read_csv(paths[0])["value"].tolist()


@pytest.mark.parametrize("window", ["2^10", "1024", "2**10"])
def test_window_spellings_are_equivalent(window):
    from simulator.config import Setting

    assert Setting(window=window).window == 1024


@pytest.mark.parametrize("args, message", [
    (["--activation", "gelu"], "'gelu' is not one of"),
    (["--model", "transformer"], "unknown model 'transformer'"),
    (["--window", "2^x"], "--window must be a positive integer or a power such as 2^10"),
    (["--window", "0"], "--window must be a positive integer"),
    (["--window", "-4"], "--window must be a positive integer"),
    (["--beta", "0"], "beta must be > 0"),
    (["--beta", "-1"], "beta must be > 0"),
    (["--examples", "1000"], "must be a multiple of the mini-batch size"),
    (["--pairs", "2^30"], "use fewer --pairs"),
    (["--examples", "2^70"], "beyond what any machine could finish"),
])
def test_bad_input_is_one_clear_line_and_exit_2_with_no_csv(tmp_path, args, message):
    out = tmp_path / "r.csv"
    result = simctl("run", *TINY, *args, "--out", str(out))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simctl: error:") and message in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_unwritable_out_is_reported_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = simctl("run", *TINY, "--out", str(blocker / "r.csv"))
    assert result.exit_code == 2
    assert result.output.startswith("simctl: error: cannot write results to")


def test_the_console_script_prints_no_traceback_for_user_errors():
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--window", "2^x"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "simctl: error: " in done.stderr


def test_help_shows_examples():
    result = simctl("run", "--help")
    assert result.exit_code == 0
    assert "simctl run --activation smelu --window 2^10" in result.output
