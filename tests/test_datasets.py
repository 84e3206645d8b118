"""Data set loaders: tiny files written in each real format go through the real readers;
search order, one-line errors for missing and damaged files, `imgctl data` and `fetch`
from a file:// URL (no network)."""
import dataclasses
import gzip
import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from image_experiments import datasets
from image_experiments.cli import main
from image_experiments.datasets import (CIFAR9_NAMES, DatasetCorrupt, DatasetMissing,
                                        Download, downsample, fetch, load_dataset,
                                        search_roots)
from simulator.errors import UserError

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]
STL10_NAMES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship",
               "truck"]


@pytest.fixture(autouse=True)
def no_real_data(tmp_path, monkeypatch):
    """Search roots that hold nothing: an empty home, no $KERAS_HOME, no $IRREPRO_DATA."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("IRREPRO_DATA", raising=False)


def pixels(n, height, width, channels, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, channels), np.uint8)


def write_mnist(folder, n_train=6, n_test=4):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz", x_train=pixels(n_train, 28, 28, 1)[..., 0],
             y_train=np.arange(n_train, dtype=np.uint8) % 10,
             x_test=pixels(n_test, 28, 28, 1, 1)[..., 0],
             y_test=np.arange(n_test, dtype=np.uint8) % 10)
    return folder


def idx_gz(array):
    """An IDX file (ubyte) written by hand: zero, zero, type 0x08, ndim, sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def write_fashion(folder, n_train=5, n_test=3):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte.gz": pixels(n_train, 28, 28, 1)[..., 0],
              "train-labels-idx1-ubyte.gz": np.arange(n_train) % 10,
              "t10k-images-idx3-ubyte.gz": pixels(n_test, 28, 28, 1, 1)[..., 0],
              "t10k-labels-idx1-ubyte.gz": np.arange(n_test) % 10}
    for name, array in arrays.items():
        (folder / name).write_bytes(idx_gz(array))
    return arrays


def cifar_images(labels):
    """[n, 32, 32, 3] images whose red plane holds the label and whose rows count up."""
    images = np.zeros((len(labels), 32, 32, 3), np.uint8)
    images[..., 0] = np.asarray(labels)[:, None, None]
    images[..., 1] = np.arange(32)[None, :, None]  # row index: orientation check
    images[..., 2] = 7
    return images


def cifar_batch(labels):
    """A CIFAR-10 python batch: rows of the R, G and B planes, each row-major."""
    images = cifar_images(labels)
    rows = np.stack([images[..., c].reshape(len(labels), -1) for c in range(3)], 1)
    return pickle.dumps({b"batch_label": b"testing batch", b"labels": list(labels),
                         b"data": rows.reshape(len(labels), 3072),
                         b"filenames": [b"x.png"] * len(labels)}, protocol=2)


def cifar_files():
    files = {f"data_batch_{i}": cifar_batch([(i + k) % 10 for k in range(10)])
             for i in range(1, 6)}
    files["test_batch"] = cifar_batch(list(range(10)))
    files["batches.meta"] = pickle.dumps(
        {b"label_names": [name.encode() for name in CIFAR10_NAMES], b"num_vis": 3072,
         b"num_cases_per_batch": 10}, protocol=2)
    return files


def write_cifar(root, archive=False):
    files = cifar_files()
    if archive:
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    else:
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)


def write_svhn(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, labels in (("train_32x32.mat", [10, 1, 2, 3, 10]), ("test_32x32.mat", [5, 10])):
        images = pixels(len(labels), 32, 32, 3, len(labels))
        scipy.io.savemat(folder / name, {"X": images.transpose(1, 2, 3, 0),
                                         "y": np.array(labels, np.uint8)[:, None]})


def stl_image(label):
    """A 96x96x3 image, asymmetric: a bright top-left block, columns counting up in green,
    the 1-based label in blue."""
    image = np.zeros((96, 96, 3), np.uint8)
    image[:10, :30, 0] = 255
    image[..., 1] = np.arange(96)[None, :]
    image[..., 2] = label
    return image


def stl_bytes(images):
    """STL-10's binary layout: per image, per channel, column-major (MATLAB order)."""
    return b"".join(image[:, :, c].flatten(order="F").tobytes()
                    for image in images for c in range(3))


def write_stl(root, train_labels=tuple(range(1, 11)), test_labels=(8, 4, 1)):
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    for split, labels in (("train", train_labels), ("test", test_labels)):
        (folder / f"{split}_X.bin").write_bytes(stl_bytes([stl_image(lab) for lab in labels]))
        (folder / f"{split}_y.bin").write_bytes(bytes(labels))
    (folder / "class_names.txt").write_text("\n".join(STL10_NAMES) + "\n")
    return folder


def test_mnist_from_npz_gets_a_channel_axis(tmp_path):
    write_mnist(tmp_path)
    data = load_dataset("mnist", tmp_path)
    assert data.x_train.shape == (6, 28, 28, 1) and data.x_test.shape == (4, 28, 28, 1)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.class_names == tuple("0123456789") and data.source == str(tmp_path)


def test_fashion_mnist_from_idx_files_in_the_keras_subfolder(tmp_path):
    arrays = write_fashion(tmp_path / "fashion-mnist")
    data = load_dataset("fashion_mnist", tmp_path)
    assert data.x_train.shape == (5, 28, 28, 1) and data.x_test.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(data.x_train[..., 0], arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(data.y_test, [0, 1, 2])
    assert data.class_names[0] == "T-shirt/top" and len(data.class_names) == 10


@pytest.mark.parametrize("archive", [False, True], ids=["folder", "tar.gz"])
def test_cifar9_drops_frog_and_reindexes_in_name_order(tmp_path, archive):
    write_cifar(tmp_path, archive)
    data = load_dataset("cifar9", tmp_path)
    assert data.class_names == CIFAR9_NAMES
    assert data.x_train.shape == (45, 32, 32, 3) and data.x_test.shape == (9, 32, 32, 3)
    original = data.x_test[:, 0, 0, 0]  # the red plane holds the CIFAR-10 label
    assert 6 not in original  # frog
    for old, new in zip(original, data.y_test):
        assert CIFAR9_NAMES[new] == CIFAR10_NAMES[old]
    np.testing.assert_array_equal(data.x_test[0], cifar_images([0])[0])  # planes -> HWC


def test_svhn_label_10_is_digit_0_and_images_are_n_first(tmp_path):
    write_svhn(tmp_path)
    data = load_dataset("svhn", tmp_path)
    assert data.x_train.shape == (5, 32, 32, 3) and data.x_test.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(data.y_train, [0, 1, 2, 3, 0])
    np.testing.assert_array_equal(data.y_test, [5, 0])
    np.testing.assert_array_equal(data.x_train, pixels(5, 32, 32, 3, 5))


def test_stl9_drops_monkey_matches_cifar_names_and_stays_upright(tmp_path):
    write_stl(tmp_path)
    data = load_dataset("stl9", tmp_path)
    assert data.class_names == CIFAR9_NAMES
    assert data.x_train.shape == (9, 96, 96, 3) and data.x_test.shape == (2, 96, 96, 3)
    stl_label = data.x_train[:, 0, 0, 2]  # 1-based STL-10 label, kept in the blue plane
    assert 8 not in stl_label  # monkey
    for old, new in zip(stl_label, data.y_train):
        expected = {"car": "automobile"}.get(STL10_NAMES[old - 1], STL10_NAMES[old - 1])
        assert CIFAR9_NAMES[new] == expected
    assert CIFAR9_NAMES[data.y_test[0]] == "cat"  # monkey (8) dropped
    np.testing.assert_array_equal(data.x_test[1], stl_image(1))  # upright, not transposed
    assert data.x_test[1, 5, 25, 0] == 255 and data.x_test[1, 25, 5, 0] == 0


def test_stl9_downsampled_to_cifar_size_by_area_averaging(tmp_path):
    write_stl(tmp_path)
    small = load_dataset("stl9", tmp_path, image_size=32)
    assert small.x_train.shape == (9, 32, 32, 3) and small.x_train.dtype == np.uint8
    # green counts columns 0..95: a 3x3 block mean is the middle column, 3 j + 1
    np.testing.assert_array_equal(small.x_train[0, 4, :, 1], 3 * np.arange(32) + 1)
    images = pixels(2, 6, 6, 3)
    blocks = images.reshape(2, 2, 3, 2, 3, 3).astype(float).mean(axis=(2, 4))
    np.testing.assert_array_equal(downsample(images, 2), np.floor(blocks + 0.5))
    with pytest.raises(UserError, match="needs square images and a size that divides 96"):
        load_dataset("stl9", tmp_path, image_size=40)


def test_digits_need_no_file():
    data = load_dataset("digits")
    assert data.x_train.shape == (1437, 8, 8, 1) and data.x_test.shape == (360, 8, 8, 1)
    assert data.x_train.dtype == np.uint8 and data.x_train.max() == 255
    assert data.source == "bundled (no file)"


def test_data_dir_beats_env_var_beats_keras_cache(tmp_path, monkeypatch):
    write_mnist(tmp_path / "explicit", n_train=3)
    write_mnist(tmp_path / "env2", n_train=4)
    write_mnist(tmp_path / "keras" / "datasets", n_train=5)
    write_mnist(tmp_path / "home" / ".keras" / "datasets", n_train=7)
    assert len(load_dataset("mnist").x_train) == 7  # ~/.keras/datasets
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert len(load_dataset("mnist").x_train) == 5
    monkeypatch.setenv("IRREPRO_DATA", f"{tmp_path / 'env1'}:{tmp_path / 'env2'}")
    assert len(load_dataset("mnist").x_train) == 4
    assert len(load_dataset("mnist", tmp_path / "explicit").x_train) == 3
    assert search_roots(tmp_path / "explicit") == [
        tmp_path / "explicit", tmp_path / "env1", tmp_path / "env2",
        tmp_path / "keras" / "datasets"]


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar9", "svhn", "stl9"])
def test_fetched_files_land_where_the_loader_looks(tmp_path, name):
    for download in datasets.DATASETS[name].downloads:
        (tmp_path / download.target).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / download.target).write_bytes(b"")
    with pytest.raises(DatasetCorrupt):  # found, then found empty: not DatasetMissing
        load_dataset(name, tmp_path)


def test_a_missing_data_set_names_every_path_tried_the_files_and_the_fetch(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("IRREPRO_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetMissing) as caught:
        load_dataset("cifar9", tmp_path / "explicit")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("cifar9: ")
    for root in (tmp_path / "explicit", tmp_path / "env", tmp_path / "home/.keras/datasets"):
        assert str(root / "cifar-10-batches-py") in message
        assert str(root / "cifar-10-python.tar.gz") in message
    assert "data_batch_5, test_batch, batches.meta" in message
    assert "imgctl data fetch cifar9" in message


def test_a_partial_folder_says_which_files_it_lacks(tmp_path):
    write_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetMissing, match=r"(lacks t10k-labels-idx1-ubyte.gz)"):
        load_dataset("fashion_mnist", tmp_path)


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2 + 1])


def damage_idx_header(path):
    path.write_bytes(gzip.compress(b"\x08\x03\0\0" + gzip.decompress(path.read_bytes())[4:]))


def damage_idx_size(path):
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-1]))


def evil_pickle(path):
    path.write_bytes(pickle.dumps({b"data": print}, protocol=2))


@pytest.mark.parametrize("name, write, damage, culprit, reason", [
    ("mnist", write_mnist, truncate, "mnist.npz", "BadZipFile"),
    ("fashion_mnist", write_fashion, damage_idx_header, "train-images-idx3-ubyte.gz",
     "not an IDX file"),
    ("fashion_mnist", write_fashion, damage_idx_size, "t10k-labels-idx1-ubyte.gz",
     "IDX header promises"),
    ("fashion_mnist", write_fashion, truncate, "train-labels-idx1-ubyte.gz", "EOFError"),
    ("cifar9", write_cifar, truncate, "cifar-10-batches-py/data_batch_3", "truncated"),
    ("cifar9", write_cifar, evil_pickle, "cifar-10-batches-py/test_batch",
     "refusing to load"),
    ("cifar9", lambda root: write_cifar(root, archive=True), truncate,
     "cifar-10-python.tar.gz", "Error"),
    ("svhn", write_svhn, truncate, "test_32x32.mat", "Error"),
    ("stl9", write_stl, truncate, "stl10_binary/train_X.bin", "not a whole number"),
])
def test_a_damaged_file_is_named_in_one_line(tmp_path, name, write, damage, culprit, reason):
    write(tmp_path)
    damage(tmp_path / culprit)
    with pytest.raises(DatasetCorrupt) as caught:
        load_dataset(name, tmp_path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{name}: ")
    assert str(tmp_path / culprit) in message and reason in message
    assert f"imgctl data fetch {name}" in message


def imgctl(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_data_check_reports_present_missing_and_damaged(tmp_path):
    write_mnist(tmp_path)
    write_svhn(tmp_path)
    result = imgctl("data", "check", "--data-dir", tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"searched, in order: {tmp_path}, {tmp_path / 'home/.keras/datasets'}"
    assert lines[1].split() == ["data", "set", "status", "train", "test", "image", "location"]
    assert lines[2].split() == ["mnist", "ok", "6", "4", "28x28x1", str(tmp_path)]
    assert lines[3].split() == ["fashion_mnist", "missing", "-", "-", "-", "-"]
    assert lines[5].split() == ["svhn", "ok", "5", "2", "32x32x3", str(tmp_path)]
    assert lines[7].split()[:2] == ["digits", "ok"]
    assert "missing: fashion_mnist, cifar9, stl9; get one with `imgctl data fetch NAME`" \
        in result.output

    truncate(tmp_path / "mnist.npz")
    result = imgctl("data", "check", "mnist", "--data-dir", tmp_path)
    assert result.exit_code == 1
    assert result.output.splitlines()[2].split() == [
        "mnist", "damaged", "-", "-", "-", str(tmp_path / "mnist.npz")]
    assert f"mnist: {tmp_path / 'mnist.npz'} is damaged" in result.output


@pytest.fixture
def fixture_download(tmp_path, monkeypatch):
    """mnist's download pointed at a local npz via file://; returns a setter of its sha256."""
    source = write_mnist(tmp_path / "server") / "mnist.npz"
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()

    def point(checksum=sha256):
        spec = dataclasses.replace(datasets.DATASETS["mnist"], downloads=(
            Download(source.as_uri(), checksum, "mnist.npz"),))
        monkeypatch.setitem(datasets.DATASETS, "mnist", spec)
        return sha256

    return point


def test_fetch_verifies_the_checksum_then_keeps_the_file(tmp_path, fixture_download):
    sha256 = fixture_download()
    target = tmp_path / "data"
    [first] = fetch("mnist", target, progress=False)
    assert first.downloaded and first.sha256 == sha256 and first.path == target / "mnist.npz"
    assert len(load_dataset("mnist", target).x_train) == 6
    [again] = fetch("mnist", target, progress=False)
    assert not again.downloaded
    result = imgctl("data", "fetch", "mnist", "--data-dir", target)
    assert result.exit_code == 0, result.output
    assert f"already present: {target / 'mnist.npz'} (sha256 verified)" in result.output


def test_fetch_refuses_a_bad_checksum_and_leaves_nothing(tmp_path, fixture_download):
    fixture_download("0" * 64)
    with pytest.raises(UserError, match="differs from the published 0000"):
        fetch("mnist", tmp_path / "data", progress=False)
    assert list((tmp_path / "data").iterdir()) == []
    result = imgctl("data", "fetch", "mnist", "--data-dir", tmp_path / "data")
    assert result.exit_code == 2 and "differs from the published" in result.output


def test_fetch_into_the_keras_cache_prints_an_unpublished_checksum(tmp_path,
                                                                   fixture_download):
    sha256 = fixture_download(None)
    result = imgctl("data", "fetch", "mnist")
    assert result.exit_code == 0, result.output
    cached = tmp_path / "home" / ".keras" / "datasets" / "mnist.npz"
    assert f"downloaded: {cached} (sha256 {sha256} (no published checksum" in result.output
    assert len(load_dataset("mnist").x_train) == 6


def test_fetch_reports_an_unreachable_url_in_one_line(tmp_path, monkeypatch):
    spec = dataclasses.replace(datasets.DATASETS["svhn"], downloads=(
        Download((tmp_path / "nowhere.mat").as_uri(), None, "train_32x32.mat"),))
    monkeypatch.setitem(datasets.DATASETS, "svhn", spec)
    with pytest.raises(UserError, match="could not download file://.*nowhere.mat") as caught:
        fetch("svhn", tmp_path / "data", progress=False)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "data" / "train_32x32.mat").exists()


def test_every_command_has_help_with_examples():
    for args in (["data"], ["data", "check"], ["data", "fetch"]):
        result = imgctl(*args, "--help")
        assert result.exit_code == 0 and "Examples:" in result.output
