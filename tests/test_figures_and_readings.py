"""The report's figures drawn from small frames, and its readings stating computed values."""
import numpy as np
import pandas as pd
from frames import fig2_frame, sheet_values
from matplotlib.figure import Figure

from image_experiments import figures, readings, relations, sheets


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


def test_the_risk_equivalence_reading_flags_only_strategies_short_of_k():
    # A full strategy's note is empty; read back from a CSV it is NaN, which is no flag.
    frame = pd.DataFrame({
        "regime": ["lr"] * 4, "strategy": [1e-3, 1e-4, 1e-3, 1e-4],
        "metric": ["variants_checkpointed"] * 2 + ["accuracy_spread"] * 2,
        "value": [10, 7, 0.002, 0.003],
        "note": [np.nan, "short of K: only 7 of 10 variants reached the target", np.nan, np.nan]})
    lines = readings.protocol_reading(frame)
    short = [line for line in lines if "short of K" in line]
    assert len(short) == 1 and "lr=0.0001 (7 variants)" in short[0]
    assert "lr=0.001" not in short[0]
