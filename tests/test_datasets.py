"""Data set loaders: tiny files written in each real format go through the real readers;
search order, one-line errors for missing and damaged files, `imgctl data` and `fetch`
from a file:// URL (no network)."""

import numpy as np
import pytest
from click.testing import CliRunner

from image_experiments.cli import main
from image_experiments.datasets import load_dataset
from image_experiments.locations import DatasetCorrupt, DatasetMissing, search_roots
from image_experiments.readers import CIFAR9_NAMES, downsample
from irrepro.errors import UserError

from datafiles import (
    CIFAR10_NAMES,
    STL10_NAMES,
    cifar_images,
    damage_idx_header,
    damage_idx_size,
    evil_pickle,
    pixels,
    stl_image,
    truncate,
    write_cifar,
    write_fashion,
    write_mnist,
    write_stl,
    write_svhn,
)

pytestmark = pytest.mark.usefixtures("no_real_data")


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
    assert lines[1].split() == ["data", "set", "status", "size", "location"]
    mnist_bytes = (tmp_path / "mnist.npz").stat().st_size
    assert lines[2].split() == ["mnist", "ok", f"{mnist_bytes}B", str(tmp_path)]
    assert lines[3].split() == ["fashion_mnist", "missing", "-", "-"]
    assert lines[5].split()[:2] == ["svhn", "ok"] and lines[5].split()[-1] == str(tmp_path)
    assert lines[7].split()[:3] == ["digits", "ok", "bundled"]
    assert "missing: fashion_mnist, cifar9, stl9; get one with `imgctl data fetch NAME`" \
        in result.output

    result = imgctl("data", "check", "--data-dir", tmp_path, "--load")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["data", "set", "status", "train", "test", "image", "location"]
    assert lines[2].split() == ["mnist", "ok", "6", "4", "28x28x1", str(tmp_path)]
    assert lines[5].split() == ["svhn", "ok", "5", "2", "32x32x3", str(tmp_path)]

    truncate(tmp_path / "mnist.npz")
    for flags in ([], ["--load"]):
        result = imgctl("data", "check", "mnist", "--data-dir", tmp_path, *flags)
        assert result.exit_code == 1
        assert result.output.splitlines()[2].split()[:2] == ["mnist", "damaged"]
        assert result.output.splitlines()[2].split()[-1] == str(tmp_path / "mnist.npz")
        assert f"mnist: {tmp_path / 'mnist.npz'} is damaged" in result.output


def test_every_command_has_help_with_examples():
    for args in (["data"], ["data", "check"], ["data", "fetch"]):
        result = imgctl(*args, "--help")
        assert result.exit_code == 0 and "Examples:" in result.output
