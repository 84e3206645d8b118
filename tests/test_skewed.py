"""CIFAR10-Skewed: exact colour / grey proportions per class for a seed, from CIFAR-format
files with any number of images per batch."""
import numpy as np
import pytest

from image_experiments import skewed
from image_experiments.standin import write_standin
from irrepro.streams import Role


@pytest.mark.parametrize("per_class", [20, 40, 100, 7])
def test_grey_mask_has_the_stated_proportions_per_class_exactly(per_class):
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(10), per_class))
    mask = skewed.grey_mask(labels, seed=3, role=Role.GREY_TRAIN)
    minority = int(np.floor(0.05 * per_class + 0.5))
    for c in range(10):
        grey = int(mask[labels == c].sum())
        assert grey == (minority if c < 5 else per_class - minority)
    assert np.array_equal(mask, skewed.grey_mask(labels, 3, Role.GREY_TRAIN))
    if minority:
        assert not np.array_equal(mask, skewed.grey_mask(labels, 4, Role.GREY_TRAIN))


def test_skewed_split_from_files_has_exact_proportions_groups_and_grey_images(tmp_path):
    write_standin(tmp_path, train_per_class=60, test_per_class=40, seed=1)  # 120 per batch
    data = skewed.load_skewed(tmp_path, seed=5)
    assert data.x_train.shape == (600, 32, 32, 3) and data.x_test.shape == (400, 32, 32, 3)
    for labels, mask, n in ((data.y_train, data.grey_train, 60),
                            (data.y_test, data.grey_test, 40)):
        for c in range(10):
            assert mask[labels == c].sum() == (round(0.05 * n) if c < 5 else n - round(0.05 * n))
    # grey images have equal channels, colour ones (of the stand-in) do not
    equal = np.ptp(data.x_train, axis=-1).max(axis=(1, 2)) < 1e-6
    assert np.array_equal(equal, data.grey_train)
    y = data.y_test
    gs = data.groups["gs_minority"]
    assert np.array_equal(gs, data.grey_test & (y < 5)) and gs.sum() == 5 * 2
    assert np.array_equal(data.groups["colour_minority"], ~data.grey_test & (y >= 5))
    assert np.allclose(data.ood["cifar10_gs"], skewed.grey(data.ood["cifar10_colour"]))
    assert np.allclose(data.x_test[data.grey_test], data.ood["cifar10_gs"][data.grey_test])
    assert np.allclose(data.x_test[~data.grey_test], data.ood["cifar10_colour"][~data.grey_test])
    small = skewed.load_skewed(tmp_path, seed=5, train_subset=200, test_subset=100)
    assert len(small.y_train) == 200 and len(small.y_test) == 100


def test_grey_is_the_luma_in_three_channels():
    x = np.random.default_rng(0).uniform(size=(2, 3, 3, 3)).astype(np.float32)
    g = skewed.grey(x)
    expected = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    assert np.allclose(g, expected[..., None].repeat(3, -1), atol=1e-6)
