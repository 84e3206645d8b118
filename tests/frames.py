"""Small hand-made frames shared by the tests of sheets, relations, figures and readings."""
import numpy as np
import pandas as pd


def sheet_values():
    """2 regimes: lr with strategies 1e-3, 1e-4 and batch with 64; variants 0..2."""
    rows = [("lr", 1e-3, 0, 0.90), ("lr", 1e-3, 1, 0.80), ("lr", 1e-3, 2, 0.85),
            ("lr", 1e-4, 0, 0.70), ("lr", 1e-4, 1, 0.75), ("lr", 1e-4, 2, np.nan),
            ("batch", 64, 0, 0.60), ("batch", 64, 1, 0.95), ("batch", 64, 2, 0.65)]
    return pd.DataFrame(rows, columns=["regime", "strategy", "variant", "value"])


def fig2_frame():
    """Fig. 2's rows of one data set: lr with 3 strategies, batch with 2."""
    rows = []
    for regime, strategies in (("lr", [3e-3, 1e-3, 1e-4]), ("batch", [16, 64])):
        for i, strategy in enumerate(strategies):
            for metric, value in (("svcca_fc1", 0.8 + 0.05 * i), ("svcca_cnn", 0.9)):
                rows.append(("mnist", regime, strategy, "test", metric, value))
            for k, ood_set in enumerate(["test", "xflip", "rot0-20", "rot90-110"]):
                rows.append(("mnist", regime, strategy, ood_set, "pm",
                             0.05 - 0.01 * i + 0.001 * k * i * i))
    return pd.DataFrame(rows, columns=["dataset", "regime", "strategy", "ood_set", "metric",
                                       "value"])
