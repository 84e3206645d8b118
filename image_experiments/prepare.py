"""A data set made ready for an image sweep's units: the random subsets, the float images,
the OOD sets, cached per process so that every unit of a sweep shares them."""
import dataclasses
import functools

import numpy as np

from image_experiments.datasets import load_dataset
from image_experiments.training import TrainData
from image_experiments.transforms import OODSet, ood_sets, training_images
from irrepro.streams import Role, rng_for


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """A data set ready for a unit: training data, the evaluation sets ('test' first, then
    the OOD sets) and notes on OOD sets skipped."""

    train: TrainData
    sets: list
    notes: tuple


@functools.lru_cache(maxsize=2)
def prepare(dataset, data_dir, train_subset, test_subset, seed, jitter="torchvision"):
    """Load ``dataset`` at its training shape (``transforms.training_images``: SVHN grey
    28x28) and build its OOD sets (cached per process: every unit of a sweep uses the same).
    Subsets are random, keyed on ``seed``; the OOD sets transform the test subset (colour
    jitter read as ``jitter``), and a larger cross-data set is cut to the test subset's
    size."""
    data = load_dataset(dataset, data_dir)
    train = _subset(len(data.x_train), train_subset, seed, Role.TRAIN_SUBSET)
    test = _subset(len(data.x_test), test_subset, seed, Role.TEST_SUBSET)
    x_test, y_test = training_images(dataset, data.x_test[test]), data.y_test[test]
    others, notes = ood_sets(dataset, x_test, y_test, seed, data_dir, jitter)
    cut = []
    for ood in others:
        keep = _subset(len(ood.x), test_subset, seed, Role.TEST_SUBSET)
        cut.append(OODSet(ood.name, ood.x[keep], ood.y[keep]))
    train_data = TrainData(training_images(dataset, data.x_train[train]), data.y_train[train],
                           x_test, y_test, len(data.class_names))
    return Prepared(train_data, [OODSet("test", x_test, y_test), *cut], tuple(notes))


def _subset(n, size, seed, role):
    """Sorted indices of a random subset of ``size`` of range(n) (all of them when size is
    None or at least n)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng_for(seed, role).permutation(n)[:size])


def rm_index(n_test, points, seed):
    """The test inputs whose activations are stored for RM: a fixed random subset."""
    return _subset(n_test, points, seed, Role.RM_POINTS)
