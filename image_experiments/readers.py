"""Readers of the image data sets' files: bytes in, an :class:`ImageDataset` out.

Each ``_read_<name>`` takes the :class:`~image_experiments.locations.FileSet` of its files
(parsing each through ``FileSet.parse``, so a damaged file is named in its error) and returns
uint8 images [n, h, w, c] and int64 labels; the helpers select and relabel classes (CIFAR-9,
STL-9) and area-average images (STL-10's 96x96 to CIFAR's 32x32).
"""
from dataclasses import dataclass
from functools import partial

import numpy as np

from image_experiments.formats import (
    FormatError,
    read_column_major_images,
    read_idx,
    read_mat,
    read_npz,
    read_pickle,
)
from irrepro.errors import UserError

DIGIT_NAMES = tuple(str(digit) for digit in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")
CIFAR9_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "horse", "ship",
                "truck")
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """One data set in memory.

    x_train, x_test: uint8 [n, height, width, channels]; y_train, y_test: int64 [n], indices
    into ``class_names``; source: where it was read from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    source: str


def dataset(files, x_train, y_train, x_test, y_test, class_names):
    """An :class:`ImageDataset` of the data set ``files`` holds: a channel axis added to
    [n, h, w] images, uint8 pixels, int64 labels; inconsistent splits raise FormatError."""
    splits = [_split(x, y, len(class_names), split)
              for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test"))]
    return ImageDataset(files.spec.name, *splits[0], *splits[1], tuple(class_names),
                        files.where)


def _split(images, labels, classes, split):
    """(uint8 [n, h, w, c], int64 [n]) from images [n, h, w(, c)] and labels [n]."""
    images, labels = np.asarray(images), np.asarray(labels).astype(np.int64)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise FormatError(f"{split} images {images.shape} do not match labels {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise FormatError(f"{split} labels outside 0..{classes - 1}")
    return np.ascontiguousarray(images, np.uint8), labels


def class_map(names, keep, aliases=None):
    """The index in ``keep`` of each class in ``names`` (renamed by ``aliases`` first), -1
    for a class not kept: int64 [len(names)]. Every class of ``keep`` must occur."""
    renamed = [(aliases or {}).get(name, name) for name in names]
    absent = [name for name in keep if name not in renamed]
    if absent:
        raise FormatError(f"no class {', '.join(absent)} among {', '.join(names)}")
    return np.array([keep.index(name) if name in keep else -1 for name in renamed], np.int64)


def select_classes(images, labels, mapping):
    """The examples whose class ``mapping`` (from :func:`class_map`) keeps, relabelled:
    (images [m, ...], int64 labels [m])."""
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise FormatError(f"{len(images)} images but {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= len(mapping)):
        raise FormatError(f"labels outside 0..{len(mapping) - 1}")
    relabelled = mapping[labels]
    kept = relabelled >= 0
    return images[kept], relabelled[kept]


def downsample(images, size):
    """Images uint8 [n, s, s, c] area-averaged to [n, size, size, c], rounded to nearest;
    ``s`` must be a multiple of ``size`` (STL's 96 -> 32 averages 3x3 blocks)."""
    n, height, width, channels = images.shape
    if size < 1 or height != width or height % size:
        raise UserError(f"cannot resize {height}x{width} images to {size}x{size}: area "
                        f"averaging needs square images and a size that divides {height}")
    factor = height // size
    blocks = images.reshape(n, size, factor, size, factor, channels)
    sums = blocks.sum(axis=(2, 4), dtype=np.uint32)
    return ((sums + factor * factor // 2) // (factor * factor)).astype(np.uint8)


def read_mnist(files):
    arrays = files.parse("mnist.npz", partial(read_npz, keys=MNIST_KEYS))
    return dataset(files, *(arrays[key] for key in MNIST_KEYS), DIGIT_NAMES)


def read_fashion_mnist(files):
    # spec order: train images, train labels, test images, test labels
    return dataset(files, *(files.parse(name, read_idx) for name in files.spec.files),
                         FASHION_NAMES)


def cifar_batch(data):
    """Images uint8 [n, 32, 32, 3] and labels int64 [n] of one CIFAR-10 python batch
    (rows of 3072 bytes: the red, green and blue 32x32 planes, row-major)."""
    batch = read_pickle(data)
    images = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(batch[b"labels"], np.int64)


def cifar_names(data):
    return tuple(name.decode() for name in read_pickle(data)[b"label_names"])


def read_cifar9(files):
    names = files.parse("batches.meta", cifar_names)
    mapping = class_map(names, CIFAR9_NAMES)
    train = [files.parse(f"data_batch_{i}", cifar_batch) for i in range(1, 6)]
    x_train, y_train = (np.concatenate(parts) for parts in zip(*train))
    return dataset(files, *select_classes(x_train, y_train, mapping),
                         *select_classes(*files.parse("test_batch", cifar_batch), mapping),
                         CIFAR9_NAMES)


def _svhn_split(data):
    """Images uint8 [n, 32, 32, 3] and digits int64 [n] of one SVHN ``.mat`` file."""
    arrays = read_mat(data, ["X", "y"])
    images = arrays["X"].transpose(3, 0, 1, 2)  # stored [32, 32, 3, n]
    labels = arrays["y"].reshape(-1).astype(np.int64)
    return images, np.where(labels == 10, 0, labels)  # SVHN writes the digit 0 as 10


def read_svhn(files):
    return dataset(files, *files.parse("train_32x32.mat", _svhn_split),
                         *files.parse("test_32x32.mat", _svhn_split), DIGIT_NAMES)


def _stl_labels(data):
    return np.frombuffer(data, np.uint8).astype(np.int64) - 1  # stored 1..10


def _text_lines(data):
    return tuple(line.strip() for line in data.decode().splitlines() if line.strip())


def read_stl9(files):
    names = files.parse("class_names.txt", _text_lines)
    # CIFAR-9's order, so that one label index means one class in both data sets
    mapping = class_map(names, CIFAR9_NAMES, aliases={"car": "automobile"})
    splits = [select_classes(files.parse(f"{split}_X.bin", partial(read_column_major_images,
                                                                   size=96)),
                             files.parse(f"{split}_y.bin", _stl_labels), mapping)
              for split in ("train", "test")]
    return dataset(files, *splits[0], *splits[1], CIFAR9_NAMES)


def read_digits(files):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255 / 16))  # stored as grey levels 0..16
    n_train = int(0.8 * len(images))  # deterministic split: the last 20% are the test set
    return dataset(files, images[:n_train], bunch.target[:n_train], images[n_train:],
                         bunch.target[n_train:], DIGIT_NAMES)


