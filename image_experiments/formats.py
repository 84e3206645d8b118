"""Readers of the raw file formats image data sets ship in, one generic reader per format.

Every reader takes the file's bytes (from a folder or from inside a tar archive, see
``image_experiments.datasets``) and returns numpy arrays. A file that is truncated, of the
wrong format or of inconsistent sizes raises one of the exceptions in :data:`CORRUPT`;
the caller turns those into a one-line error naming the file.
"""
import gzip
import io
import pickle
import tarfile
import zipfile

import numpy as np


class FormatError(ValueError):
    """A file parsed but its contents are not what the format promises (sizes, keys)."""


# What reading a damaged file raises: bad gzip, zip, tar, pickle or MATLAB containers,
# early ends of file, missing keys, objects of the wrong type, arrays that do not reshape.
# (read_mat turns SciPy's MatReadError into a FormatError, so that SciPy loads only when a
# .mat file is read.)
CORRUPT = (FormatError, ValueError, KeyError, TypeError, EOFError, OSError,
           zipfile.BadZipFile, tarfile.TarError, pickle.UnpicklingError)

# IDX element types (LeCun's format): type byte -> big-endian numpy dtype.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_npz(data, keys):
    """The arrays ``keys`` of a numpy ``.npz`` archive, as a dict name -> array."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise FormatError(f"no array {', '.join(missing)} (has {', '.join(archive.files)})")
        return {key: archive[key] for key in keys}


def read_idx(data):
    """The array of an IDX file (gzipped or not): shape from the header's dimensions.

    Header: two zero bytes, a type byte, a dimension count d, then d big-endian uint32
    sizes; the elements follow, big-endian, row-major.
    """
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise FormatError(f"not an IDX file (magic number {data[:4].hex() or 'missing'})")
    dtype, ndim = np.dtype(IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FormatError("IDX header cut short")
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise FormatError(f"IDX header promises {shape} = {expected} bytes, file has "
                          f"{len(data)}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a pickle can run any code it names,
    and data files come from the network."""

    ALLOWED = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
                         ("numpy.core.multiarray", "_reconstruct"),
                         ("numpy._core.multiarray", "_reconstruct"),
                         ("numpy.core.numeric", "_frombuffer"),
                         ("numpy._core.numeric", "_frombuffer")})

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def read_pickle(data):
    """The object in a Python 2 style pickle (CIFAR batches): str -> bytes, arrays allowed."""
    return _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()


def read_mat(data, keys):
    """The variables ``keys`` of a MATLAB v5 ``.mat`` file, as a dict name -> array."""
    import scipy.io
    from scipy.io.matlab import MatReadError

    try:
        variables = scipy.io.loadmat(io.BytesIO(data), variable_names=keys)
    except MatReadError as error:
        raise FormatError(f"MatReadError: {error}") from None
    missing = [key for key in keys if key not in variables]
    if missing:
        raise FormatError(f"no variable {', '.join(missing)}")
    return {key: variables[key] for key in keys}


def read_column_major_images(data, size, channels=3):
    """Images stored as in MATLAB (STL-10 binaries): per image, per channel, column after
    column. Returns uint8 [n, size, size, channels], rows first (upright)."""
    image_bytes = size * size * channels
    if len(data) % image_bytes:
        raise FormatError(f"{len(data)} bytes is not a whole number of {size}x{size}x"
                          f"{channels} images")
    # [n, channel, column, row] -> [n, row, column, channel]
    return np.frombuffer(data, np.uint8).reshape(-1, channels, size, size).transpose(0, 3, 2, 1)


def read_tar_members(path, names):
    """The bytes of the members ``names`` of the tar archive at ``path`` (any compression),
    read in one pass without extracting to disk."""
    wanted, found = set(names), {}
    # Stream mode: a compressed archive is decompressed once, front to back; random access
    # would decompress it again from the start for every member.
    with tarfile.open(path, "r|*") as archive:
        for member in archive:
            if member.name in wanted and member.isfile():
                found[member.name] = archive.extractfile(member).read()
                if len(found) == len(wanted):
                    break
    missing = [name for name in names if name not in found]
    if missing:
        raise FormatError(f"archive lacks {', '.join(missing)}")
    return found
