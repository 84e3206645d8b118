"""``imgctl data check``: which data sets are present, where, and whether their files look
sound, in well under a second: presence, file sizes and headers (magic numbers, declared
sizes against actual ones, a complete zip directory, a pickle's final STOP), without reading
the images. ``load=True`` loads each data set in full instead, which also reports its
train and test sizes and image shape (and takes as long as reading every file).
"""
import gzip
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from image_experiments.datasets import load_dataset
from image_experiments.formats import FormatError
from image_experiments.locations import (
    Archive,
    DatasetCorrupt,
    DatasetMissing,
    corrupt_error,
    locate,
    search_roots,
)
from image_experiments.registry import spec_of

GZIP_MAGIC = b"\x1f\x8b"
MAT5_TEXT = b"MATLAB 5.0 MAT-file"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"  # MATLAB v7.3 files are HDF5
STL_IMAGE_BYTES = 96 * 96 * 3


@dataclass(frozen=True)
class Check:
    """The outcome for one data set: status 'ok', 'missing' or 'damaged'; where it lies;
    the bytes of its files; with a full load its train and test sizes and image shape
    (h, w, c); the error message otherwise."""

    name: str
    status: str
    where: str | None
    size: int | None = None
    train: int | None = None
    test: int | None = None
    image_shape: tuple | None = None
    message: str = ""


def _check_header(path, name):
    """Raise FormatError unless the file ``path`` (called ``name`` in its data set) has the
    header and size its format declares."""
    size = path.stat().st_size
    with open(path, "rb") as stream:
        head = stream.read(128)
        stream.seek(max(0, size - 4))
        tail = stream.read(4)
    if name.endswith(".npz"):
        if not zipfile.is_zipfile(path):
            raise FormatError("not a complete zip archive")
    elif name.endswith("idx3-ubyte.gz") or name.endswith("idx1-ubyte.gz"):
        if head[:2] != GZIP_MAGIC:
            raise FormatError("not gzip data")
        with gzip.open(path) as stream:
            header = stream.read(4)
            if len(header) < 4 or header[:2] != b"\0\0":
                raise FormatError("no IDX header")
            dims = struct.unpack(f">{header[3]}I", stream.read(4 * header[3]))
        declared = 4 + 4 * len(dims) + int(_product(dims))
        if struct.unpack("<I", tail)[0] != declared % 2 ** 32:  # gzip's ISIZE trailer
            raise FormatError(f"the IDX header declares {declared} bytes, the file holds "
                              "another number")
    elif name.endswith(".mat"):
        if not (head.startswith(MAT5_TEXT) or head.startswith(HDF5_MAGIC)) or size < 128:
            raise FormatError("no MATLAB header")
    elif name.endswith("_X.bin"):
        if size == 0 or size % STL_IMAGE_BYTES:
            raise FormatError(f"{size} bytes is not a whole number of 96x96x3 images")
    elif name.endswith("_y.bin"):
        if size == 0:
            raise FormatError("no labels")
    elif name.endswith(".txt"):
        head.decode()
    elif head[:1] != b"\x80" or tail[-1:] != b".":  # CIFAR batches: protocol 2, STOP
        raise FormatError("not a complete pickle")


def _product(values):
    out = 1
    for value in values:
        out *= value
    return out


def quick_check(name, data_dir=None):
    """Presence, sizes and headers of ``name``'s files (see the module docstring)."""
    spec = spec_of(name)
    try:
        files = locate(spec, search_roots(data_dir))
    except DatasetMissing as error:
        return Check(name, "missing", None, message=str(error))
    if files.place is None:
        return Check(name, "ok", files.where, 0)
    if isinstance(files.place, Archive):
        path = files.place.location(files.root)
        with open(path, "rb") as stream:
            sound = stream.read(2) == GZIP_MAGIC
        if not sound:
            error = corrupt_error(spec, str(path), FormatError("not a gzip archive"))
            return Check(name, "damaged", str(path), message=str(error))
        return Check(name, "ok", files.where, path.stat().st_size)
    total = 0
    for file in spec.files:
        path = Path(files.place.member(files.root, file))
        try:
            _check_header(path, file)
        except (FormatError, OSError, ValueError, EOFError, struct.error,
                gzip.BadGzipFile) as error:
            error = corrupt_error(spec, str(path), error)
            return Check(name, "damaged", str(path), message=str(error))
        total += path.stat().st_size
    return Check(name, "ok", files.where, total)


def full_check(name, data_dir=None):
    """Load ``name`` in full; a :class:`Check` with its sizes, or why it failed."""
    try:
        data = load_dataset(name, data_dir)
    except DatasetMissing as error:
        return Check(name, "missing", None, message=str(error))
    except DatasetCorrupt as error:
        return Check(name, "damaged", error.where, message=str(error))
    return Check(name, "ok", data.source, None, len(data.x_train), len(data.x_test),
                 data.x_train.shape[1:])


def check_datasets(names, data_dir=None, load=False):
    """A :class:`Check` per data set of ``names``: quick, or a full load with ``load``."""
    return [(full_check if load else quick_check)(name, data_dir) for name in names]


def format_checks(checks, load=False):
    """A text table of :class:`Check` results, one row per data set: status, then its file
    size (quick) or its train and test sizes and image shape (``load``), and where it lies."""
    if load:
        rows = [("data set", "status", "train", "test", "image", "location")]
    else:
        rows = [("data set", "status", "size", "location")]
    for check in checks:
        ok = check.status == "ok"
        if load:
            sizes = ((str(check.train), str(check.test), "x".join(map(str, check.image_shape)))
                     if ok else ("-", "-", "-"))
        else:
            sizes = ((_megabytes(check.size) if check.size else "bundled"),) if ok else ("-",)
        rows.append((check.name, check.status, *sizes, check.where or "-"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([cell.ljust(width) for cell, width in zip(row, widths)]
                               + [row[-1]]) for row in rows)


def _megabytes(size):
    return f"{size / 1e6:.1f}MB" if size >= 1e5 else f"{size}B"
