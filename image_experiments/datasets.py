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

Files are looked for under the search roots (:func:`search_roots`: ``data_dir``, then the
folders of ``$IRREPRO_DATA``, then the Keras cache), in each root in every layout the files
are distributed in (a folder or the tar archive as downloaded, read without extracting).
Nothing is ever downloaded implicitly: :func:`fetch` (``imgctl data fetch NAME``) does it
on request. A missing or damaged file raises a one-line :class:`~simulator.errors.UserError`.
"""
import dataclasses
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from image_experiments.formats import (CORRUPT, FormatError, read_column_major_images,
                                       read_idx, read_mat, read_npz, read_pickle,
                                       read_tar_members)
from simulator.errors import UserError
from simulator.progress import progress_bar
from simulator.results import write_atomic

ENV_VAR = "IRREPRO_DATA"
DIGIT_NAMES = tuple(str(digit) for digit in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")
CIFAR9_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "horse", "ship",
                "truck")
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
CHUNK = 1 << 20  # download and hashing block, bytes: 1 MiB, the progress bar's unit


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


class DatasetMissing(UserError):
    """None of the layouts of a data set's files is present under any search root."""


class DatasetCorrupt(UserError):
    """A data set's file is present but unreadable; ``where`` names the file or place."""

    def __init__(self, message, where):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class Folder:
    """Files lying in the folder ``path`` of a search root ('' = the root itself)."""

    path: str

    def location(self, root):
        return Path(root, self.path)

    def missing(self, root, names):
        return [name for name in names if not (self.location(root) / name).is_file()]

    def read(self, root, names):
        return {name: (self.location(root) / name).read_bytes() for name in names}

    def member(self, root, name):
        return str(self.location(root) / name)

    def hint(self):
        return f"{self.path}/" if self.path else "a searched folder itself"


@dataclass(frozen=True)
class Archive:
    """Files inside the tar archive ``path`` of a search root, in its folder ``inner``."""

    path: str
    inner: str

    def location(self, root):
        return Path(root, self.path)

    def missing(self, root, names):
        return [] if self.location(root).is_file() else list(names)

    def read(self, root, names):
        members = read_tar_members(self.location(root), [f"{self.inner}/{n}" for n in names])
        return {name: members[f"{self.inner}/{name}"] for name in names}

    def member(self, root, name):
        return f"{self.location(root)}:{self.inner}/{name}"

    def hint(self):
        return f"the tar archive {self.path}"


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


class FileSet:
    """The files of one data set at one place (or none, when bundled). Parses them,
    turning a damaged file into a one-line error that names it."""

    def __init__(self, spec, place=None, root=None):
        self.spec, self.place, self.root = spec, place, root
        self.where = str(place.location(root)) if place else "bundled (no file)"
        self._contents = None

    def parse(self, name, reader):
        """``reader(data)`` on the bytes of the file ``name``; a damaged file raises
        :class:`DatasetCorrupt` naming it."""
        contents = self._read_all()
        try:
            return reader(contents[name])
        except CORRUPT as error:
            raise _corrupt(self.spec, self.place.member(self.root, name), error) from error

    def _read_all(self):
        # One read for all files: an archive is then decompressed once.
        if self._contents is None:
            try:
                self._contents = self.place.read(self.root, self.spec.files)
            except CORRUPT as error:
                raise _corrupt(self.spec, self.where, error) from error
        return self._contents

    def dataset(self, x_train, y_train, x_test, y_test, class_names):
        """An :class:`ImageDataset` of this data set: a channel axis added to [n, h, w]
        images, uint8 pixels, int64 labels; inconsistent splits raise ``FormatError``."""
        splits = [_split(x, y, len(class_names), split)
                  for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test"))]
        return ImageDataset(self.spec.name, *splits[0], *splits[1], tuple(class_names),
                            self.where)


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


def _read_mnist(files):
    arrays = files.parse("mnist.npz", partial(read_npz, keys=MNIST_KEYS))
    return files.dataset(*(arrays[key] for key in MNIST_KEYS), DIGIT_NAMES)


def _read_fashion_mnist(files):
    # spec order: train images, train labels, test images, test labels
    return files.dataset(*(files.parse(name, read_idx) for name in files.spec.files),
                         FASHION_NAMES)


def _cifar_batch(data):
    """Images uint8 [n, 32, 32, 3] and labels int64 [n] of one CIFAR-10 python batch
    (rows of 3072 bytes: the red, green and blue 32x32 planes, row-major)."""
    batch = read_pickle(data)
    images = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(batch[b"labels"], np.int64)


def _cifar_names(data):
    return tuple(name.decode() for name in read_pickle(data)[b"label_names"])


def _read_cifar9(files):
    names = files.parse("batches.meta", _cifar_names)
    mapping = class_map(names, CIFAR9_NAMES)
    train = [files.parse(f"data_batch_{i}", _cifar_batch) for i in range(1, 6)]
    x_train, y_train = (np.concatenate(parts) for parts in zip(*train))
    return files.dataset(*select_classes(x_train, y_train, mapping),
                         *select_classes(*files.parse("test_batch", _cifar_batch), mapping),
                         CIFAR9_NAMES)


def _svhn_split(data):
    """Images uint8 [n, 32, 32, 3] and digits int64 [n] of one SVHN ``.mat`` file."""
    arrays = read_mat(data, ["X", "y"])
    images = arrays["X"].transpose(3, 0, 1, 2)  # stored [32, 32, 3, n]
    labels = arrays["y"].reshape(-1).astype(np.int64)
    return images, np.where(labels == 10, 0, labels)  # SVHN writes the digit 0 as 10


def _read_svhn(files):
    return files.dataset(*files.parse("train_32x32.mat", _svhn_split),
                         *files.parse("test_32x32.mat", _svhn_split), DIGIT_NAMES)


def _stl_labels(data):
    return np.frombuffer(data, np.uint8).astype(np.int64) - 1  # stored 1..10


def _text_lines(data):
    return tuple(line.strip() for line in data.decode().splitlines() if line.strip())


def _read_stl9(files):
    names = files.parse("class_names.txt", _text_lines)
    # CIFAR-9's order, so that one label index means one class in both data sets
    mapping = class_map(names, CIFAR9_NAMES, aliases={"car": "automobile"})
    splits = [select_classes(files.parse(f"{split}_X.bin", partial(read_column_major_images,
                                                                   size=96)),
                             files.parse(f"{split}_y.bin", _stl_labels), mapping)
              for split in ("train", "test")]
    return files.dataset(*splits[0], *splits[1], CIFAR9_NAMES)


def _read_digits(files):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255 / 16))  # stored as grey levels 0..16
    n_train = int(0.8 * len(images))  # deterministic split: the last 20% are the test set
    return files.dataset(images[:n_train], bunch.target[:n_train], images[n_train:],
                         bunch.target[n_train:], DIGIT_NAMES)


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
                _read_mnist,
                (Download(KERAS_URL + "mnist.npz",
                          "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                          "mnist.npz"),)),
    DatasetSpec("fashion_mnist", "Fashion-MNIST (IDX .gz files)", FASHION_FILES,
                (Folder("fashion-mnist"), Folder("")), _read_fashion_mnist,
                tuple(Download(KERAS_URL + name, sha256, f"fashion-mnist/{name}")
                      for name, sha256 in zip(FASHION_FILES, FASHION_SHA256, strict=True))),
    DatasetSpec("cifar9", "CIFAR-10 (python version)", CIFAR_FILES,
                # the layouts of the official archive, of tf.keras 2 and of Keras 3's cache
                (Folder("cifar-10-batches-py"),
                 Folder("cifar-10-batches-py-target/cifar-10-batches-py"),
                 Archive("cifar-10-python.tar.gz", "cifar-10-batches-py"),
                 Archive("cifar-10-batches-py.tar.gz", "cifar-10-batches-py"),
                 Archive("cifar-10-batches-py-target_archive", "cifar-10-batches-py")),
                _read_cifar9,
                (Download("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                          "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                          "cifar-10-python.tar.gz"),)),
    DatasetSpec("svhn", "SVHN (cropped digits, .mat files)",
                ("train_32x32.mat", "test_32x32.mat"), (Folder(""), Folder("svhn")),
                _read_svhn,
                (Download(SVHN_URL + "train_32x32.mat",
                          "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8",
                          "train_32x32.mat"),
                 Download(SVHN_URL + "test_32x32.mat",
                          "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b",
                          "test_32x32.mat"))),
    DatasetSpec("stl9", "STL-10 (binary version)", STL_FILES,
                (Folder("stl10_binary"), Archive("stl10_binary.tar.gz", "stl10_binary")),
                _read_stl9,
                (Download("http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
                          "f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866",
                          "stl10_binary.tar.gz"),)),
    DatasetSpec("digits", "scikit-learn digits", (), (), _read_digits),
)}


def keras_cache():
    """Keras' download folder: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".keras") / "datasets"


def search_roots(data_dir=None):
    """The folders searched, in order: ``data_dir``, those of ``$IRREPRO_DATA``
    (``os.pathsep``-separated), the Keras cache; duplicates dropped."""
    env = [part for part in os.environ.get(ENV_VAR, "").split(os.pathsep) if part]
    roots = ([data_dir] if data_dir else []) + env + [keras_cache()]
    return list(dict.fromkeys(Path(root).expanduser() for root in roots))


def _spec(name):
    if name not in DATASETS:
        raise UserError(f"unknown data set '{name}'; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _locate(spec, roots):
    """The :class:`FileSet` of the first place, root by root, that holds all of the data
    set's files; :class:`DatasetMissing` when none does."""
    if not spec.files:
        return FileSet(spec)
    tried = []
    for root in roots:
        for place in spec.places:
            missing = place.missing(root, spec.files)
            if not missing:
                return FileSet(spec, place, root)
            partial_note = (f" (lacks {', '.join(missing)})"
                            if len(missing) < len(spec.files) else "")
            tried.append(f"{place.location(root)}{partial_note}")
    raise _missing(spec, tried)


def _missing(spec, tried):
    layouts = ", ".join(place.hint() for place in spec.places)
    urls = ", ".join(download.url for download in spec.downloads)
    return DatasetMissing(
        f"{spec.name}: {spec.title} not found; tried {', '.join(tried)}; expected "
        f"{', '.join(spec.files)} in one of: {layouts}; run `imgctl data fetch {spec.name}` "
        f"(downloads {urls} into {keras_cache()} or --data-dir DIR), or put the files in "
        f"--data-dir DIR, ${ENV_VAR} or {keras_cache()}")


def _corrupt(spec, where, error):
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    return DatasetCorrupt(
        f"{spec.name}: {where} is damaged or not {spec.title} ({reason}); delete it and run "
        f"`imgctl data fetch {spec.name}`, or replace it with a good copy", where)


def load_dataset(name, data_dir=None, image_size=None):
    """Load the data set ``name`` (see :data:`DATASETS`) from the first search root that
    holds it; ``image_size`` area-averages the images to [image_size, image_size] (a
    divisor of their size, e.g. 32 for STL's 96). Never downloads."""
    spec = _spec(name)
    files = _locate(spec, search_roots(data_dir))
    try:
        data = spec.read(files)
    except CORRUPT as error:
        raise _corrupt(spec, files.where, error) from error
    if image_size is not None and image_size != data.x_train.shape[1]:
        data = dataclasses.replace(data, x_train=downsample(data.x_train, image_size),
                                   x_test=downsample(data.x_test, image_size))
    return data


@dataclass(frozen=True)
class Check:
    """Whether one data set loads: status 'ok', 'missing' or 'damaged'; where it lies; when
    ok its train and test sizes and image shape (h, w, c), else the error message. Sizes
    only, so that checking every data set never holds them all in memory."""

    name: str
    status: str
    where: str | None
    train: int | None = None
    test: int | None = None
    image_shape: tuple | None = None
    message: str = ""


def check_dataset(name, data_dir=None):
    """Try to load ``name``; a :class:`Check` of the outcome."""
    try:
        data = load_dataset(name, data_dir)
    except DatasetMissing as error:
        return Check(name, "missing", None, message=str(error))
    except DatasetCorrupt as error:
        return Check(name, "damaged", error.where, message=str(error))
    return Check(name, "ok", data.source, len(data.x_train), len(data.x_test),
                 data.x_train.shape[1:])


def format_checks(checks):
    """A text table of :class:`Check` results: one row per data set with its status, its
    train and test sizes, its image shape and where it lies."""
    rows = [("data set", "status", "train", "test", "image", "location")]
    for check in checks:
        sizes = ("-", "-", "-")
        if check.status == "ok":
            sizes = (str(check.train), str(check.test), "x".join(map(str, check.image_shape)))
        rows.append((check.name, check.status, *sizes, check.where or "-"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([cell.ljust(width) for cell, width in zip(row, widths)]
                               + [row[-1]]) for row in rows)


@dataclass(frozen=True)
class Fetched:
    """One file handled by :func:`fetch`: its path, computed sha256, the expected one
    (None where unknown) and whether it was downloaded now (False: already there)."""

    path: Path
    sha256: str
    expected: str | None
    downloaded: bool


def fetch(name, data_dir=None, progress=None):
    """Download the files of ``name`` into ``data_dir`` (default: the Keras cache), each
    streamed to a temporary file, checked against its sha256 where known, then renamed
    into place. A file already there with the right checksum is kept.
    ``progress``: show progress bars (None: when stderr is a terminal)."""
    root = Path(data_dir).expanduser() if data_dir else keras_cache()
    fetched = []
    for download in _spec(name).downloads:
        target = root / download.target
        present = _sha256(target) if target.is_file() else None
        if present and download.sha256 in (None, present):
            fetched.append(Fetched(target, present, download.sha256, False))
        else:
            digest = _download(download, target, progress)
            fetched.append(Fetched(target, digest, download.sha256, True))
    return fetched


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _download(download, target, progress):
    """Stream ``download.url`` to ``target`` atomically; its sha256 hex digest."""
    digest = hashlib.sha256()

    def write(tmp):
        with urllib.request.urlopen(download.url, timeout=60) as response, \
                open(tmp, "wb") as out:
            size = response.headers.get("Content-Length")
            blocks = -(-int(size) // CHUNK) if size else None
            with progress_bar(blocks, "MiB", progress, target.name) as bar:
                while block := response.read(CHUNK):  # whole blocks until the last
                    out.write(block)
                    digest.update(block)
                    bar.update()
        if download.sha256 and digest.hexdigest() != download.sha256:
            raise UserError(f"{download.url}: sha256 {digest.hexdigest()} differs from the "
                            f"published {download.sha256}; the download was damaged or the "
                            f"file has changed; nothing was written, try again")

    try:
        write_atomic(target, write)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise UserError(f"could not download {download.url} to {target} "
                        f"({' '.join(str(error).split())}); check the network, or download "
                        f"it by other means and put it at {target}") from error
    return digest.hexdigest()
