"""Figures are pure functions of tidy frames; the CLI writes PNG and PDF."""
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from frames import label_frame, results_frame

from irrepro.errors import UserError
from simulator import plots
from simulator.cli import main
from simulator.summary import final_means


@pytest.mark.parametrize("columns, labels", [
    (dict(model=["1", "2", "1", "2", "linear"], activation=["identity", "relu", "relu",
                                                          "relu", "identity"],
          init=["diff", "same", "same", "diff", "same"]),
     ["identity 1 diff", "ReLU 2", "ReLU 1", "ReLU 2 diff", "linear"]),
    (dict(activation=["smelu", "swish"], beta=[0.5, 2.0]), ["SmeLU beta=0.5", "Swish beta=2"]),
    (dict(optimizer=["sgd", "adagrad"], lr=[0.01, 0.1]), ["ReLU SGD lr=0.01",
                                                         "ReLU AdaGrad lr=0.1"]),
    (dict(init=["same", "warm"]), ["ReLU", "ReLU TL"]),
    (dict(model=["16-8-4-2", "wide"]), ["ReLU [16,8,4,2]", "ReLU wide"]),
    (dict(mitigation=[np.nan, "ensemble", "codistill"], members=[np.nan, 4, 2],
          mitigation_weight=[np.nan, np.nan, 0.5], temperature=[np.nan, np.nan, 2.0],
          equal_flops=[np.nan, True, np.nan]),
     ["ReLU", "ReLU ensemble x4 eq. FLOPs", "ReLU codistill x2 w=0.5 T=2"]),
])
def test_curves_are_labelled_as_in_the_paper(columns, labels):
    means = final_means(label_frame(**columns))
    assert sorted(means["curve"]) == sorted(labels)
    legend = plots.pd_figure(label_frame(**columns)).axes[0].get_legend()
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted(labels)


def test_distinct_init_curves_are_dashed_in_their_twins_colour_with_error_bands():
    fig = plots.pd_figure(results_frame())
    top, bottom = fig.axes
    lines = {line.get_label(): line for line in top.lines}
    assert lines["ReLU"].get_linestyle() == "-" and lines["ReLU diff"].get_linestyle() == "--"
    assert lines["ReLU"].get_color() == lines["ReLU diff"].get_color()
    assert len(top.collections) == 2  # one standard-error band per curve
    assert len(bottom.containers) == 2  # error bars per curve
    band = top.collections[1].get_paths()[0].vertices[:, 1]
    assert band.max() > max(lines["ReLU diff"].get_ydata())  # the band reaches above the mean


def test_window_labels_of_the_bottom_panel_do_not_overlap():
    rows = []  # eight curves whose points nearly coincide: labels must make room
    for curve in range(8):
        for window in (1, 2, 4, 8):
            for pair in (0, 1):
                for metric, value in (("relative_pd", 0.1 * (1 + 0.01 * curve + 0.001 * window)),
                                      ("excess_loss", 0.01 * (1 + 0.002 * window))):
                    rows.append(dict(data="linear", model="2", activation="relu",
                                     beta=np.nan, init="same", lr=0.1 + curve, window=window,
                                     seed=0, examples=1024, pair=pair, examples_seen=1024,
                                     metric=metric, value=value))
    fig = plots.pd_figure(pd.DataFrame(rows))
    bottom = fig.axes[1]
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in bottom.texts]
    assert boxes
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


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


def test_the_remedies_figure_has_pd_against_loss_and_compute_per_model():
    rows = []
    for model in ("16-8-4-2", "wide"):
        for mitigation, members in ((np.nan, np.nan), ("ensemble", 4)):
            for window in (1, 32):
                for metric, value in (("relative_pd", 0.1), ("excess_loss", 0.01)):
                    rows.append(dict(data="linear", model=model, activation="relu",
                                     beta=np.nan, init="diff", window=window, seed=0,
                                     pairs=2, examples=1024, eval_examples=512, pair=0,
                                     examples_seen=1024, metric=metric, value=value,
                                     mitigation=mitigation, members=members,
                                     equal_flops=False if members == 4 else np.nan))
    from simulator.remedy_plots import remedy_figure

    fig = remedy_figure(pd.DataFrame(rows))
    assert len(fig.axes) == 4
    compute = sorted({float(x) for c in fig.axes[1].containers for x in c.lines[0].get_xdata()})
    assert compute == [1024.0, 4096.0]  # a plain member, and 4 components
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sorted(labels) == ["ReLU [16,8,4,2]", "ReLU [16,8,4,2] ensemble x4"]
