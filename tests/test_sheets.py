"""Multiplicity sheets, accuracy under intervention and model selection (Ganesh, 2023),
against direct computations on hand-made values."""
import numpy as np
import pandas as pd
from frames import sheet_values

from image_experiments import sheets


def test_a_sheet_has_delta_max_per_row_per_column_and_over_everything():
    wide = sheets.sheet(sheet_values(), {"lr": [1e-3, 1e-4], "batch": [64]})
    lr = wide[wide.regime == "lr"].set_index("row")
    assert list(lr.index) == ["0.001", "0.0001", "delta_max"]
    assert np.isclose(lr.loc["0.001", "variant_0"], 90)
    assert np.isclose(lr.loc["0.001", "delta_max"], 10)  # 90 - 80, across seeds
    assert np.isclose(lr.loc["0.0001", "delta_max"], 5)  # the missing seed is left out
    assert np.allclose(lr.loc["delta_max", ["variant_0", "variant_1"]], [20, 5])
    assert np.isclose(lr.loc["delta_max", "variant_2"], 0)  # one value: no spread
    everything = wide[wide.regime == "all"].iloc[0]
    assert everything.row == "delta_max_all" and np.isclose(everything.delta_max, 95 - 60)
    summary = sheets.sheet_summary(wide).set_index("regime")
    assert np.isclose(summary.loc["lr", "delta_max_all"], 20)
    assert np.isclose(summary.loc["batch", "max_delta_seeds"], 35)
    assert np.isclose(summary.loc["lr", "max_delta_strategies"], 20)
    assert np.isclose(summary.loc["all", "delta_max_all"], 35)


def test_class_and_worst_class_accuracy_count_each_class_alone():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([[0, 1, 1, 1, 0, 2], [0, 0, 0, 0, 0, 0]])
    probs = np.eye(3)[predicted]
    by_class = sheets.class_accuracy(probs, labels, 4)
    assert np.allclose(by_class[:, :3], [[0.5, 2 / 3, 1.0], [1.0, 0.0, 0.0]])
    assert np.isnan(by_class[:, 3]).all()  # no input of class 3
    assert np.allclose(sheets.worst_class_accuracy(probs, labels, 4), [0.5, 0.0])


def test_exponential_output_noise_matches_the_two_class_closed_form():
    # p = (0.3, 0.7) with true class 1: correct unless e0 - e1 > 0.4, and e0 - e1 of two
    # lambda * Exp(1) draws (Ganesh's reading: mean lambda) is Laplace(lambda):
    # P(correct) = 1 - exp(-0.4 / lambda) / 2.
    n, rate = 200_000, 0.5
    probs = np.tile([0.3, 0.7], (1, n, 1))
    found = sheets.noise_accuracy(probs, np.ones(n, int), rate, seed=3)[0]
    assert abs(found - (1 - np.exp(-0.4 / rate) / 2)) < 4 * np.sqrt(0.25 / n)
    again = sheets.noise_accuracy(probs[:, :1000], np.ones(1000, int), rate, seed=3)
    assert again[0] == sheets.noise_accuracy(probs[:, :1000], np.ones(1000, int), rate, 3)[0]
    # a tiny rate parameter is no noise: plain accuracy
    assert sheets.noise_accuracy(probs, np.zeros(n, int), 1e-9, seed=3)[0] == 0.0


def test_top_percent_keeps_models_in_the_top_of_every_metric_and_ties_share_ranks():
    values = pd.DataFrame({"a": [0.9, 0.8, 0.8, 0.1], "b": [0.1, 0.9, 0.8, 0.7],
                           "c": [0.5, 0.6, 0.7, 0.8]})
    # top 50% of 4 models = rank <= 2; in 'a' models 1 and 2 tie for rank 2
    assert list(sheets.top_percent(values[["a", "b"]], 50)) == [False, True, True, False]
    assert sheets.top_percent(values[["a"]], 100).all()
    table = sheets.selection(values, ["a", "b"], [50]).set_index(["top_percent",
                                                                  "intervention"])
    assert np.isclose(table.loc[(100, "c"), "spread"], 30)
    assert np.isclose(table.loc[(50, "c"), "spread"], 10) and table.loc[(50, "c"),
                                                                         "models_kept"] == 2
