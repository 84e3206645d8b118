"""simulator.summary: final means ± standard errors over pairs, as numbers, text and CSV."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from frames import results_frame

from irrepro.errors import UserError
from simulator.cli import main
from simulator.summary import final_means, read_results, run_summary_text, table_text


def test_final_means_average_pairs_at_the_last_checkpoint_per_curve_and_window():
    means = final_means(results_frame())
    assert sorted(means["curve"].unique()) == ["ReLU", "ReLU diff"]
    row = means[(means["curve"] == "ReLU diff") & (means["window"] == 32)].iloc[0]
    assert np.isclose(row["relative_pd"], 1e-3 * 32 ** 0.5 * 1.5)
    assert np.isclose(row["excess_loss"], 0.0105)
    assert row["relative_pd_n"] == 2


def test_final_means_give_the_standard_error_over_pairs():
    means = final_means(results_frame())
    row = means[(means["curve"] == "ReLU diff") & (means["window"] == 1)].iloc[0]
    values = [1e-3 * 1 * (1 + pair) for pair in (0, 1)]  # ReLU diff at z = 1
    assert np.isclose(row["relative_pd_sem"], np.std(values, ddof=1) / np.sqrt(2))


def test_a_metric_no_finished_run_has_is_named_with_those_it_has():
    with pytest.raises(UserError, match="no finished run with the metric.*accuracy.*"
                                        "have: excess_loss, relative_pd"):
        final_means(results_frame(), ("relative_pd", "accuracy"))


def test_the_table_gives_mean_and_se_in_a_shared_power_of_ten():
    text = table_text(final_means(results_frame()))
    lines = text.splitlines()
    assert lines[0].split() == ["curve", "log2", "z", "Delta_r", "L", "pairs"]
    # ReLU (same init) at z = 2^5: pairs 1e-6 * sqrt(32) * (1, 2)
    values = [1e-6 * 32 ** 0.5 * (1 + p) for p in (0, 1)]
    mean, se = np.mean(values), np.std(values, ddof=1) / np.sqrt(2)
    row = next(line for line in lines if line.startswith("ReLU ") and line.split()[1] == "5")
    assert f"({mean / 1e-6:.2f} ± {se / 1e-6:.2f})e-6" in row
    assert row.split()[-1] == "2"


def test_one_pair_is_flagged_in_words_and_a_missing_metric_is_not_measured():
    frame = results_frame()
    one_pair = frame[frame["pair"] == 0]
    text = table_text(final_means(one_pair))
    assert "(1 pair: no se)" in text and "nan" not in text.lower()
    extra = pd.DataFrame([{**frame.iloc[-1].to_dict(), "metric": "deviation_cosine",
                           "value": 0.5}])
    both = final_means(pd.concat([frame, extra]), ("relative_pd", "deviation_cosine"))
    assert "not measured" in table_text(both, ("relative_pd", "deviation_cosine"))


def one_run(frame):
    """The rows of one setting of ``results_frame``: ReLU diff at z = 2^5."""
    return frame[(frame["init"] == "diff") & (frame["window"] == 32)]


def test_a_run_summary_gives_each_metric_it_holds_at_the_last_checkpoint_in_its_order():
    lines = run_summary_text(one_run(results_frame())).splitlines()
    assert lines[0] == "after 1,024 examples, mean over 2 pair(s):"
    values = [1e-3 * 32 ** 0.5 * (1 + p) for p in (0, 1)]  # its two pairs at 1,024 examples
    mean, se = np.mean(values), np.std(values, ddof=1) / np.sqrt(2)
    assert lines[1].split()[:2] == ["Delta_r", "(relative_pd)"]
    assert lines[1].endswith(f"({mean / 1e-3:.2f} ± {se / 1e-3:.2f})e-3")
    loss_se = np.std([0.01, 0.011], ddof=1) / np.sqrt(2)
    assert lines[2].split() == ["L", "(excess_loss)", f"{0.0105:.3g}", "±", f"{loss_se:.2g}"]


def test_a_one_pair_run_summary_says_it_has_no_standard_error():
    frame = one_run(results_frame())
    text = run_summary_text(frame[frame["pair"] == 0])
    assert "mean over 1 pair(s)" in text and "(1 pair: no se)" in text
    assert "nan" not in text.lower()


def test_simctl_table_prints_and_writes_the_csv(tmp_path):
    results = tmp_path / "r.csv"
    results_frame().to_csv(results, index=False)
    out = tmp_path / "table.csv"
    result = CliRunner().invoke(main, ["table", str(results), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ReLU diff" in result.output and f"wrote 6 rows to {out}" in result.output
    written = pd.read_csv(out)
    assert list(written.columns) == ["curve", "window", "relative_pd", "relative_pd_sem",
                                     "relative_pd_n", "excess_loss", "excess_loss_sem",
                                     "excess_loss_n"]
    assert np.allclose(written.sort_values(["curve", "window"])["relative_pd"],
                       final_means(results_frame())["relative_pd"])


def test_simctl_table_refuses_an_unknown_metric_in_one_line(tmp_path):
    results = tmp_path / "r.csv"
    results_frame().to_csv(results, index=False)
    result = CliRunner().invoke(main, ["table", str(results), "--metric", "accuracy",
                                       "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 2
    assert "accuracy" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "t.csv").exists()


def test_a_folder_stands_for_its_sweeps_shards(tmp_path):
    (tmp_path / "shards").mkdir()
    frame = results_frame()
    for init, part in frame.groupby("init"):
        part.to_csv(tmp_path / "shards" / f"{init}.csv", index=False)
    assert len(read_results([tmp_path])) == len(frame)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no result CSVs"):
        read_results([tmp_path / "empty"])
