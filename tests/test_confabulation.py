"""The most confabulated inputs: label entropy against SciPy, ties ranked by PM."""
import numpy as np
import scipy.stats

from image_experiments import confabulation


def test_label_entropy_matches_scipy_and_ranks_ties_by_pm():
    predicted = np.array([[0, 1, 2, 0], [0, 1, 2, 1], [0, 2, 1, 2], [0, 2, 1, 3]])  # [M, N]
    counts = confabulation.label_counts(predicted, 4)
    assert counts.tolist()[0] == [4, 0, 0, 0] and counts[:, :].sum(axis=1).tolist() == [4] * 4
    expected = [scipy.stats.entropy(row, base=2) for row in counts]
    assert np.allclose(confabulation.label_entropy(counts), expected)
    probs = np.eye(4)[predicted] * 0.7 + 0.075  # one-hot-ish, rows sum to 1
    probs[:, 2] = np.eye(4)[predicted[:, 2]] * 0.4 + 0.15  # input 2: same labels, less std
    index, top_counts, entropy, pm = confabulation.most_confabulated(probs, top=3)
    # inputs 1 and 2 tie at 1 bit; 1 has the larger spread of probabilities
    assert list(index) == [3, 1, 2] and np.isclose(entropy[1], entropy[2])
    assert pm[1] > pm[2]
