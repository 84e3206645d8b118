"""CIFAR10-Skewed (Wang et al., 2020; Ganesh, 2023, appendix A) from the CIFAR-10 python
batches the project already reads (``imgctl data fetch cifar9`` fetches them).

The first five classes (airplane, automobile, bird, cat, deer) are the colour majority: of
the n_c images of such a class exactly round(0.05 n_c) are turned grey, the others left as
they are. The last five (dog, frog, horse, ship, truck) are the grey majority: exactly
round(0.05 n_c) stay in colour and the rest turn grey. The test set is skewed the same way
(its own draw). Which images turn grey is a seeded draw per class (roles 121 train, 122
test); random subsets (``train_subset`` / ``test_subset``, roles 123 / 124) are taken before.

Grey images are the ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, repeated in the three
channels (so one network sees both kinds). Evaluation sets and groups:

  test                 the skewed test set
  ood cifar10_gs       CIFAR10-GS: every test image grey (Ganesh's OOD set, A.4)
  ood cifar10_colour   every test image in colour (the unforeseen OOD set chosen here)
  group gs_minority    grey test images of the colour-majority classes (Ganesh's A.3)
  group colour_minority  colour test images of the grey-majority classes (unforeseen)

Any number of images per batch file is accepted (tests and the synthetic stand-in write
small ones).
"""
import dataclasses

import numpy as np

from image_experiments.locations import locate, search_roots
from image_experiments.readers import cifar_batch, cifar_names
from image_experiments.registry import spec_of
from image_experiments.transforms import to_float
from irrepro.streams import Role, rng_for

COLOUR_MAJORITY = (0, 1, 2, 3, 4)
MINORITY_SHARE = 0.05
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")


def load_cifar10(data_dir=None):
    """CIFAR-10's five training batches and test batch, all ten classes, from the first
    search root holding them: (x_train uint8 [n, 32, 32, 3], y_train, x_test, y_test,
    class names)."""
    files = locate(spec_of("cifar9"), search_roots(data_dir))
    names = files.parse("batches.meta", cifar_names)
    train = [files.parse(f"data_batch_{i}", cifar_batch) for i in range(1, 6)]
    x_test, y_test = files.parse("test_batch", cifar_batch)
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            x_test, y_test, names)


def grey(x):
    """Grey versions of float images [n, H, W, 3]: the luma in all three channels."""
    luma = np.tensordot(np.asarray(x, np.float32), LUMA, axes=([-1], [0]))
    return np.repeat(luma[..., None], 3, axis=-1).astype(np.float32)


def grey_mask(labels, seed, role, classes=10):
    """Which images turn grey: bool [n]. In a colour-majority class exactly
    round(0.05 n_c) of its n_c images, in a grey-majority class all but round(0.05 n_c);
    which ones is a seeded permutation per class."""
    labels = np.asarray(labels)
    mask = np.zeros(len(labels), bool)
    for c in range(classes):
        members = np.flatnonzero(labels == c)
        minority = int(np.floor(MINORITY_SHARE * len(members) + 0.5))
        chosen = rng_for(seed, role, c).permutation(members)
        if c in COLOUR_MAJORITY:
            mask[chosen[:minority]] = True
        else:
            mask[chosen[minority:]] = True
    return mask


@dataclasses.dataclass(frozen=True, eq=False)
class SkewedData:
    """CIFAR10-Skewed ready to train on: float32 images in [0, 1], the grey masks, the
    evaluation sets {name: x} (labels y_test for all) and the groups {name: bool [N]}."""

    x_train: np.ndarray
    y_train: np.ndarray
    grey_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    grey_test: np.ndarray
    ood: dict
    groups: dict
    class_names: tuple


def _subset(n, size, seed, role):
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng_for(seed, role).permutation(n)[:size])


def skew(x_train, y_train, x_test, y_test, seed, train_subset=None, test_subset=None,
         class_names=CIFAR10_NAMES):
    """CIFAR10-Skewed from CIFAR-10 arrays (uint8 images [n, 32, 32, 3], int labels)."""
    train = _subset(len(y_train), train_subset, seed, Role.STUDY_TRAIN_SUBSET)
    test = _subset(len(y_test), test_subset, seed, Role.STUDY_TEST_SUBSET)
    xtr, ytr = to_float(np.asarray(x_train)[train]), np.asarray(y_train)[train]
    xte, yte = to_float(np.asarray(x_test)[test]), np.asarray(y_test)[test]
    gtr, gte = grey_mask(ytr, seed, Role.GREY_TRAIN), grey_mask(yte, seed, Role.GREY_TEST)
    all_grey = grey(xte)
    xtr = np.where(gtr[:, None, None, None], grey(xtr), xtr)
    skewed_test = np.where(gte[:, None, None, None], all_grey, xte)
    colour_class = np.isin(yte, COLOUR_MAJORITY)
    return SkewedData(xtr, ytr, gtr, skewed_test, yte, gte,
                      {"cifar10_gs": all_grey, "cifar10_colour": xte},
                      {"gs_minority": gte & colour_class,
                       "colour_minority": ~gte & ~colour_class}, tuple(class_names))


def load_skewed(data_dir, seed, train_subset=None, test_subset=None):
    """:func:`skew` of the CIFAR-10 files found from ``data_dir``."""
    x_train, y_train, x_test, y_test, names = load_cifar10(data_dir)
    return skew(x_train, y_train, x_test, y_test, seed, train_subset, test_subset, names)
