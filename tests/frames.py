"""Small hand-made frames shared by the tests of sheets, relations, figures, readings and the
simulator's summaries and plots."""
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


def results_frame():
    """Simulator results: two curves (init same / diff) at three windows, two pairs, two
    checkpoints."""
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


def label_frame(**columns):
    """One row per curve at one window; ``columns`` maps a column to its values per curve."""
    n = len(next(iter(columns.values())))
    base = dict(data="linear", model="2", activation="relu", beta=np.nan, init="same",
                optimizer="adagrad", lr=0.1, window=1, seed=0, examples=1024, pair=0,
                examples_seen=1024)
    rows = []
    for i in range(n):
        for metric in ("relative_pd", "excess_loss"):
            rows.append({**base, **{k: v[i] for k, v in columns.items()}, "metric": metric,
                         "value": 0.1 + i})
    return pd.DataFrame(rows)
