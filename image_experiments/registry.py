"""Offline-first loaders of the experiments' image data sets, and their explicit download.

=============  =====================================================  ===============
name           contents                                               images
=============  =====================================================  ===============
mnist          MNIST, Keras ``mnist.npz``                             28x28x1, 10
fashion_mnist  Fashion-MNIST, four IDX ``.gz`` files                  28x28x1, 10
cifar9         CIFAR-10 python batches without 'frog'                 32x32x3, 9
svhn           SVHN cropped digits, ``{train,test}_32x32.mat``        32x32x3, 10
stl9           STL-10 binaries without 'monkey', in CIFAR-9's order   96x96x3, 9
digits         scikit-learn's bundled 8x8 digits (no file)            8x8x1, 10
=============  =====================================================  ===============

CIFAR-9 and STL-9 share their class names and label indices, so that STL-9 serves as an
out-of-distribution set for models trained on CIFAR-9 (Heljakka et al., 2023, appendix B);
``load_dataset("stl9", image_size=32)`` area-averages STL's 96x96 images to CIFAR's size.

Files are looked for under the search roots (``locations.search_roots``: ``data_dir``, then the
folders of ``$IRREPRO_DATA``, then the Keras cache), in each root in every layout the files
are distributed in (a folder or the tar archive as downloaded, read without extracting).
Nothing is ever downloaded implicitly: ``image_experiments.fetch`` (``imgctl data fetch
NAME``) does it on request. A missing or damaged file raises a one-line
:class:`~irrepro.errors.UserError`. This module is the registry: each data set's files,
places, reader and downloads.
"""
from collections.abc import Callable
from dataclasses import dataclass

from image_experiments.locations import Archive, Folder
from image_experiments.readers import (
    read_cifar9,
    read_digits,
    read_fashion_mnist,
    read_mnist,
    read_stl9,
    read_svhn,
)
from irrepro.errors import UserError


@dataclass(frozen=True)
class Download:
    """One file to download: its URL, its published sha256 (None where none is known) and
    its path under the data folder."""

    url: str
    sha256: str | None
    target: str


@dataclass(frozen=True)
class DatasetSpec:
    """A data set: its files, the places they may lie in, its reader and its downloads.

    read(FileSet) -> ImageDataset. A data set without files (``files == ()``) is bundled
    with a Python package and is always present.
    """

    name: str
    title: str
    files: tuple
    places: tuple
    read: Callable
    downloads: tuple = ()


KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# sha256 of the Zalando originals as recorded by tensorflow_datasets (url_checksums/
# fashion_mnist.txt); the Keras mirror serves the same files, byte counts equal.
FASHION_SHA256 = ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                  "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                  "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                  "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5")
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")
STL_FILES = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "class_names.txt")
SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"

# Checksums: mnist and CIFAR-10 from Keras' own loaders, SVHN and STL-10 from
# tensorflow_datasets' url_checksums for the same URLs.
DATASETS = {spec.name: spec for spec in (
    DatasetSpec("mnist", "MNIST (Keras mnist.npz)", ("mnist.npz",), (Folder(""),),
                read_mnist,
                (Download(KERAS_URL + "mnist.npz",
                          "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                          "mnist.npz"),)),
    DatasetSpec("fashion_mnist", "Fashion-MNIST (IDX .gz files)", FASHION_FILES,
                (Folder("fashion-mnist"), Folder("")), read_fashion_mnist,
                tuple(Download(KERAS_URL + name, sha256, f"fashion-mnist/{name}")
                      for name, sha256 in zip(FASHION_FILES, FASHION_SHA256, strict=True))),
    DatasetSpec("cifar9", "CIFAR-10 (python version)", CIFAR_FILES,
                # the layouts of the official archive, of tf.keras 2 and of Keras 3's cache
                (Folder("cifar-10-batches-py"),
                 Folder("cifar-10-batches-py-target/cifar-10-batches-py"),
                 Archive("cifar-10-python.tar.gz", "cifar-10-batches-py"),
                 Archive("cifar-10-batches-py.tar.gz", "cifar-10-batches-py"),
                 Archive("cifar-10-batches-py-target_archive", "cifar-10-batches-py")),
                read_cifar9,
                (Download("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                          "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                          "cifar-10-python.tar.gz"),)),
    DatasetSpec("svhn", "SVHN (cropped digits, .mat files)",
                ("train_32x32.mat", "test_32x32.mat"), (Folder(""), Folder("svhn")),
                read_svhn,
                (Download(SVHN_URL + "train_32x32.mat",
                          "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8",
                          "train_32x32.mat"),
                 Download(SVHN_URL + "test_32x32.mat",
                          "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b",
                          "test_32x32.mat"))),
    DatasetSpec("stl9", "STL-10 (binary version)", STL_FILES,
                (Folder("stl10_binary"), Archive("stl10_binary.tar.gz", "stl10_binary")),
                read_stl9,
                (Download("http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
                          "f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866",
                          "stl10_binary.tar.gz"),)),
    DatasetSpec("digits", "scikit-learn digits", (), (), read_digits),
)}




def spec_of(name):
    """The :class:`DatasetSpec` of ``name``; a UserError naming the known ones otherwise."""
    if name not in DATASETS:
        raise UserError(f"unknown data set '{name}'; known: {', '.join(DATASETS)}")
    return DATASETS[name]
