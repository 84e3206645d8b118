"""Figures are pure functions of tidy frames; the CLI writes PNG and PDF."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from irrepro.errors import UserError
from simulator import plots
from simulator.cli import main


def results_frame():
    """Two curves (init same / diff) at three windows, two pairs, two checkpoints."""
    rows = []
    for init, scale in (("same", 1e-6), ("diff", 1e-3)):
        for window in (1, 32, 1024):
            for pair in (0, 1):
                for seen in (512, 1024):
                    for metric, value in (("relative_pd", scale * window ** 0.5 * (1 + pair)),
                                          ("excess_loss", 0.01 + pair * 0.001)):
                        rows.append(dict(data="linear", model="2", activation="relu",
                                         beta=np.nan, init=init, window=window, seed=0,
                                         examples=1024, pair=pair, examples_seen=seen,
                                         metric=metric, value=value))
    return pd.DataFrame(rows)


def test_final_means_average_pairs_at_the_last_checkpoint_per_curve_and_window():
    means = plots.final_means(results_frame())
    assert sorted(means["curve"].unique()) == ["init=diff", "init=same"]
    row = means[(means["curve"] == "init=diff") & (means["window"] == 32)].iloc[0]
    assert np.isclose(row["relative_pd"], 1e-3 * 32 ** 0.5 * 1.5)
    assert np.isclose(row["excess_loss"], 0.0105)


def test_pd_figure_draws_both_panels_with_window_labels():
    fig = plots.pd_figure(results_frame())
    top, bottom = fig.axes
    assert len(top.lines) == 2 and top.get_yscale() == "log"
    assert list(top.lines[0].get_xdata()) == [0, 5, 10]
    assert sorted(t.get_text() for t in bottom.texts) == sorted(["0", "5", "10"] * 2)


def test_timeseries_figure_has_a_line_per_curve_and_window():
    fig = plots.timeseries_figure(results_frame(), "relative_pd")
    assert len(fig.axes[0].lines) == 6
    with pytest.raises(UserError, match="no metric 'accuracy'"):
        plots.timeseries_figure(results_frame(), "accuracy")


def weights_frame():
    rows = [dict(pair=0, member=m, layer=layer, tensor=layer, index=i, value=v + 0.1 * m)
            for m in (0, 1) for layer, values in ((0, [1.0, -1.0, 2.0]), (1, [0.5]))
            for i, v in enumerate(values)]
    frame = pd.DataFrame(rows)
    frame.attrs.update(theta=np.array([1.0, -1.0, 2.0]), model="linear")
    return frame


@pytest.mark.parametrize("kind", ["index", "diff", "cloud"])
def test_weight_figures(kind):
    ax = plots.weights_figure(weights_frame(), kind, pair=0).axes[0]
    if kind == "diff":
        np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.1] * 4)
    if kind == "cloud":
        assert len(ax.lines) == 3  # two layers and the diagonal
    if kind == "index":
        assert len(ax.lines) == 3  # two members and theta
    with pytest.raises(UserError, match="no pair 5"):
        plots.weights_figure(weights_frame(), kind, pair=5)


def test_plot_commands_write_png_and_pdf_from_a_run(tmp_path):
    csv = tmp_path / "r.csv"
    runner = CliRunner()
    run = runner.invoke(main, ["run", "--model", "double", "--pairs", "2", "--examples", "2^10",
                               "--eval-examples", "2^9", "--checkpoints", "1",
                               "--save-weights", "--out", str(csv)])
    assert run.exit_code == 0, run.output
    assert runner.invoke(main, ["plot", str(csv)]).exit_code == 0
    assert (tmp_path / "r.png").stat().st_size > 0 and (tmp_path / "r.pdf").exists()
    done = runner.invoke(main, ["plot-weights", str(tmp_path / "r.weights.npz"),
                                "--kind", "cloud"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "r.weights-cloud-pair0.png").exists()


def test_unreadable_results_are_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["plot", str(bad)])
    assert result.exit_code == 2 and result.output.startswith("simctl: error: results lack")
