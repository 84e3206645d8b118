"""Table 1 and Hypothesis 1 (Heljakka et al., 2023): Pearson r, Delta SVCCA and the estimation
errors against SciPy and direct computations."""
import warnings

import numpy as np
import scipy.stats
from frames import fig2_frame

from image_experiments import relations


def test_pearson_matches_scipy_and_is_nan_without_spread():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=7), rng.normal(size=7)
    assert np.isclose(relations.pearson(x, y), scipy.stats.pearsonr(x, y)[0])
    assert np.isclose(relations.pearson([1, 2, np.nan, 4], [2, 4, 5, 8]), 1.0)
    assert np.isnan(relations.pearson([1, 1, 1], [1, 2, 3]))
    assert np.isnan(relations.pearson([1], [2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning reaches a report's output
        assert np.isnan(relations.pearson([np.nan, np.nan], [1, 2]))





def test_table1_correlates_svcca_with_pm_across_strategies_per_set():
    frame = fig2_frame()
    table = relations.table1(frame)
    row = table[(table.regime == "lr") & (table.layer == "fc1")
                & (table.ood_set == "rot0-20")].iloc[0]
    svcca, pm = [0.8, 0.85, 0.9], [0.05, 0.05 - 0.01 + 0.002, 0.05 - 0.02 + 0.008]
    assert np.isclose(row.pearson, np.corrcoef(svcca, pm)[0, 1])
    assert np.isclose(row.delta_svcca, 0.1) and row.strategies == 3
    cnn = table[table.layer == "cnn"]
    assert cnn.pearson.isna().all()  # constant SVCCA: no correlation to speak of
    wide = relations.table1_wide(table)
    assert list(wide.columns) == ["set", "lr fc1", "batch fc1", "lr cnn", "batch cnn"]
    assert list(wide.set) == ["test", "xflip", "rot0-20", "rot90-110", "Δ SVCCA"]


def test_hypothesis1_errors_are_mean_absolute_differences_of_min_max_scaled_measures():
    pm_full = np.array([1.0, 2.0, 4.0, 5.0])       # scaled 0, .25, .75, 1
    rm = np.array([-0.9, -0.8, -0.6, -0.5])         # scaled 0, .25, .75, 1: exact
    pm_subset = np.array([3.0, 1.0, 2.0, 1.0])      # scaled 1, 0, .5, 0
    e_rm, e_pm = relations.estimation_errors(rm, pm_subset, pm_full)
    assert np.isclose(e_rm, 0.0)
    assert np.isclose(e_pm, (1 + 0.25 + 0.25 + 1) / 4)
    assert np.allclose(relations.min_max([2, 4, 3]), [0, 1, 0.5])
    assert np.isnan(relations.min_max([2, 2])).all()
    assert all(np.isnan(relations.estimation_errors([1], [1], [1])))
    assert list(relations.lowest_pm_subset(np.array([0.3, 0.1, 0.2, 0.1]), 2)) == [1, 3]
